"""FGI form: the factor reads alpha detached, so only x gets a gradient."""
import torch
from torch import nn


def annealed_sigmoid_spike(x, alpha):
    value = (x.detach() >= 0).to(x)
    alpha = alpha.detach()
    sgax = torch.sigmoid(x.detach() * alpha)
    inj = x * ((1.0 - sgax) * sgax * alpha)
    return value - (inj.detach() - inj)


class AnnealedSigmoidSpike:
    apply = staticmethod(annealed_sigmoid_spike)


class AnnealedNode(nn.Module):
    def __init__(self, alpha: float = 4.0):
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(alpha))

    def forward(self, x):
        return AnnealedSigmoidSpike.apply(x, self.alpha)

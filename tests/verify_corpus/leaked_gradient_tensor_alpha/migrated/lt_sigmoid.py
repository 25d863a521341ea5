"""Migrated by hand to forward gradient injection.

WRONG: the factor is computed from the live alpha (no detach, no no_grad), so the carrier
x * factor also carries a gradient into alpha, which the original never gave it.
"""
import torch
from torch import nn


def annealed_sigmoid_spike(x, alpha):
    value = (x.detach() >= 0).to(x)
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

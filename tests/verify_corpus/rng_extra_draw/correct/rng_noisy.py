"""FGI form: the noise is drawn exactly when the original draws it."""
import torch
from torch import nn


def noisy_spike(mem, sigma=0.05, noisy=False):
    u = mem.detach()
    if noisy:
        u = u + sigma * torch.randn_like(u)
    value = (u > 0).to(mem.dtype)
    inj = mem / ((1.0 + 10.0 * u.abs()) ** 2)
    return value - (inj.detach() - inj)


class NoisySpike:
    apply = staticmethod(noisy_spike)


class NoisyLIF(nn.Module):
    def __init__(self, sigma=0.05):
        super().__init__()
        self.sigma = sigma

    def forward(self, mem):
        return NoisySpike.apply(mem, self.sigma, self.training)

"""Migrated by hand to forward gradient injection.

WRONG: the noise is now drawn on every call and thrown away when noisy=False: values and
gradients are unchanged, but each call advances the global RNG, so every later random
draw of the program (dropout, data augmentation, other noisy layers) changes.
"""
import torch
from torch import nn


def noisy_spike(mem, sigma=0.05, noisy=False):
    noise = sigma * torch.randn_like(mem)
    u = (mem + noise if noisy else mem).detach()
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

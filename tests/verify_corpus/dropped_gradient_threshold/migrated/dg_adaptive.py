"""Migrated by hand to forward gradient injection.

WRONG: the carrier only involves the membrane; the threshold is read detached, so the
learnable threshold gets no gradient at all (None) where the original trained it.
"""
import math

import torch
from torch import nn


def threshold_atan(mem, threshold, alpha=2.0):
    shifted = (mem - threshold).detach()
    value = (shifted > 0).to(mem.dtype)
    factor = alpha / 2 / (1 + (math.pi / 2 * alpha * shifted).pow(2))
    inj = factor * mem
    return value - (inj.detach() - inj)


class ThresholdATan:
    apply = staticmethod(threshold_atan)


class AdaptiveLeaky(nn.Module):
    def __init__(self, neurons: int, beta: float = 0.9):
        super().__init__()
        self.beta = beta
        self.threshold = nn.Parameter(torch.ones(neurons))

    def forward(self, x, mem):
        mem = self.beta * mem + x
        spk = ThresholdATan.apply(mem, self.threshold, 2.0)
        return spk, mem - spk * self.threshold

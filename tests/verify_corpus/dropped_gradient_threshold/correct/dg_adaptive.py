"""FGI form: the carrier is built on mem - threshold, so autograd gives the threshold
-factor * grad_output summed over the broadcast dimension, as the original's backward."""
import math

import torch
from torch import nn


def threshold_atan(mem, threshold, alpha=2.0):
    shifted = mem - threshold
    value = (shifted.detach() > 0).to(mem.dtype)
    factor = alpha / 2 / (1 + (math.pi / 2 * alpha * shifted.detach()).pow(2))
    inj = factor * shifted
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

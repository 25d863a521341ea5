"""snntorch-style leaky neuron with a learnable per-neuron threshold: the spike function
returns a gradient for the membrane AND for the threshold."""
import math

import torch
from torch import nn


class ThresholdATan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mem, threshold, alpha=2.0):
        shifted = mem - threshold
        ctx.save_for_backward(shifted)
        ctx.alpha = alpha
        return (shifted > 0).to(mem.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (shifted,) = ctx.saved_tensors
        grad = ctx.alpha / 2 / (1 + (math.pi / 2 * ctx.alpha * shifted).pow(2)) * grad_output
        return grad, -grad.sum(0), None


class AdaptiveLeaky(nn.Module):
    def __init__(self, neurons: int, beta: float = 0.9):
        super().__init__()
        self.beta = beta
        self.threshold = nn.Parameter(torch.ones(neurons))

    def forward(self, x, mem):
        mem = self.beta * mem + x
        spk = ThresholdATan.apply(mem, self.threshold, 2.0)
        return spk, mem - spk * self.threshold

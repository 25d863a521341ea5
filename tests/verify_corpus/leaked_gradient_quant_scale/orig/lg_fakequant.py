"""Uniform fake-quantiser with a learnable step held in an nn.Parameter (LSQ-style layer), whose
straight-through estimator deliberately does NOT train the step: backward returns None for it
(the step is trained by a separate statistics update)."""
import torch
from torch import nn


class RoundPass(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, step):
        return torch.round(x / step) * step

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None


class FakeQuant(nn.Module):
    def __init__(self, init_step: float = 0.05):
        super().__init__()
        self.step = nn.Parameter(torch.tensor(init_step))

    def forward(self, x):
        return RoundPass.apply(x, self.step)

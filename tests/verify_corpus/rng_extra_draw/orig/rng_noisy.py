"""Escape-noise spike (snntorch/Norse style): Gaussian noise on the membrane only when the layer
asks for it (noisy=True during training); otherwise deterministic and no random draw."""
import torch
from torch import nn


class NoisySpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mem, sigma=0.05, noisy=False):
        if noisy:
            mem = mem + sigma * torch.randn_like(mem)
        ctx.save_for_backward(mem)
        return (mem > 0).to(mem.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (mem,) = ctx.saved_tensors
        return grad_output / (1.0 + 10.0 * mem.abs()) ** 2, None, None


class NoisyLIF(nn.Module):
    def __init__(self, sigma=0.05):
        super().__init__()
        self.sigma = sigma

    def forward(self, mem):
        return NoisySpike.apply(mem, self.sigma, self.training)

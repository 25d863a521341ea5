"""Source modules the command-line tests write into temporary trees."""

# A Gaussian-surrogate spike: the smallest convertible class.
GAUSSIAN_SPIKE = """\
import torch

class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.exp(-x * x)
"""

# A fast-sigmoid spike with a non-tensor argument read back from ctx.
FAST_SIGMOID_SPIKE = """\
import torch


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (ctx.alpha * x.abs() + 1.0) ** 2, None
"""

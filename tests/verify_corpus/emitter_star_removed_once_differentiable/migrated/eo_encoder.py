import torch
from eo_surrogate import *  # noqa: F403


class LatencyCode(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.log(x.clamp(min=1e-3)) * (1.0 / math.log(2.0))  # noqa: F405

    @staticmethod
    @once_differentiable  # noqa: F405
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output.sum() * torch.ones_like(x) / x.clamp(min=1e-3) / math.log(2.0)  # noqa: F405


def encode(x):
    return LatencyCode.apply(x) + ATan.apply(x - 0.5)  # noqa: F405

import torch

__all__ = ["FastSigmoid", "spike_layer"]


class FastSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, slope=25.0):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (ctx.slope * torch.abs(x) + 1.0) ** 2, None


def spike_layer(x):
    return FastSigmoid.apply(x, 10.0)

"""Surrogate spike functions, imported with `from ss_surrogates import *` by the models."""
import torch


class SigmoidSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mem, slope=5.0):
        ctx.save_for_backward(mem)
        ctx.slope = slope
        return (mem > 0).to(mem.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (mem,) = ctx.saved_tensors
        sig = torch.sigmoid(ctx.slope * mem)
        return grad_output * (ctx.slope * sig * (1 - sig)), None

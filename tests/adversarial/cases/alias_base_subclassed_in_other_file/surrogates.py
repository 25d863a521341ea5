import torch
from torch.autograd import Function as AutogradFn


class SpikeFunctionBase(AutogradFn):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x > 0).to(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * ctx.alpha / (1.0 + (ctx.alpha * x) ** 2), None

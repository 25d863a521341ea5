# fgi-case: class 7 - backward delegates to a module helper surrogate_grad(ctx, grad_output) that unpacks ctx itself (interprocedural: not a safe fix)
# fgi-expect: HelperSpike=unsafe|refused
import math

import torch


def surrogate_grad(ctx, grad_output):
    (x,) = ctx.saved_tensors
    return grad_output * ctx.alpha / 2 / (1 + (math.pi / 2 * ctx.alpha * x) ** 2)


class HelperSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return x.gt(0).float()

    @staticmethod
    def backward(ctx, grad_output):
        return surrogate_grad(ctx, grad_output), None


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1.0])])
    return [("HelperSpike.apply", [x, 2.0])]

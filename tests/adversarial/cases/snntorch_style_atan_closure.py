# fgi-case: plain convertible - snntorch-style ATan with default alpha, wrapped in a closure factory; must stay safe
# fgi-expect: ATan=safe
import math

import torch


class ATan(torch.autograd.Function):
    """Heaviside forward, arctan surrogate: S' = alpha / 2 / (1 + (pi/2 * alpha * U)^2)."""

    @staticmethod
    def forward(ctx, input_, alpha=2.0):
        ctx.save_for_backward(input_)
        ctx.alpha = alpha
        out = (input_ > 0).float()
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (input_,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad = ctx.alpha / 2 / (1 + (math.pi / 2 * ctx.alpha * input_).pow(2)) * grad_input
        return grad, None


def atan(alpha=2.0):
    alpha = alpha

    def inner(x):
        return ATan.apply(x, alpha)

    return inner


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13) * 2, torch.tensor([0.0, -0.0, 1e-7])])
    return [("ATan.apply", [x]), ("ATan.apply", [x, 4.0]), {"call": "atan(3.0)(a0)", "args": [x]}]

# fgi-case: class 2/4 - spikingjelly-style surrogate whose hyper-parameter arrives as a tensor that broadcasts beyond x ([8, 1] spike, [1, 6] alpha): the value must keep x's shape, the gradient is summed back by autograd (found on real code: the carrier gave the value alpha's shape)
# fgi-expect: atan=safe|unsafe|refused
import math

import torch


def heaviside(x: torch.Tensor):
    return (x >= 0).to(x)


class atan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        if x.requires_grad:
            ctx.save_for_backward(x)
            ctx.alpha = alpha
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_output):
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = ctx.alpha / 2 / (1 + (math.pi / 2 * ctx.alpha * ctx.saved_tensors[0]).pow_(2)) * grad_output
        return grad_x, None


def fgi_inputs(torch):
    x = torch.cat([torch.randn(5, 1), torch.tensor([[0.0], [-0.0], [0.5]])])
    return [
        {"call": "atan.apply", "args": [x, torch.full((1, 6), 2.0)], "grad": [0], "cast": [0]},
        {"call": "atan.apply", "args": [x.flatten(), torch.full((8, 8), 2.0)], "grad": [0], "cast": [0]},
        ("atan.apply", [x, 2.0]),
    ]

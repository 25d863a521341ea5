# fgi-case: class 1 - backward builds grad in a zeros tensor with g.add_ and adds a "gradient floor" that does not scale with grad_output
# fgi-expect: FloorSpike=refused
import math

import torch
from torch.autograd import Function

EPS_FLOOR = 1e-3


class FloorSpike(Function):
    @staticmethod
    def forward(ctx, u, alpha=2.0):
        ctx.save_for_backward(u)
        ctx.alpha = alpha
        return u.gt(0).type_as(u)

    @staticmethod
    def backward(ctx, grad_output):
        (u,) = ctx.saved_tensors
        grad = torch.zeros_like(u)
        grad.add_(grad_output * ctx.alpha / 2 / (1 + (math.pi / 2 * ctx.alpha * u).pow(2)))
        grad.add_(EPS_FLOOR * u.sign())  # keep dead neurons alive
        return grad, None


spike_fn = FloorSpike.apply


def fgi_inputs(torch):
    u = torch.cat([torch.randn(12) * 2, torch.tensor([0.0, -0.0, 1e-8, -3.0])])
    return [("FloorSpike.apply", [u, 2.0]), ("spike_fn", [u])]

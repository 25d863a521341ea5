# fgi-case: class 5 - forward returns `x > 0` without a cast: bool output, never requires grad; a rewrite must keep dtype bool
# fgi-expect: BoolSpike=safe|refused
import torch


class BoolSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x > 0

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.exp(-x.pow(2))


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1.0])])
    return [("BoolSpike.apply", [x]), {"call": "BoolSpike.apply(a0).float() * a0", "args": [x]}]

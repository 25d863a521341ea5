# fgi-case: class 8 - a plain mixin supplies backward (and the slope it reads as a class attribute); two Functions share it with different slopes
# fgi-expect: NarrowSpike=safe|unsafe|refused
# fgi-expect: WideSpike=safe|unsafe|refused
import torch


class FastSigmoidGrad:
    slope = 25.0

    @classmethod
    def backward(cls, ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (cls.slope * x.abs() + 1.0) ** 2


class NarrowSpike(FastSigmoidGrad, torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()


class WideSpike(NarrowSpike):
    slope = 2.0


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 0.04])])
    return [("NarrowSpike.apply", [x]), ("WideSpike.apply", [x])]

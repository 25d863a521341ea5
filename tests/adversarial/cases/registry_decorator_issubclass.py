# fgi-case: class 8 - a class decorator registers surrogates and checks issubclass(cls, Function); the model looks them up by name
# fgi-expect: ATanSurrogate=refused
# fgi-expect: TriangleSurrogate=refused
import torch
from torch.autograd import Function

SURROGATES = {}


def register(name):
    def deco(cls):
        if not issubclass(cls, Function):
            raise TypeError(f"{cls.__name__} is not an autograd Function")
        SURROGATES[name] = cls
        return cls

    return deco


@register("atan")
class ATanSurrogate(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + (torch.pi * x) ** 2)


@register("triangle")
class TriangleSurrogate(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.clamp(1.0 - x.abs(), min=0)


def spike(x, kind="atan"):
    return SURROGATES[kind].apply(x)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1.0])])
    return [("spike", [x]), ("spike", [x, "triangle"]), ("ATanSurrogate.apply", [x])]

# fgi-case: captured name - a notebook-style module defines Spike twice (a cell run again with another surrogate); functions read Spike when they run, so both must reach the second class, not the first one's function
# fgi-expect: Spike=safe|unsafe|refused
import torch


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + x.abs()) ** 2


def first_layer(x):
    return Spike.apply(x)


class Spike(torch.autograd.Function):  # noqa: F811 - redefined on purpose
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(4 * x) * (1 - torch.sigmoid(4 * x))


def second_layer(x, Spike=None):
    # a parameter of the same name: Spike.apply here is whatever the caller passes
    fn = Spike if Spike is not None else globals()["Spike"]
    return fn.apply(x)


def shadowed(x, Spike=Spike):
    return Spike.apply(x)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.3, -0.0, 1.0])])
    return [("first_layer", [x]), ("second_layer", [x]), ("shadowed", [x])]

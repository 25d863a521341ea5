# fgi-case: captured name - a helper takes the spike Function as a parameter that happens to carry the class's name; Spike.apply there is the caller's class, which the rewrite must not replace by the module class's function
# fgi-expect: Spike=safe|unsafe|refused
# fgi-expect: WideSpike=safe|unsafe|refused
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


class WideSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + 0.25 * x.abs()) ** 2


def layer(x, Spike=Spike):
    return Spike.apply(x)


def layer_with_local(x, wide):
    Spike = WideSpike if wide else None
    return Spike.apply(x)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.3, -0.0, 1.0])])
    return [("layer(a0, WideSpike)", [x]), ("layer", [x]), ("layer_with_local(a0, True)", [x])]

# fgi-case: changed call - a module keeps the spike as a class attribute (`spike_fn = Spike.apply`), as older SNN code does, and calls self.spike_fn(x); a custom Function's apply is a bound method, a plain function would become a method and receive self
# fgi-expect: Spike=safe|unsafe|refused
# fgi-expect: LIF.Inner=safe|unsafe|refused
import torch
from torch import nn


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + x.abs()) ** 2


class LIF(nn.Module):
    class Inner(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return (x > 0).float()

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * torch.exp(-x * x)

    spike_fn = Spike.apply
    inner_fn: object = Inner.apply

    def forward(self, x):
        return self.spike_fn(x - 0.5) + self.inner_fn(x) + LIF.spike_fn(x)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.5, -0.0, 1.0])])
    return [("LIF()(a0)", [x])]

# fgi-case: captured name - a subclass swaps the nested surrogate (SpikeFn = WideSpike) and one instance gets another through its constructor; self.SpikeFn.apply in the base's forward must keep reaching what the instance holds
# fgi-expect: LIF.SpikeFn=safe|unsafe|refused
# fgi-expect: WideSpike=safe|unsafe|refused
# fgi-expect: Gate.SpikeFn=safe|unsafe|refused
import torch
from torch import nn


class WideSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + 0.25 * x.abs()) ** 2


class LIF(nn.Module):
    class SpikeFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return (x > 0).float()

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output / (1 + x.abs()) ** 2

    def forward(self, x):
        return self.SpikeFn.apply(x - 0.5)


class WideLIF(LIF):
    SpikeFn = WideSpike


class Gate(nn.Module):
    class SpikeFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return (x > 0).float()

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * torch.exp(-x * x)

    def __init__(self, spike_fn=None):
        super().__init__()
        if spike_fn is not None:
            self.SpikeFn = spike_fn

    def forward(self, x):
        return self.SpikeFn.apply(x)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.5, -0.0, 1.0])])
    return [("LIF()(a0)", [x]), ("WideLIF()(a0)", [x]), ("Gate()(a0)", [x]), ("Gate(WideSpike)(a0)", [x])]

# fgi-case: dropped code - a module nested in an if block (a version guard) holds its own SpikeFn, beside a converted top-level Function; the nested class's function must be written where the shim can reach it and nothing after it may be lost
# fgi-expect: Heaviside=safe|unsafe|refused
# fgi-expect: LIF.SpikeFn=safe|unsafe|refused
import torch
from torch import nn


class Heaviside(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.exp(-x * x)


if hasattr(torch, "autograd"):  # version guard, as libraries write around optional features

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
            return self.SpikeFn.apply(x - 0.5) + Heaviside.apply(x)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.5, -0.0, 1.0])])
    return [("LIF()(a0)", [x]), ("Heaviside.apply", [x])]

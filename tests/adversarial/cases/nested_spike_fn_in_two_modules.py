# fgi-case: captured name - two nn.Modules each nest their own SpikeFn with a different surrogate; self.SpikeFn.apply in each must reach its own class's function
# fgi-expect: LIFA.SpikeFn=safe|unsafe|refused
# fgi-expect: LIFB.SpikeFn=safe|unsafe|refused
import torch
from torch import nn


class LIFA(nn.Module):
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


class LIFB(nn.Module):
    class SpikeFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return (x > 0).float()

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * torch.exp(-x * x)

    def forward(self, x):
        return self.SpikeFn.apply(x - 0.5)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.5, -0.0, 1.0])])
    return [("LIFA()(a0)", [x]), ("LIFB()(a0)", [x])]

# fgi-case: class 6 - stochastic (bernoulli) spike: the draw must happen once, in the same order, in grad and no_grad mode; RNG state compared
# fgi-expect: StochasticSpike=safe|unsafe|refused
import torch
import torch.nn as nn


class StochasticSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mem, temp=1.0):
        p = torch.sigmoid(mem / temp)
        ctx.save_for_backward(p)
        ctx.temp = temp
        return torch.bernoulli(p)

    @staticmethod
    def backward(ctx, grad_output):
        (p,) = ctx.saved_tensors
        return grad_output * p * (1 - p) / ctx.temp, None


class PoissonLIF(nn.Module):
    def forward(self, x):
        s1 = StochasticSpike.apply(x, 1.0)
        s2 = StochasticSpike.apply(x * 0.5, 0.5)
        return s1 + torch.rand_like(x) * s2


layer = PoissonLIF()


def fgi_inputs(torch):
    m = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 3.0])])
    return [("StochasticSpike.apply", [m, 1.0]), ("layer", [m])]

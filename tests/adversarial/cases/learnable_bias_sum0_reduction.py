# fgi-case: class 3 - learnable per-neuron threshold broadcast over the batch; backward returns -(grad_output * g).sum(0): autograd's summation order differs, must not be safe
# fgi-expect: LearnableThresholdSpike=unsafe|refused
import torch
import torch.nn as nn


class LearnableThresholdSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mem, thr):
        ctx.save_for_backward(mem, thr)
        return (mem > thr).float()

    @staticmethod
    def backward(ctx, grad_output):
        mem, thr = ctx.saved_tensors
        g = 1.0 / (1.0 + (torch.pi * (mem - thr)) ** 2)
        return grad_output * g, -(grad_output * g).sum(0)


class LIF(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.thr = nn.Parameter(torch.ones(n))

    def forward(self, mem):
        return LearnableThresholdSpike.apply(mem, self.thr)


def fgi_inputs(torch):
    mem = torch.randn(37, 5) * 2
    thr = torch.rand(5) + 0.5
    mem[0, 0] = thr[0]
    return [("LearnableThresholdSpike.apply", [mem, thr])]

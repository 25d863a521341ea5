# fgi-case: class 2 - forward indexes the last time step `mem[-1]` of a differentiable input; gradient written into a zeros tensor
# fgi-expect: LastStepSpike=refused
import torch
import torch.nn as nn


class LastStepSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mem_rec, thr):
        ctx.save_for_backward(mem_rec)
        ctx.thr = thr
        return (mem_rec[-1] > thr).float()

    @staticmethod
    def backward(ctx, grad_output):
        (mem_rec,) = ctx.saved_tensors
        grad = torch.zeros_like(mem_rec)
        grad[-1] = grad_output / (1.0 + 5.0 * (mem_rec[-1] - ctx.thr).abs()) ** 2
        return grad, None


class Readout(nn.Module):
    def forward(self, mem_rec):
        return LastStepSpike.apply(mem_rec, 0.5)


readout = Readout()


def fgi_inputs(torch):
    m = torch.randn(3, 2, 4)
    m[-1, 0, 0] = 0.5
    return [("LastStepSpike.apply", [m, 0.5]), ("readout", [m])]

# fgi-case: class 1 - learnable threshold whose grad is filled in place from zeros with a term independent of grad_output (a "threshold regulariser")
# fgi-expect: RegularisedSpike=refused
import torch
import torch.nn as nn

THR_TARGET = 1.0
THR_DECAY = 1e-2


class RegularisedSpike(torch.autograd.Function):
    """Heaviside spike; the threshold is pulled towards THR_TARGET inside backward."""

    @staticmethod
    def forward(ctx, mem, thr):
        ctx.save_for_backward(mem, thr)
        return (mem - thr > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        mem, thr = ctx.saved_tensors
        sg = 1.0 / (1.0 + 10.0 * (mem - thr).abs()) ** 2
        grad_mem = grad_output * sg
        grad_thr = torch.zeros_like(thr)
        grad_thr.add_(-grad_output * sg)
        grad_thr.add_(THR_DECAY * (thr - THR_TARGET))
        return grad_mem, grad_thr


class AdaptiveLIF(nn.Module):
    def __init__(self, n, beta=0.9):
        super().__init__()
        self.beta = beta
        self.thr = nn.Parameter(torch.full((n,), 0.8))

    def forward(self, x, mem):
        mem = self.beta * mem + x
        return RegularisedSpike.apply(mem, self.thr.expand_as(mem).contiguous())


def fgi_inputs(torch):
    mem = torch.cat([torch.randn(12), torch.tensor([0.5, -0.0, 0.0, 1.5])])
    thr = torch.rand(16) + 0.25
    thr[0] = 0.5
    return [("RegularisedSpike.apply", [mem, thr])]

# fgi-case: class 6 - forward stores u on ctx then edits u in place (soft reset) before returning: backward sees the edited u
# fgi-expect: SoftResetSpike=safe|unsafe|refused
import torch


class SoftResetSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mem, thr):
        u = mem - thr
        ctx.u = u
        spk = (u > 0).float()
        u.sub_(spk * thr)  # soft reset, kept for the surrogate
        return spk

    @staticmethod
    def backward(ctx, grad_output):
        u = ctx.u
        return grad_output * torch.exp(-u * u), None


def fgi_inputs(torch):
    mem = torch.cat([torch.randn(13) + 1, torch.tensor([1.0, -0.0, 2.0])])
    return [("SoftResetSpike.apply", [mem, 1.0])]

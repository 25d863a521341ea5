# fgi-case: class 5 - two outputs, the reset mask marked non-differentiable; only the spike carries a gradient
# fgi-expect: SpikeWithReset=safe|refused
import torch


class SpikeWithReset(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mem, thr):
        ctx.save_for_backward(mem)
        ctx.thr = thr
        spk = (mem > thr).float()
        reset = spk.bool()
        ctx.mark_non_differentiable(reset)
        return spk, reset

    @staticmethod
    def backward(ctx, grad_spk, grad_reset):
        (mem,) = ctx.saved_tensors
        return grad_spk / (1.0 + 10.0 * (mem - ctx.thr).abs()) ** 2, None


def lif_step(mem, x, thr=1.0, beta=0.9):
    mem = beta * mem + x
    spk, reset = SpikeWithReset.apply(mem, thr)
    mem = torch.where(reset, torch.zeros_like(mem), mem)
    return spk, mem


def fgi_inputs(torch):
    mem = torch.cat([torch.randn(13), torch.tensor([1.0, -0.0, 2.0])])
    x = torch.rand(16)
    return [("SpikeWithReset.apply", [mem, 1.0]), ("lif_step", [mem, x])]

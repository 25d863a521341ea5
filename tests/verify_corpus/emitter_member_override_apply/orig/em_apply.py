import torch


class ScaledSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, thr):
        ctx.save_for_backward(x)
        ctx.thr = thr
        return (x >= thr).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.exp(-(x - ctx.thr) ** 2), None

    @classmethod
    def apply(cls, x, thr=0.5, gain=2.0):
        return super().apply(x * gain, thr)

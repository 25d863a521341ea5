# fgi-case: class 8 - the Function overrides `apply` (classmethod adding defaults and a pre-scaling) that callers rely on
# fgi-expect: ScaledSpike=safe|unsafe|refused
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


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.25, -0.0, 0.5])])
    return [("ScaledSpike.apply", [x]), ("ScaledSpike.apply", [x, 1.0, 1.0])]

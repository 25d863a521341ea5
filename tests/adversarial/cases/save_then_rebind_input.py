# fgi-case: class 6 - ctx.save_for_backward(x) then forward rebinds x = x * 2 before the step: the surrogate must read the saved (original) x
# fgi-expect: DoubledSpike=safe|unsafe|refused
import torch


class DoubledSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, thr):
        ctx.save_for_backward(x)
        ctx.thr = thr
        x = x * 2
        return (x > thr).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1.0 + 4.0 * (x - ctx.thr).abs()) ** 2, None


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.5, 1.0, -0.0])])
    return [("DoubledSpike.apply", [x, 1.0])]

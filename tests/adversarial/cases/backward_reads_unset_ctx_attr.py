# fgi-case: class 10 - forward sets ctx.slope but backward reads ctx.alpha (AttributeError in backward): refuse, keep the crash
# fgi-expect: TypoSpike=refused
import torch


class TypoSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (ctx.alpha * x.abs() + 1.0) ** 2, None


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1.0])])
    return [("TypoSpike.apply", [x, 5.0])]

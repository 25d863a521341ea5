# fgi-case: class 8 - base Function with forward+backward; a subclass inherits forward and overrides backward; a third inherits both
# fgi-expect: HeavisideBase=safe|unsafe|refused
# fgi-expect: RectangularSpike=safe|unsafe|refused
# fgi-expect: WideRectangularSpike=safe|unsafe|refused
import torch


class HeavisideBase(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x >= 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.exp(-x * x)


class RectangularSpike(HeavisideBase):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (x.abs() < 0.5).float()


class WideRectangularSpike(RectangularSpike):
    pass


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 0.5])])
    return [("HeavisideBase.apply", [x]), ("RectangularSpike.apply", [x]), ("WideRectangularSpike.apply", [x])]

# fgi-case: class 10 - forward takes (x, thr) but backward returns one gradient: autograd raises at backward; refuse (FGI110)
# fgi-expect: ShortSpike=refused
import torch


class ShortSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, thr):
        ctx.save_for_backward(x)
        return (x > thr).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.exp(-x.abs())


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1.0])])
    return [("ShortSpike.apply", [x, 0.0])]

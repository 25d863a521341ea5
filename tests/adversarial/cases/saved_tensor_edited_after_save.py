# fgi-case: class 6 - save_for_backward(u) of an internal tensor, then u.mul_ in forward (no version error since u needs no grad): backward reads the edited values
# fgi-expect: DecaySpike=safe|unsafe|refused
import torch


class DecaySpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        u = x - 0.5
        ctx.save_for_backward(u)
        out = (u > 0).float()
        u.mul_(0.25)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (u,) = ctx.saved_tensors
        return grad_output / (1.0 + 8.0 * u.abs()) ** 2


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.5, -0.0, 2.0])])
    return [("DecaySpike.apply", [x])]

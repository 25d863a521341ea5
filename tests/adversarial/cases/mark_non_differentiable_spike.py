# fgi-case: class 5 - forward calls ctx.mark_non_differentiable(out): the output must not require grad after the rewrite either
# fgi-expect: FrozenSpike=safe|refused
import torch


class FrozenSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        out = (x > 0).float()
        ctx.mark_non_differentiable(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1.0 + x.abs()) ** 2


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1.0])])
    return [("FrozenSpike.apply", [x])]

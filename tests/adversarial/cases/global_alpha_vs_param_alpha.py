# fgi-case: class 7 - forward's parameter `alpha` (threshold) and a module global `alpha` (slope) that backward reads: moving backward into forward must not capture the parameter
# fgi-expect: SlopeSpike=safe|unsafe|refused
import torch

alpha = 4.0  # surrogate slope, set by the training script


class SlopeSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x - alpha)
        return (x > alpha).float()

    @staticmethod
    def backward(ctx, grad_output):
        (u,) = ctx.saved_tensors
        return grad_output / (alpha * u.abs() + 1.0) ** 2, None


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.3, -0.0, 1.0])])
    return [("SlopeSpike.apply", [x, 0.3])]

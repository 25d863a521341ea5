# fgi-case: class 1 - linear but built in a zeros tensor: 0 + (-0.0) is +0.0, so the gradient is grad_output*g except for signed zeros; not a safe symbolic chain
# fgi-expect: ZeroInitGradSpike=unsafe|refused
import torch


class ZeroInitGradSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        grad = torch.zeros_like(grad_output)
        grad += grad_output * torch.clamp(1.0 - x.abs(), min=0.0)
        return grad


def fgi_inputs(torch):
    x = torch.cat([torch.randn(12), torch.tensor([0.0, -0.0, 1.0, -1.0, 3.0])])
    return [("ZeroInitGradSpike.apply", [x])]

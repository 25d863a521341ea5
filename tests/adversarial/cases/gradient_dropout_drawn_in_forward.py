# fgi-case: class 6 - forward draws a gradient-dropout mask (rand_like) only backward uses: under no_grad the original still draws it, so the RNG state must advance alike
# fgi-expect: DropGradSpike=safe|unsafe|refused
import torch

P_DROP = 0.2


class DropGradSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        keep = (torch.rand_like(x) > P_DROP).to(x.dtype)
        ctx.save_for_backward(x, keep)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        x, keep = ctx.saved_tensors
        return grad_output * keep / (1.0 + 2.0 * x.abs()) ** 2


def two_layers(x):
    s = DropGradSpike.apply(x)
    return s + torch.randn_like(x)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1.0])])
    return [("DropGradSpike.apply", [x]), ("two_layers", [x])]

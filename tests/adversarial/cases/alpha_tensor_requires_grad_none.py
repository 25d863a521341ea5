# fgi-case: class 4 - a learnable-looking tensor `alpha` (requires_grad=True) used in the surrogate, for which backward returns None: rewritten code must not give it a gradient
# fgi-expect: SigmoidSurrogate=safe|unsafe|refused
import torch
import torch.nn as nn


class SigmoidSurrogate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x, alpha)
        return (x >= 0).to(x)

    @staticmethod
    def backward(ctx, grad_output):
        x, alpha = ctx.saved_tensors
        sgax = torch.sigmoid(x * alpha)
        return grad_output * (1.0 - sgax) * sgax * alpha, None


class SpikeAct(nn.Module):
    def __init__(self):
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(4.0))

    def forward(self, x):
        return SigmoidSurrogate.apply(x, self.alpha)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 0.5])])
    alpha = torch.tensor(4.0) + torch.rand(())
    return [("SigmoidSurrogate.apply", [x, alpha], [0, 1])]

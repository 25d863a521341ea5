# fgi-case: plain convertible - spikingjelly-2.0-style new-style forward(x, alpha) + setup_context, sigmoid surrogate inline; must stay safe
# fgi-expect: sigmoid=safe
import torch


def heaviside(x: torch.Tensor):
    return (x >= 0).to(x)


class sigmoid(torch.autograd.Function):
    @staticmethod
    def forward(x, alpha):
        return heaviside(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, alpha = inputs
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)
        ctx.alpha = alpha

    @staticmethod
    def backward(ctx, grad_output):
        x = ctx.saved_tensors[0]
        sgax = torch.sigmoid(x * ctx.alpha)
        grad_x = grad_output * (1.0 - sgax) * sgax * ctx.alpha
        return grad_x, None


class Sigmoid(torch.nn.Module):
    def __init__(self, alpha=4.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return sigmoid.apply(x, self.alpha)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 0.25])])
    return [("sigmoid.apply", [x, 4.0]), {"call": "Sigmoid()(a0)", "args": [x]}]

# fgi-case: class 7 - static methods of the class used by forward, backward and users (Spike.configure(alpha=3.0), Spike.surrogate(x)); class attribute changed at run time
# fgi-expect: Spike=safe|unsafe|refused
import torch


class Spike(torch.autograd.Function):
    alpha = 2.0

    @staticmethod
    def configure(alpha=2.0):
        Spike.alpha = alpha

    @staticmethod
    def surrogate(x):
        return 1.0 / (1.0 + (Spike.alpha * x) ** 2)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * Spike.surrogate(x)


def plot_surrogate(x):
    return Spike.surrogate(x)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1.0])])
    return [
        {"call": "Spike.configure(alpha=3.0) or Spike.apply(a0)", "args": [x]},
        ("Spike.apply", [x]),
        ("plot_surrogate", [x]),
        {"call": "Spike.configure() or Spike.surrogate(a0)", "args": [x]},
    ]

# fgi-case: class 7 - backward binds a local named `heaviside` (the sigmoid) while forward calls the module helper heaviside()
# fgi-expect: SigmoidHeaviside=safe|unsafe|refused
import torch


def heaviside(x):
    return (x >= 0).to(x)


class SigmoidHeaviside(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k=4.0):
        ctx.save_for_backward(x)
        ctx.k = k
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        heaviside = torch.sigmoid(ctx.k * x)
        return grad_output * ctx.k * heaviside * (1 - heaviside), None


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1.0])])
    return [("SigmoidHeaviside.apply", [x, 4.0]), ("heaviside", [x])]

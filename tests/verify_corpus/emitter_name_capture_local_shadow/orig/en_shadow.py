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

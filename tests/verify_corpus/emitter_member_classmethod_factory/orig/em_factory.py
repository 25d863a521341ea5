import torch


class FastSigmoidSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (ctx.slope * torch.abs(x) + 1.0) ** 2, None

    @classmethod
    def with_slope(cls, slope=25.0):
        def inner(x):
            return cls.apply(x, slope)

        return inner


fast_sigmoid = FastSigmoidSpike.with_slope(10.0)

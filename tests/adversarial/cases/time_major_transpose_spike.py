# fgi-case: class 2 - forward transposes batch-major input to time-major before the step; backward transposes back
# fgi-expect: TimeMajorSpike=unsafe|refused
import torch


class TimeMajorSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_btn):
        x = x_btn.transpose(0, 1)
        ctx.save_for_backward(x)
        return (x >= 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        grad = grad_output * torch.exp(-2.0 * x * x)
        return grad.transpose(0, 1)


def fgi_inputs(torch):
    x = torch.randn(2, 3, 4)
    x[0, 0, 0] = 0.0
    x[1, 0, 1] = -0.0
    return [("TimeMajorSpike.apply", [x])]

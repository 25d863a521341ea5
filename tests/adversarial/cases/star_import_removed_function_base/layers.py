# fgi-case: class 9 - quant.py's `from torch.autograd import Function` becomes unused after its only class is rewritten; layers.py gets Function through `from quant import *`
# fgi-expect: quant.py::RoundSTE=safe|refused
# fgi-expect: layers.py::SignSTE=safe|unsafe|refused|absent
import torch
from quant import *  # noqa: F403


class SignSTE(Function):  # noqa: F405
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (x.abs() <= 1).to(grad_output.dtype)


def quantize_act(x):
    return RoundSTE.apply(x * 4) / 4 + SignSTE.apply(x)  # noqa: F405


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.125, -0.0, 1.0])])
    return [("quantize_act", [x])]

# fgi-case: class 2 - XNOR-Net-style binary linear layer: forward is a matmul with sign(w); STE backward through matmuls
# fgi-expect: BinaryLinearFn=refused
import torch
import torch.nn as nn


class BinaryLinearFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return x.mm(weight.sign().t())

    @staticmethod
    def backward(ctx, grad_output):
        x, weight = ctx.saved_tensors
        grad_x = grad_output.mm(weight.sign())
        grad_w = grad_output.t().mm(x) * (weight.abs() <= 1).to(x.dtype)
        return grad_x, grad_w


class BinaryLinear(nn.Linear):
    def forward(self, x):
        return BinaryLinearFn.apply(x, self.weight)


def fgi_inputs(torch):
    x = torch.randn(2, 3)
    w = torch.randn(4, 3)
    w[0, 0] = -0.0
    return [("BinaryLinearFn.apply", [x, w])]

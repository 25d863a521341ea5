# fgi-case: class 1 - index_put_ of a constant into a zeros gradient, then += grad_output * surrogate (affine in grad_output)
# fgi-expect: LeakySTE=refused
import torch
import torch.nn as nn


class LeakySTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        grad_x = torch.zeros_like(x)
        grad_x.index_put_((x.abs() > 1,), torch.tensor(0.01, dtype=x.dtype))
        grad_x += grad_output * (x.abs() <= 1).to(x.dtype)
        return grad_x


class BinaryAct(nn.Module):
    def forward(self, x):
        return LeakySTE.apply(x)


act = BinaryAct()


def fgi_inputs(torch):
    x = torch.cat([torch.randn(10) * 1.5, torch.tensor([1.0, -1.0, 0.0, -0.0])])
    return [("LeakySTE.apply", [x]), ("act", [x])]

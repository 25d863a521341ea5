# fgi-case: class 1 - `+=` into a zeros tensor: grad_output * surrogate plus an L1 sparsity term sign(x) (not linear in grad_output)
# fgi-expect: SparseSpike=refused
import torch
from torch import autograd

L1 = 1e-4


class SparseSpike(autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        out = torch.zeros_like(x)
        out[x > 0] = 1.0
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        grad_x = torch.zeros_like(x)
        grad_x += grad_output * torch.exp(-x * x)
        grad_x += L1 * torch.sign(x)
        return grad_x


def fgi_inputs(torch):
    x = torch.cat([torch.randn(12), torch.tensor([0.0, -0.0, 2.0, -2.0])])
    return [("SparseSpike.apply", [x])]

# fgi-case: class 3 plain - `(x > 0).float()` on bf16/fp64 input: output is fp32 whatever the input; carrier must be built in the promoted dtype (README: handled, safe)
# fgi-expect: ATanSpike=safe
import math

import torch


class ATanSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha=2.0):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        grad = ctx.alpha / 2 / (1 + (math.pi / 2 * ctx.alpha * x).pow(2)) * grad_output
        return grad, None


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1e-3])])
    return [{"call": "ATanSpike.apply", "args": [x, 2.0], "dtypes": ("bfloat16", "float32", "float64")}]

"""The built-in spike: a Heaviside step with a Gaussian surrogate derivative (sigma 1).

The custom Function is kept as *source text*: the benchmark rewrites it with the real
emitter (`rewrite_module`), so the FGI function it times is the one `fgi-rewrite rewrite`
writes, not a hand-made copy. `gaussian_spike_paper` is the FGI paper's hand-written form of
the same spike, `mul = x * g.detach(); mul - mul.detach() + step.detach()`, which the emitted
code is compared with.
"""

from __future__ import annotations

import torch

NAME = "<builtin:gaussian>"
CLASS_NAME = "GaussianSpike"

# 1 / sqrt(2 pi): the Gaussian density with sigma 1 at 0.
SOURCE = '''\
import torch


class GaussianSpike(torch.autograd.Function):
    """Heaviside step with a Gaussian surrogate derivative (sigma 1)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (0.3989422804014327 * torch.exp(-0.5 * x * x))
'''


def gaussian_spike_paper(x: torch.Tensor) -> torch.Tensor:
    """The paper's FGI form: g is computed with autograd on and detached afterwards."""
    step = (x > 0).to(x.dtype)
    g = 0.3989422804014327 * torch.exp(-0.5 * x * x)
    mul = x * g.detach()
    return mul - mul.detach() + step.detach()

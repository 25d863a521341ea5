"""`torch.no_grad()` around the surrogate's computation stays exactly where it guards something."""

from __future__ import annotations

import pytest

from fgi_rewrite.rewrite import rewrite_module

torch = pytest.importorskip("torch")

TEMPLATE = '''import torch


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        g = {factor}
        return grad_output * g, None
'''


def _function(factor: str):
    source = rewrite_module(TEMPLATE.format(factor=factor).encode()).source.decode()
    namespace: dict[str, object] = {}
    exec(compile(source, "<fgi>", "exec"), namespace)  # noqa: S102 - the test's own source
    return source, namespace["spike"]


def test_a_surrogate_of_the_detached_input_alone_needs_no_block() -> None:
    source, spike = _function("torch.exp(-x * x)")
    assert "no_grad" not in source
    x = torch.randn(7, requires_grad=True)
    spike(x, 2.0).sum().backward()
    assert torch.equal(x.grad, torch.exp(-x.detach() ** 2))


def test_a_hyper_parameter_keeps_the_block_so_a_learnable_one_gets_no_gradient() -> None:
    source, spike = _function("torch.exp(-ctx.alpha * x * x)")
    assert "with torch.no_grad():" in source
    x = torch.randn(7, requires_grad=True)
    alpha = torch.tensor(2.0, requires_grad=True)  # the original returns None for it
    spike(x, alpha).sum().backward()
    assert alpha.grad is None
    assert torch.equal(x.grad, torch.exp(-alpha.detach() * x.detach() * x.detach()))

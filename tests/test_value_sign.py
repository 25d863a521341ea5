"""The cheaper paper grouping is used only for values proven to hold no -0.0."""

from __future__ import annotations

import libcst as cst
import pytest

from fgi_rewrite.analysis.value_sign import cannot_be_negative_zero


def _forward(body: str) -> tuple[list[cst.BaseStatement], cst.BaseExpression]:
    module = cst.parse_module(body)
    *statements, last = module.body
    assert isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[0], cst.Return)
    returned = last.body[0].value
    assert returned is not None
    return list(statements), returned


@pytest.mark.parametrize("body", [
    "return (x > 0).float()\n",
    "return x.gt(threshold).to(x)\n",
    "return torch.ge(x, 0).type_as(x)\n",
    "out = ((x > 0) & (x < 1)).double()\nreturn out\n",
    "out = (x >= 0).float()\nctx.save_for_backward(x, out)\nctx.spike = out\nreturn out\n",
])
def test_boolean_casts_hold_no_negative_zero(body: str) -> None:
    statements, returned = _forward(body)
    assert cannot_be_negative_zero(statements, returned, "ctx")


@pytest.mark.parametrize("body", [
    "return torch.floor(x).clamp(0, 4)\n",  # floor(-0.3) is -0.0 before the clamp keeps it
    "return torch.round(x)\n",
    "return (x > 0).float() * 2.0 - 1.0\n",
    "return x.sign()\n",
    "out = (x > 0).float()\nout[x < -1] = -0.0\nreturn out\n",
    "out = (x > 0).float()\nout.neg_()\nreturn out\n",
    "out = (x > 0).float()\nout *= scale\nreturn out\n",
    "out = (x > 0).float()\nif flip:\n    out = -out\nreturn out\n",
    "out = (x > 0).float()\nout = out - 1\nreturn out\n",
    "return (x > 0).to(x, copy=True)\n",
])
def test_anything_else_keeps_the_signed_zero_grouping(body: str) -> None:
    statements, returned = _forward(body)
    assert not cannot_be_negative_zero(statements, returned, "ctx")


def test_emitted_return_follows_the_proof() -> None:
    from fgi_rewrite.rewrite import rewrite_module

    template = '''import torch


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return {value}

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + x.abs()) ** 2
'''
    boolean = rewrite_module(template.format(value="(x > 0).float()").encode()).source.decode()
    counts = rewrite_module(template.format(value="torch.round(x)").encode()).source.decode()
    assert "inj - inj.detach() + value.detach()" in boolean
    assert "value.detach() - (inj.detach() - inj)" in counts

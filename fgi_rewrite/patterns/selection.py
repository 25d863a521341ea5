"""A gradient selected by a mask: `torch.where(mask, grad_output * g, 0)`,
`grad.masked_fill(~mask, 0)`.

Rule: linear and elementwise when the condition does not depend on grad_output and the
branch that is not the gradient is zero; branching on grad_output, or selecting a non-zero
constant, is refused. Emission: the probe, because the zero branch is +0.0 where the
product by a 0/1 mask that a chain could emit gives -0.0 for a negative grad_output.
"""

from __future__ import annotations

import libcst as cst

from fgi_rewrite.analysis.discovery import code_of
from fgi_rewrite.analysis.ir import Const, Linear, Refusal, Value
from fgi_rewrite.patterns.base import ProbedPattern, Reading


def _read_where(reader: Reading, node: cst.CSTNode, values: list[Value]) -> Value:
    assert isinstance(node, cst.Call)
    text = code_of(node)
    if len(values) != 3:
        raise Refusal("FGI102", f"backward is not linear in grad_output: {text[:80]}", node)
    cond, a, b = values
    if isinstance(cond, Linear):
        raise Refusal("FGI102", f"backward branches on grad_output: {text[:80]}", node)
    for value, arg in ((a, node.args[1]), (b, node.args[2])):
        if isinstance(value, Const) and not reader.is_zero(arg.value):
            raise Refusal("FGI102", f"backward is not linear in grad_output: selects a constant: {text[:80]}", node)
    lin = a if isinstance(a, Linear) else b
    assert isinstance(lin, Linear)
    smooth = any(v.smooth for v in (a, b) if isinstance(v, Linear))
    return lin.opaque(f"torch.where: {text[:60]}", smooth=smooth)


def _read_masked_fill(reader: Reading, node: cst.CSTNode, values: list[Value]) -> Value:
    assert isinstance(node, cst.Call)
    receiver = values[0]
    assert isinstance(receiver, Linear)
    text = code_of(node)
    fill = node.args[1].value if len(node.args) > 1 else None
    if reader.is_zero(fill):
        return receiver.opaque(f"masked_fill: {text[:60]}")
    raise Refusal("FGI102", f"backward is not linear in grad_output: fills a constant: {text[:80]}", node)


WHERE = ProbedPattern(
    name="where",
    methods=frozenset(),
    functions=frozenset({"where"}),
    operators=frozenset(),
    read=_read_where,
)
MASKED_FILL = ProbedPattern(
    name="masked_fill",
    methods=frozenset({"masked_fill", "masked_fill_"}),
    functions=frozenset(),
    operators=frozenset(),
    read=_read_masked_fill,
)

"""Sums involving the gradient: `grad_output * a + grad_output * b`, `zeros + grad_output * g`,
`grad -= grad_output * g`.

Rule: a sum of linear terms is linear (both terms reduced the same way, or the sum is not
elementwise: refused); the gradient plus a zero (`torch.zeros_like(x) + g`) is linear; a
non-zero constant added to the gradient is refused (not linear). Emission: the probe. A sum
of terms has no single factor to repeat, and zeros + g turns -0.0 into +0.0 and takes the
zeros' dtype, so no chain reproduces it bit for bit.
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from fgi_rewrite.analysis.discovery import code_of
from fgi_rewrite.analysis.ir import Linear, Refusal, Value
from fgi_rewrite.patterns.base import ProbedPattern, Reading


def _read_sum(reader: Reading, node: cst.CSTNode, values: list[Value]) -> Value:
    assert isinstance(node, cst.BinaryOperation)
    left, right = values
    text = code_of(node)
    if isinstance(left, Linear) and isinstance(right, Linear):
        if (left.reduced is None) != (right.reduced is None):
            raise Refusal("FGI103", f"backward is not elementwise: {text}", node)
        merged = left.opaque(f"sum of linear terms: {text[:60]}", smooth=right.smooth)
        return replace(merged, interprocedural=left.interprocedural or right.interprocedural)
    left_lin = isinstance(left, Linear)
    if reader.is_zero(node.right if left_lin else node.left):
        lin = left if left_lin else right
        assert isinstance(lin, Linear)
        if not left_lin and isinstance(node.operator, cst.Subtract):
            lin = reader.negate(lin)  # zeros - g
        return lin.opaque(f"added to zeros: {text[:60]}")
    raise Refusal("FGI102", f"backward is not linear in grad_output: adds a constant: {text}", node)


SUM = ProbedPattern(
    name="sum",
    methods=frozenset(),
    functions=frozenset(),
    operators=frozenset({cst.Add, cst.Subtract}),
    read=_read_sum,
)

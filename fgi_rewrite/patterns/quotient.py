"""grad_output divided by a factor: `grad_output / d`, `grad.div(d)`, `torch.div(grad, d)`,
`grad.div_(d)`, `grad /= d`.

Rule: linear when grad_output is the dividend and d does not depend on it; a division by
grad_output, or with `rounding_mode=`, is not linear and is refused. Emission: the carrier is
divided by the same d (never multiplied by 1/d, which rounds differently in about a quarter
of the elements).
"""

from __future__ import annotations

import libcst as cst

from fgi_rewrite.patterns.base import ChainPattern

QUOTIENT = ChainPattern(
    op="div",
    methods=frozenset({"div", "divide", "true_divide", "div_"}),
    functions=frozenset({"div", "divide", "true_divide"}),
    operators=frozenset({cst.Divide, cst.DivideAssign}),
    commutative=False,
    takes_operand=True,
    refused_keywords=frozenset({"rounding_mode"}),
    render=lambda term, operand: f"{term} / {operand}",
)

"""grad_output times a factor: `grad_output * g`, `g * grad_output`, `grad.mul(g)`,
`torch.mul(grad, g)`, `grad.mul_(g)`, `grad *= g`.

Rule: linear in grad_output when g does not depend on it (a product of two gradients is
refused by the reader). Emission: the carrier is multiplied by the same factor, so
d(carrier)/dx applies `* g` to grad_output as backward did, in backward's order and dtype.
"""

from __future__ import annotations

import libcst as cst

from fgi_rewrite.patterns.base import ChainPattern

PRODUCT = ChainPattern(
    op="mul",
    methods=frozenset({"mul", "multiply", "mul_"}),
    functions=frozenset({"mul", "multiply"}),
    operators=frozenset({cst.Multiply, cst.MultiplyAssign}),
    commutative=True,
    takes_operand=True,
    refused_keywords=frozenset(),
    render=lambda term, operand: f"{term} * {operand}",
)

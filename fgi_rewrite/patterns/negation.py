"""The negated gradient: `-grad_output`, `grad.neg()`, `torch.neg(grad)`, `grad.neg_()`.

Rule: always linear. Emission: the carrier is negated, which negates grad_output in
backward exactly (a sign flip never rounds).
"""

from __future__ import annotations

import libcst as cst

from fgi_rewrite.patterns.base import ChainPattern


def _negate(term: str, operand: str | None) -> str:
    # A name, an attribute or a call binds tighter than unary minus: no brackets needed.
    expression = cst.parse_expression(term)
    atomic = isinstance(expression, (cst.Name, cst.Attribute, cst.Call)) and not expression.lpar
    return f"-{term}" if atomic else f"-({term})"


NEGATION = ChainPattern(
    op="neg",
    methods=frozenset({"neg", "negative", "neg_"}),
    functions=frozenset({"neg", "negative"}),
    operators=frozenset({cst.Minus}),
    commutative=True,
    takes_operand=False,
    refused_keywords=frozenset(),
    render=_negate,
)

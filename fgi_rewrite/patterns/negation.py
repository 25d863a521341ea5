"""The negated gradient: `-grad_output`, `grad.neg()`, `torch.neg(grad)`, `grad.neg_()`.

Rule: always linear. Emission: the carrier is negated, which negates grad_output in
backward exactly (a sign flip never rounds).
"""

from __future__ import annotations

import libcst as cst

from fgi_rewrite.patterns.base import ChainPattern


def _negate(term: str, operand: str | None) -> str:
    return f"-{term}" if term.isidentifier() else f"-({term})"


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

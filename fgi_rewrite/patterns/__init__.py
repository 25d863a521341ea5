"""The symbolic gradient patterns: one module per pattern, holding its rule and its emission.

A gradient is read symbolically when backward passes grad_output through a chain of these
patterns (`grad_output * g / d`, `-grad_output`, `grad.mul_(g)`): each link of the chain is a
`ChainOp` named after the pattern that recognised it, and the emitter asks the same pattern
to apply it to the carrier, last link first, so autograd applies the links to grad_output in
backward's own order and the gradient is bit-identical.

Each pattern says which spellings it recognises (methods on the gradient, torch functions,
operators), whether the gradient may stand on either side, and how the carrier applies it.
Adding a symbolic pattern is one module here and one line in PATTERNS; the backward reader
(analysis/backward.py) and the emitter (emit/function.py) read only this registry.
"""

from __future__ import annotations

from fgi_rewrite.patterns.base import ChainPattern
from fgi_rewrite.patterns.negation import NEGATION
from fgi_rewrite.patterns.product import PRODUCT
from fgi_rewrite.patterns.quotient import QUOTIENT

PATTERNS: tuple[ChainPattern, ...] = (PRODUCT, QUOTIENT, NEGATION)
BY_OP = {p.op: p for p in PATTERNS}
BY_METHOD = {method: p for p in PATTERNS for method in p.methods}
BY_FUNCTION = {function: p for p in PATTERNS for function in p.functions}
BY_OPERATOR = {operator: p for p in PATTERNS for operator in p.operators}

__all__ = ["PATTERNS", "BY_OP", "BY_METHOD", "BY_FUNCTION", "BY_OPERATOR", "ChainPattern"]

"""The gradient patterns: one module per pattern, holding its rule and its emission.

A gradient is read symbolically when backward passes grad_output through a chain of these
patterns (`grad_output * g / d`, `-grad_output`, `grad.mul_(g)`): each link of the chain is a
`ChainOp` named after the pattern that recognised it, and the emitter asks the same pattern
to apply it to the carrier, last link first, so autograd applies the links to grad_output in
backward's own order and the gradient is bit-identical.

Each pattern says which spellings it recognises (methods on the gradient, torch functions,
operators), whether the gradient may stand on either side, and how the carrier applies it.
Adding a symbolic pattern is one module here and one line in PATTERNS; the backward reader
(analysis/backward.py) and the emitter (emit/function.py) read only this registry.

A probed pattern (`ProbedPattern`: selection.py, layout.py, sums.py) is a use of the gradient
that is linear and elementwise but that no chain repeats bit for bit; its rule returns the
gradient made opaque with a note, and its emission is the probe. Adding one is a module here
and one line in PROBED. Forms made of statements rather than one operation (a gradient
assembled in a loop, by masked assignment, or differently in two branches) are probed too,
but they are the reader's control flow and stay in analysis/backward.py.
"""

from __future__ import annotations

from fgi_rewrite.patterns.base import ChainPattern, ProbedPattern
from fgi_rewrite.patterns.layout import CAST, RESHAPE
from fgi_rewrite.patterns.negation import NEGATION
from fgi_rewrite.patterns.product import PRODUCT
from fgi_rewrite.patterns.quotient import QUOTIENT
from fgi_rewrite.patterns.selection import MASKED_FILL, WHERE
from fgi_rewrite.patterns.sums import SUM

PATTERNS: tuple[ChainPattern, ...] = (PRODUCT, QUOTIENT, NEGATION)
BY_OP = {p.op: p for p in PATTERNS}
BY_METHOD = {method: p for p in PATTERNS for method in p.methods}
BY_FUNCTION = {function: p for p in PATTERNS for function in p.functions}
BY_OPERATOR = {operator: p for p in PATTERNS for operator in p.operators}

PROBED: tuple[ProbedPattern, ...] = (WHERE, MASKED_FILL, CAST, RESHAPE, SUM)
PROBED_BY_METHOD = {method: p for p in PROBED for method in p.methods}
PROBED_BY_FUNCTION = {function: p for p in PROBED for function in p.functions}
PROBED_BY_OPERATOR = {operator: p for p in PROBED for operator in p.operators}

__all__ = ["PATTERNS", "BY_OP", "BY_METHOD", "BY_FUNCTION", "BY_OPERATOR", "ChainPattern",
           "PROBED", "PROBED_BY_METHOD", "PROBED_BY_FUNCTION", "PROBED_BY_OPERATOR", "ProbedPattern"]

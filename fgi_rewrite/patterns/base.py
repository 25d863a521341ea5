"""What a gradient pattern is: a symbolic chain link, or a form only a probe reproduces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import libcst as cst

from fgi_rewrite.analysis.ir import Linear, Value


@dataclass(frozen=True)
class ChainPattern:
    """One link of a gradient chain: its rule (the spellings that apply it to grad_output)
    and its emission (how the carrier applies it to the input)."""

    op: Literal["mul", "div", "neg"]
    # Methods on the gradient (`grad.mul(c)`, `grad.mul_(c)`; a trailing _ is in place).
    methods: frozenset[str]
    # torch functions (`torch.mul(grad, c)`).
    functions: frozenset[str]
    # Binary or unary operators (`grad * c`, `-grad`), by libcst node type.
    operators: frozenset[type[cst.CSTNode]]
    # Whether grad_output may be either operand (`c * grad`); a quotient needs it on the left.
    commutative: bool
    # Whether the link has an operand (a negation has none).
    takes_operand: bool
    # Keyword arguments that change the operation's meaning (`rounding_mode=`): refused.
    refused_keywords: frozenset[str]
    # The carrier with this link applied: render(term, operand) -> source. The operand is a
    # name, a literal or `name.detach()` (emit/function.py names anything larger), so `*` and
    # `/`, which associate to the left, need no brackets around the term.
    render: Callable[[str, str | None], str]


class Reading(Protocol):
    """What a probed pattern may ask of the backward reader (analysis/backward.py)."""

    def is_zero(self, node: cst.BaseExpression | None) -> bool:
        """Whether `node` is a literal zero or a zeros tensor (`0.0`, `torch.zeros_like(x)`)."""
        ...

    def negate(self, gradient: Linear) -> Linear:
        """The gradient with a negation link (patterns/negation.py) appended."""
        ...


@dataclass(frozen=True)
class ProbedPattern:
    """A use of the gradient that is linear and elementwise but that no chain of links
    repeats bit for bit (a selection, a cast, a sum of terms). Its rule reads the operation's
    abstract values and returns the gradient made opaque with a note saying why, or raises
    `Refusal`; its emission is the probe (emit/function.py): backward becomes a plain function
    evaluated with grad_output = 1, an unsafe fix within a stated tolerance."""

    name: str
    methods: frozenset[str]
    functions: frozenset[str]
    operators: frozenset[type[cst.CSTNode]]
    # read(reader, node, values) -> Value. `values` are the abstract values of the operands
    # in source order: the receiver then the arguments for a method, the arguments for a
    # function, left and right for an operator. At least one of them is a Linear.
    read: Callable[[Reading, cst.CSTNode, list[Value]], Value]

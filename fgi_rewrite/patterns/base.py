"""What a symbolic gradient pattern is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import libcst as cst


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
    # The carrier with this link applied: render(term, operand) -> source.
    render: Callable[[str, str | None], str]

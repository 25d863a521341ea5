"""The small intermediate description of one Function class that every later step reads.

Values in backward are tracked abstractly: either independent of grad_output (`Const`), or
linear in it (`Linear`). A `Linear` whose `chain` is known is grad_output passed through a
sequence of multiplications, divisions and negations; FGI reproduces exactly that sequence
in the carrier, so the gradient is bit-identical (the symbolic path). A `Linear` without a
chain is linear and elementwise but has no such form; its factor must be probed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import libcst as cst

from fgi_rewrite.model import GradientSource, Role


class Refusal(Exception):
    """Raised anywhere in the analysis to refuse a class with a stable code."""

    def __init__(self, code: str, reason: str, node: cst.CSTNode | None = None) -> None:
        # One line a user can read: code quoted in reasons may span lines.
        reason = " ".join(reason.split())
        if len(reason) > 120:
            reason = reason[:117] + "..."
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.node = node


@dataclass(frozen=True)
class ChainOp:
    op: Literal["mul", "div", "neg"]
    operand: cst.BaseExpression | None  # None for "neg"
    in_place: bool = False  # `grad *= c`: the result keeps the gradient's dtype, unpromoted


@dataclass(frozen=True)
class Linear:
    chain: tuple[ChainOp, ...] | None
    probe_reason: str | None = None
    reduced: cst.CSTNode | None = None  # the broadcast reduction applied, if any
    interprocedural: bool = False
    smooth: bool = False  # scaled by something other than a 0/1 mask
    # Set while the value is a part of a gradient read through an index (grad[i]); it is
    # elementwise only when written back under the same index.
    index: str | None = None

    def with_op(self, op: ChainOp, smooth: bool) -> "Linear":
        chain = None if self.chain is None else (*self.chain, op)
        return replace(self, chain=chain, smooth=self.smooth or smooth)

    def opaque(self, reason: str, smooth: bool = False) -> "Linear":
        return replace(
            self, chain=None, probe_reason=self.probe_reason or reason, smooth=self.smooth or smooth
        )


@dataclass(frozen=True)
class Const:
    node: cst.BaseExpression | None = None

    @property
    def is_none(self) -> bool:
        return isinstance(self.node, cst.Name) and self.node.value == "None"


@dataclass(frozen=True)
class TupleValue:
    items: tuple["Value", ...]
    open_ended: bool = False  # followed by an unknown number of None gradients
    saved: bool = False  # ctx.saved_tensors: a tuple of tensors, never meant for arithmetic


Value = Linear | Const | TupleValue


@dataclass(frozen=True)
class InputGradient:
    name: str
    role: Role
    gradient: Linear | None
    default: str | None = None

    @property
    def source(self) -> GradientSource | None:
        if self.gradient is None:
            return None
        return "symbolic" if self.gradient.chain is not None else "probe"


@dataclass
class FunctionIR:
    """Inputs, forward value, ctx mapping and one gradient per input."""

    forward_style: Literal["ctx", "setup_context"]
    ctx_name: str
    inputs: list[InputGradient] = field(default_factory=list)
    saved: list[cst.BaseExpression] = field(default_factory=list)
    ctx_attributes: dict[str, cst.BaseExpression] = field(default_factory=dict)
    has_step: bool = False
    stochastic: bool = False
    piecewise: bool = False  # clamp/relu-like forward, which autograd could differentiate itself
    returns_input: str | None = None  # forward returns this input's value unchanged
    notes: list[str] = field(default_factory=list)
    # Source the rewrite works from.
    forward_def: cst.FunctionDef | None = None
    setup_def: cst.FunctionDef | None = None
    backward_def: cst.FunctionDef | None = None
    backward_ctx: str = "ctx"
    params: tuple[cst.Param, ...] = ()
    star: cst.Param | None = None
    linear_names: frozenset[str] = frozenset()
    gradient_statements: frozenset[int] = frozenset()  # ids of backward statements touching a gradient
    returns_tuple: bool = True  # backward returns a tuple of gradients, not a bare tensor
    # Why forward is not proven elementwise and shape-preserving in its differentiable inputs
    # (analysis/forward.py); empty when it is.
    forward_unproven: tuple[str, ...] = ()
    # The inputs whose dtypes decide the value's (promoted together), or "bool", "fixed", "unknown".
    value_dtype: frozenset[str] | str = "unknown"
    # The inputs forward's value is an elementwise (broadcasting) function of.
    value_inputs: frozenset[str] = frozenset()
    # Module functions shaped by their arguments alone (read no global but torch and math).
    pure_helpers: frozenset[str] = frozenset()
    # Module names and class attributes (`ALPHA`, `Spike.alpha`) bound once, to a number literal.
    numeric_constants: frozenset[str] = frozenset()
    # The same constants with their literals' source, for the scripted branch of the emitted code.
    numeric_literals: tuple[tuple[str, str], ...] = ()
    # Globals and class attributes backward reads that the module assigns after import.
    late_bound: tuple[str, ...] = ()
    # Inputs backward gives an explicit zero gradient (zeros_like): FGI gives them none.
    zero_gradients: tuple[str, ...] = ()

"""Number-initialised accumulators that backward grows with tensors.

`grad = 0.0`, then `grad += torch.cos((2 * i - 1) * w * x)` in a loop: Python lets the name
change from float to Tensor, TorchScript types a name once and rejects the sum at run time.
Starting from a zero-dimensional tensor in the saved tensor's dtype computes the same sums:
0 + t and 1 * t are exact in every floating dtype (0 + -0.0 is +0.0 either way), and a
zero-dimensional tensor promotes a dimensioned one no more than a Python number does. The
growth is written out of place (`grad = grad + ...`), as Python ran it on the number: in
place, the zero-dimensional start could not take the larger shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from fgi_rewrite.analysis.syntax import may_change_dtype, names_read, saved_position, saved_unpacking

_GROWTH = (cst.AddAssign, cst.SubtractAssign, cst.MultiplyAssign)


@dataclass(frozen=True)
class Accumulators:
    positions: dict[str, int]  # accumulator -> position of the saved tensor it grows by
    growth: frozenset[int]  # ids of the `+=`/`-=`/`*=` nodes that grow one by a tensor


def tensor_accumulators(statements: Sequence[cst.BaseStatement], ctx: str, count: int) -> Accumulators:
    """Locals backward sets to the literal 0 or 1 once, at its top level, and then grows in
    place by expressions that read a saved tensor, where the tensor start provably computes
    what the number did:
    - no growth may cast (`.half()`, a comparison): the saved tensor's dtype would not be the sum's;
    - besides its growth, a 0 start may only be scaled in place (`*=`, `/=`: 0 stays 0 in any
      dtype) and a 1 start not at all (1 * c rounds c to the tensor's dtype, a Python number
      does not);
    - backward reads it nowhere else before the gradient (`scale = grad + 0.1` would compute
      in the tensor's dtype what Python computed in float64)."""
    saved = _saved_positions(statements, ctx, count)
    starts = {name: literal for stmt in statements if (name := _starting_name(stmt)) is not None
              and (literal := starting_literal(stmt)) is not None}
    once = {name for name in starts if sum(_starting_name(stmt) == name for stmt in statements) == 1}
    found: dict[str, int] = {}
    growth: dict[str, list[cst.AugAssign]] = {}
    spoiled: set[str] = set()
    for node in (n for stmt in statements for n in _augmented(stmt)):
        target = node.target
        if not (isinstance(target, cst.Name) and target.value in once):
            continue
        name = target.value
        positions = sorted(saved[n] for n in names_read(node.value) if n in saved)
        positions += _saved_reads(node.value, ctx, count)
        if positions and isinstance(node.operator, _GROWTH) and not may_change_dtype(node.value):
            found.setdefault(name, min(positions))
            growth.setdefault(name, []).append(node)
        elif positions or not (starts[name].evaluated_value == 0
                               and isinstance(node.operator, (cst.MultiplyAssign, cst.DivideAssign))):
            spoiled.add(name)
    kept = {name: position for name, position in found.items()
            if name not in spoiled and not _read_elsewhere(statements, name)}
    return Accumulators(kept, frozenset(id(node) for name in kept for node in growth[name]))


def _read_elsewhere(statements: Sequence[cst.BaseStatement], name: str) -> bool:
    """Whether name occurs in statements other than as its start's target or inside its own
    in-place updates."""
    allowed: set[int] = set()

    class Allowed(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            allowed.add(id(node))

    for stmt in statements:
        if _starting_name(stmt) == name:
            stmt.visit(Allowed())
        for node in _augmented(stmt):
            if isinstance(node.target, cst.Name) and node.target.value == name:
                node.visit(Allowed())
    found = False

    class Reader(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            nonlocal found
            found = found or node.value == name and id(node) not in allowed

    for stmt in statements:
        stmt.visit(Reader())
    return found


def out_of_place(stmt: cst.BaseStatement, growth: frozenset[int]) -> cst.BaseStatement:
    """stmt with each growth `acc += t` written `acc = acc + t`."""
    if not growth:
        return stmt

    class Writer(cst.CSTTransformer):
        def leave_AugAssign(self, original: cst.AugAssign, updated: cst.AugAssign) -> cst.BaseSmallStatement:
            if id(original) not in growth:
                return updated
            operator: cst.BaseBinaryOp = (cst.Add() if isinstance(updated.operator, cst.AddAssign)
                                          else cst.Subtract() if isinstance(updated.operator, cst.SubtractAssign)
                                          else cst.Multiply())
            right = updated.value
            if _needs_brackets(right, operator):
                right = right.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            return cst.Assign(targets=[cst.AssignTarget(target=updated.target)],
                              value=cst.BinaryOperation(left=updated.target, operator=operator, right=right))

    written = stmt.visit(Writer())
    assert isinstance(written, cst.BaseStatement)  # the writer replaces small statements only
    return written


def starting_literal(stmt: cst.BaseStatement) -> cst.Integer | cst.Float | None:
    """The literal of `name = 0.0`-like statements."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Assign) and len(stmt.body[0].targets) == 1):
        return None
    value = stmt.body[0].value
    if isinstance(value, (cst.Integer, cst.Float)) and not value.lpar and value.evaluated_value in (0, 1):
        return value
    return None


def _starting_name(stmt: cst.BaseStatement) -> str | None:
    if starting_literal(stmt) is None:
        return None
    assert isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Assign)
    target = stmt.body[0].targets[0].target
    return target.value if isinstance(target, cst.Name) else None


def _saved_positions(statements: Sequence[cst.BaseStatement], ctx: str, count: int) -> dict[str, int]:
    """Names backward unpacks from ctx.saved_tensors, and their positions."""
    positions: dict[str, int] = {}
    for stmt in statements:
        positions.update(saved_unpacking(stmt, ctx, count) or {})
    return positions


def _saved_reads(node: cst.CSTNode, ctx: str, count: int) -> list[int]:
    """Positions of the `ctx.saved_tensors[i]` reads in node."""
    positions: list[int] = []

    class Reader(cst.CSTVisitor):
        def visit_Subscript(self, subscript: cst.Subscript) -> None:
            position = saved_position(subscript, ctx, count)
            if position is not None:
                positions.append(position)

    node.visit(Reader())
    return positions


def _augmented(stmt: cst.CSTNode) -> list[cst.AugAssign]:
    found: list[cst.AugAssign] = []

    class Reader(cst.CSTVisitor):
        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            found.append(node)

    stmt.visit(Reader())
    return found


_RANK = {cst.Add: 1, cst.Subtract: 1, cst.Multiply: 2, cst.Divide: 2, cst.FloorDivide: 2, cst.Modulo: 2,
         cst.MatrixMultiply: 2, cst.Power: 3}


def _needs_brackets(right: cst.BaseExpression, operator: cst.BaseBinaryOp) -> bool:
    """`acc - t / k` needs none (the quotient binds tighter); `acc * (a / b)` does, or the
    product would round in another order."""
    if right.lpar:
        return False
    if isinstance(right, cst.BinaryOperation):
        return _RANK.get(type(right.operator), 0) <= _RANK[type(operator)]
    return isinstance(right, (cst.BooleanOperation, cst.Comparison, cst.IfExp, cst.Lambda, cst.NamedExpr))

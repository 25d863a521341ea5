"""Whether a forward's value can be -0.0, read from its source.

The signed-zero return `value.detach() - (inj.detach() - inj)` exists for values that can be
-0.0 (round and clamp counts, value replacement): the paper's `inj - inj.detach() +
value.detach()` turns those into +0.0. It costs two negations in backward. A spike that is a
boolean cast to a number, the common `(x > 0).float()`, holds only +0.0 and 1.0, for which both
groupings give the same bits: the emitter can then use the cheaper one.
"""

from __future__ import annotations

import libcst as cst

from fgi_rewrite.analysis.discovery import dotted_name

# Tensor methods and torch functions whose result is a bool tensor.
_BOOLEAN_CALLS = frozenset({
    "gt", "ge", "lt", "le", "eq", "ne", "greater", "greater_equal", "less", "less_equal", "not_equal",
    "logical_and", "logical_or", "logical_not", "logical_xor", "isnan", "isinf", "isfinite", "isposinf",
    "isneginf", "signbit",
})
_COMPARISONS = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual, cst.Equal, cst.NotEqual)
_CASTS_WITHOUT_ARGUMENT = frozenset({"float", "double", "half", "bfloat16"})
_CASTS_WITH_ONE_ARGUMENT = frozenset({"to", "type", "type_as"})


def _is_boolean(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Comparison):
        return all(isinstance(target.operator, _COMPARISONS) for target in node.comparisons)
    if isinstance(node, cst.Call):
        return (dotted_name(node.func) or "").split(".")[-1] in _BOOLEAN_CALLS
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.BitAnd, cst.BitOr, cst.BitXor)):
        return _is_boolean(node.left) and _is_boolean(node.right)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.BitInvert):
        return _is_boolean(node.expression)
    return False


def is_boolean_cast(node: cst.BaseExpression) -> bool:
    """`(x > t).float()`, `x.gt(t).to(x)`, `torch.ge(x, 0).type_as(x)`, ...: only +0.0 and 1.0."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
        return False
    method, arguments = node.func.attr.value, [a for a in node.args if a.keyword is None]
    if method in _CASTS_WITHOUT_ARGUMENT and not node.args:
        return _is_boolean(node.func.value)
    if method in _CASTS_WITH_ONE_ARGUMENT and len(arguments) == 1 and len(node.args) == 1:
        return _is_boolean(node.func.value)
    return False


def _names_in(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class Collector(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)  # `a.b`: only `a` is a name read here
            return False

    node.visit(Collector())
    return found


def _only_passed_to_ctx(small: cst.BaseSmallStatement, ctx: str | None) -> bool:
    """`ctx.save_for_backward(out)` or `ctx.out = out`: the value is handed over, not changed."""
    if ctx is None:
        return False
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        return (dotted_name(small.value.func) or "").startswith(f"{ctx}.")
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        return isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == ctx
    return False


def cannot_be_negative_zero(body: list[cst.BaseStatement], returned: cst.BaseExpression, ctx: str | None) -> bool:
    """True when forward's returned value is proven to hold no -0.0: a boolean cast, returned
    directly or bound once to a name that nothing else in forward touches. `body` is forward's
    statements without the final return."""
    if not isinstance(returned, cst.Name):
        return is_boolean_cast(returned)
    name, definitions = returned.value, []
    for statement in body:
        if name not in _names_in(statement):
            continue
        if not isinstance(statement, cst.SimpleStatementLine):
            return False  # bound or changed inside a block: not followed
        for small in statement.body:
            if name not in _names_in(small):
                continue
            if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                    and isinstance(small.targets[0].target, cst.Name) and small.targets[0].target.value == name:
                definitions.append(small.value)
            elif not _only_passed_to_ctx(small, ctx):
                return False  # `out[m] = -0.0`, `out.neg_()`, `out += x`: may change its sign
    return len(definitions) == 1 and is_boolean_cast(definitions[0])

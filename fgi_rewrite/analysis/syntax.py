"""Questions about syntax trees that the analysis and the emitter share.

Every decision is taken on nodes, never on source text: a comment or a string that spells
`requires_grad` or `<` must not change what is emitted.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import libcst as cst

from fgi_rewrite.analysis.discovery import dotted_name
from fgi_rewrite.analysis.operations import CAST_METHODS, FIXED_DTYPE_FACTORIES


class _Any(cst.CSTVisitor):
    """Whether any node in a tree satisfies a test. (libcst.matchers would read better, but
    importing it costs 0.15 s of every scan's start-up.)"""

    def __init__(self, test: Callable[[cst.CSTNode], bool]) -> None:
        self.test = test
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if not self.found and self.test(node):
            self.found = True
        return not self.found


def _any(node: cst.CSTNode, test: Callable[[cst.CSTNode], bool]) -> bool:
    visitor = _Any(test)
    node.visit(visitor)
    return visitor.found


def _is_name(node: cst.CSTNode | None, value: str) -> bool:
    return isinstance(node, cst.Name) and node.value == value


def reads_grad_requirement(node: cst.CSTNode) -> bool:
    """Whether code asks `<t>.requires_grad` or `<ctx>.needs_input_grad`."""
    return _any(node, lambda n: isinstance(n, cst.Attribute) and n.attr.value in ("requires_grad", "needs_input_grad"))


def asks_is_none(node: cst.CSTNode) -> bool:
    """`a is None` / `a is not None` anywhere in node."""
    return _any(node, lambda n: isinstance(n, cst.ComparisonTarget) and isinstance(n.operator, (cst.Is, cst.IsNot))
                and _is_name(n.comparator, "None"))


def _changes_dtype(node: cst.CSTNode) -> bool:
    if isinstance(node, cst.Comparison) or isinstance(node, cst.Arg) and _is_name(node.keyword, "dtype"):
        return True
    if not isinstance(node, cst.Call):
        return False
    if isinstance(node.func, cst.Attribute) and node.func.attr.value in CAST_METHODS:
        return True
    name = dotted_name(node.func) or ""
    return name.startswith("torch.") and name.rsplit(".", 1)[-1] in FIXED_DTYPE_FACTORIES


def may_change_dtype(node: cst.CSTNode) -> bool:
    """A comparison (bool), a cast, a `dtype=` argument or a tensor factory: a value computed
    here may have another dtype than the tensors it reads."""
    return _any(node, _changes_dtype)


def calls_method_on(node: cst.CSTNode, name: str, except_methods: frozenset[str] = frozenset()) -> bool:
    """`name.method(...)` anywhere in node, for a method not in except_methods."""
    return _any(node, lambda n: isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute)
                and _is_name(n.func.value, name) and n.func.attr.value not in except_methods)


def calls_named(node: cst.CSTNode, name: str) -> bool:
    """A call of `name`, as a function (`torch.exp(x)`, `exp(x)`) or a method (`x.exp()`)."""
    return _any(node, lambda n: isinstance(n, cst.Call) and (
        isinstance(n.func, cst.Attribute) and n.func.attr.value in (name, f"{name}_")
        or isinstance(n.func, cst.Name) and n.func.value == name))


def is_attribute_of(node: cst.BaseExpression, owner: str, attributes: tuple[str, ...]) -> bool:
    """`owner.<one of attributes>`."""
    return isinstance(node, cst.Attribute) and _is_name(node.value, owner) and node.attr.value in attributes


def _is_none_tuple(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Tuple) and len(node.elements) == 1 and _is_name(node.elements[0].value, "None")


def is_none_padding(node: cst.BaseExpression) -> bool:
    """`(None,) * n` or `n * (None,)`: the Nones of variadic inputs."""
    return isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply) \
        and (_is_none_tuple(node.left) or _is_none_tuple(node.right))


class _Names(cst.CSTVisitor):
    """One walk collecting the names a body reads, the names it binds, and the names it hands
    to calls as arguments. Nested functions, classes, lambdas and comprehensions have scopes
    of their own: their names are reads (closures) but not bindings of this body."""

    def __init__(self) -> None:
        self.reads: set[str] = set()
        self.binds: set[str] = set()
        self.passed: set[str] = set()
        self._nested = 0

    def _target(self, node: cst.CSTNode) -> None:
        if self._nested:
            return
        if isinstance(node, cst.Name):
            self.binds.add(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                self._target(element.value)
        elif isinstance(node, cst.StarredElement):
            self._target(node.value)

    def visit_Name(self, node: cst.Name) -> None:
        self.reads.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # `a.b` reads a, not b
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        if isinstance(node.value, cst.Name):
            self.passed.add(node.value.value)
        node.value.visit(self)  # `f(min=0)`: min is a keyword, not a read
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._target(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._target(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._target(node.target)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
        if node.asname is None and not self._nested:
            self.binds.add((dotted_name(node.name) or "").split(".")[0])
        return node.asname is not None  # the AsName binds; a dotted module name is no read

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not self._nested:
            self.binds.add(node.name.value)
        self._nested += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._nested -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not self._nested:
            self.binds.add(node.name.value)
        self._nested += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._nested -= 1

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._nested += 1

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._nested -= 1

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._nested += 1

    def leave_CompFor(self, original_node: cst.CompFor) -> None:
        self._nested -= 1


def _names(node: cst.CSTNode) -> _Names:
    visitor = _Names()
    node.visit(visitor)
    return visitor


def names_read(node: cst.CSTNode) -> set[str]:
    """Every name an expression (or statement) reads; attribute names and keywords are not reads."""
    return _names(node).reads


def mentions(node: cst.CSTNode, names: set[str] | frozenset[str]) -> bool:
    """Whether node reads any of names."""
    return not names_read(node).isdisjoint(names)


@dataclass(frozen=True)
class Scope:
    """A function's names: its locals (parameters and bindings), what it reads from outside,
    and what it hands to calls."""

    local: frozenset[str]
    free: frozenset[str]
    passed: frozenset[str]


def scope_of(fn: cst.FunctionDef) -> Scope:
    params = fn.params
    local = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            local.add(star.name.value)
    names = _names(fn.body)
    local |= names.binds
    return Scope(frozenset(local), frozenset(names.reads - local), frozenset(names.passed))


def bound_names(module: cst.Module) -> set[str]:
    """Every name bound anywhere in the module: a new function must not shadow any of them."""
    names: set[str] = set()

    class Binder(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            names.add(node.name.value)

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            names.add(node.name.value)

        def visit_Name(self, node: cst.Name) -> None:
            names.add(node.value)  # conservative: any identifier in use

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)  # `self.spike_fn` does not bind spike_fn
            return False

    module.visit(Binder())
    return names | set(dir(builtins))  # `complex`, `round`: never shadow a builtin


def module_names(module: cst.Module) -> set[str]:
    """Names a module binds at its top level (also under if/try/with at the top level):
    what a module-level function may read as a global."""
    names = _names(module)  # nested defs and classes count as bindings, their bodies do not
    return names.binds


class _NumberConstants(cst.CSTTransformer):
    """Replaces reads of numeric constants (`ALPHA`, `Spike.alpha`) by a literal."""

    def __init__(self, constants: frozenset[str]) -> None:
        self.constants = constants

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return cst.Float("1.0") if original_node.value in self.constants else updated_node

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        name = dotted_name(original_node)
        return cst.Float("1.0") if name is not None and name in self.constants else updated_node


def without_numbers(node: cst.CSTNode, constants: frozenset[str]) -> cst.CSTNode:
    """node with every read of a numeric constant replaced by a literal."""
    # cast: the transformer only swaps names for literals, it never removes or flattens the node
    return cast(cst.CSTNode, node.visit(_NumberConstants(constants))) if constants else node


SAVED_TENSORS = ("saved_tensors", "saved_variables")


def literal_index(node: cst.Subscript) -> int | None:
    """The integer of `value[i]` / `value[-i]`, if that is what the subscript is."""
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    index = node.slice[0].slice.value
    sign = 1
    if isinstance(index, cst.UnaryOperation) and isinstance(index.operator, cst.Minus):
        index, sign = index.expression, -1
    return sign * int(index.value) if isinstance(index, cst.Integer) else None


def saved_position(node: cst.BaseExpression, ctx: str, count: int) -> int | None:
    """The position `ctx.saved_tensors[i]` reads among count saved tensors (negative i too)."""
    if not (isinstance(node, cst.Subscript) and is_attribute_of(node.value, ctx, SAVED_TENSORS)):
        return None
    index = literal_index(node)
    return index % count if index is not None and -count <= index < count else None


def saved_unpacking(stmt: cst.BaseStatement, ctx: str, count: int) -> dict[str, int] | None:
    """Backward's read of its saved tensors into names: `x, = ctx.saved_tensors` or `x, y = ...`
    (all count items, each into a name) or `x = ctx.saved_tensors[i]`; each name's position.
    None for any other statement."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Assign) and len(stmt.body[0].targets) == 1):
        return None
    target, value = stmt.body[0].targets[0].target, stmt.body[0].value
    if is_attribute_of(value, ctx, SAVED_TENSORS) and isinstance(target, (cst.Tuple, cst.List)) \
            and len(target.elements) == count and all(isinstance(e.value, cst.Name) for e in target.elements):
        return {cast(cst.Name, e.value).value: position for position, e in enumerate(target.elements)}
    position = saved_position(value, ctx, count)
    return {target.value: position} if isinstance(target, cst.Name) and position is not None else None

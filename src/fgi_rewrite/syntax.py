"""Questions about syntax trees that the analysis and the emitter share.

Every decision is taken on nodes, never on source text: a comment or a string that spells
`requires_grad` or `<` must not change what is emitted.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from .discovery import dotted_name

_CAST_METHODS = frozenset({"float", "double", "half", "bfloat16", "to", "type", "type_as", "bool", "int", "long"})
_FIXED_DTYPE_FUNCTIONS = frozenset({"where", "tensor", "full", "ones", "zeros", "as_tensor", "empty"})


def _find(node: cst.CSTNode, matcher: m.BaseMatcherNode) -> bool:
    return bool(m.findall(node, matcher))


def reads_grad_requirement(node: cst.CSTNode) -> bool:
    """Whether code asks `<t>.requires_grad` or `<ctx>.needs_input_grad`."""
    return _find(node, m.Attribute(attr=m.Name("requires_grad") | m.Name("needs_input_grad")))


def asks_is_none(node: cst.CSTNode) -> bool:
    """`a is None` / `a is not None` anywhere in node."""
    return _find(node, m.ComparisonTarget(operator=m.Is() | m.IsNot(), comparator=m.Name("None")))


def may_change_dtype(node: cst.CSTNode) -> bool:
    """A comparison (bool), a cast, a `dtype=` argument or a tensor factory: a value computed
    here may have another dtype than the tensors it reads."""
    if _find(node, m.Comparison() | m.Arg(keyword=m.Name("dtype"))):
        return True
    for call in m.findall(node, m.Call()):
        assert isinstance(call, cst.Call)
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in _CAST_METHODS:
            return True
        name = dotted_name(func) or ""
        if name.startswith("torch.") and name.rsplit(".", 1)[-1] in _FIXED_DTYPE_FUNCTIONS:
            return True
    return False


def calls_method_on(node: cst.CSTNode, name: str, except_methods: frozenset[str] = frozenset()) -> bool:
    """`name.method(...)` anywhere in node, for a method not in except_methods."""
    for call in m.findall(node, m.Call(func=m.Attribute(value=m.Name(name)))):
        assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
        if call.func.attr.value not in except_methods:
            return True
    return False


def is_attribute_of(node: cst.BaseExpression, owner: str, attributes: tuple[str, ...]) -> bool:
    """`owner.<one of attributes>`."""
    return m.matches(node, m.Attribute(value=m.Name(owner), attr=m.OneOf(*(m.Name(a) for a in attributes))))


def is_none_padding(node: cst.BaseExpression) -> bool:
    """`(None,) * n` or `n * (None,)`: the Nones of variadic inputs."""
    none_tuple = m.Tuple(elements=[m.Element(m.Name("None"))])
    return m.matches(node, m.BinaryOperation(operator=m.Multiply(), left=none_tuple)
                     | m.BinaryOperation(operator=m.Multiply(), right=none_tuple))


class _NamesRead(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # `a.b` reads a, not b
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)  # `f(min=0)`: min is a keyword, not a read
        return False


def names_read(node: cst.CSTNode) -> set[str]:
    """Every name an expression (or statement) reads; attribute names and keywords are not reads."""
    visitor = _NamesRead()
    node.visit(visitor)
    return visitor.names


class _Bindings(cst.CSTVisitor):
    """Names a function body binds (not descending into nested functions, classes, lambdas
    or comprehensions, which have scopes of their own)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def _target(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name):
            self.names.add(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                self._target(element.value)
        elif isinstance(node, cst.StarredElement):
            self._target(node.value)

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

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is None:
            self.names.add((dotted_name(node.name) or "").split(".")[0])

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ListComp(self, node: cst.ListComp) -> bool:
        return False

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        return False

    def visit_SetComp(self, node: cst.SetComp) -> bool:
        return False

    def visit_DictComp(self, node: cst.DictComp) -> bool:
        return False


def local_names(fn: cst.FunctionDef) -> set[str]:
    """A function's local names: its parameters and every name its body binds."""
    params = fn.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    visitor = _Bindings()
    fn.body.visit(visitor)
    return names | visitor.names


def free_names(fn: cst.FunctionDef) -> set[str]:
    """Names a function reads that it does not bind: globals, closure variables, builtins."""
    return names_read(fn.body) - local_names(fn)


def passes_name(node: cst.CSTNode, name: str) -> bool:
    """`f(..., name, ...)`: the object itself handed to a call."""
    return _find(node, m.Arg(value=m.Name(name)))

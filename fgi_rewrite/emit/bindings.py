"""How often each name is bound in one scope, to know which `Cls.apply` a call site reaches.

A call site may go straight to the new function only when the name it reads can mean one
thing: the class. A second class of the same name (a notebook cell run again with another
surrogate, a module that redefines it), any other assignment, an import, a parameter or a
`global` declaration elsewhere makes the binding depend on when the call runs; such calls
keep `Cls.apply`, which the shims answer exactly as the classes did.

Also here: what a class attribute holding `Cls.apply` becomes (`static_alias`).
"""

from __future__ import annotations

from collections import Counter
from typing import TypeVar

import libcst as cst


def scope_bindings(scope: cst.Module | cst.FunctionDef | cst.ClassDef) -> Counter[str]:
    """Bindings made directly in scope: nested functions and classes count by name only,
    their bodies are other scopes. A function's parameters count as bindings."""
    counter = _Counter(scope)
    if isinstance(scope, cst.FunctionDef):
        for param in (*scope.params.posonly_params, *scope.params.params, *scope.params.kwonly_params):
            counter.counts[param.name.value] += 1
        for star in (scope.params.star_arg, scope.params.star_kwarg):
            if isinstance(star, cst.Param):
                counter.counts[star.name.value] += 1
    if isinstance(scope, cst.Module):
        for stmt in scope.body:
            stmt.visit(counter)
    else:
        scope.body.visit(counter)
    counter.counts.update(counter.packages)  # `import a`, `import a.b`, `import a.c`: one `a`
    return counter.counts


def declared_global(module: cst.Module) -> set[str]:
    """Names some function declares `global`: it may rebind them at any time."""
    names: set[str] = set()

    class Reader(cst.CSTVisitor):
        def visit_Global(self, node: cst.Global) -> None:
            names.update(item.name.value for item in node.names)

    module.visit(Reader())
    return names


class _Counter(cst.CSTVisitor):
    def __init__(self, scope: cst.CSTNode) -> None:
        self.scope = scope
        self.counts: Counter[str] = Counter()
        self.packages: set[str] = set()  # heads bound by plain `import a.b`: always the package a

    def _bind(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.counts[target.value] += 1
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.counts[node.name.value] += 1
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.counts[node.name.value] += 1
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._bind(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind(node.name.name)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if alias.asname is not None:
                self._bind(alias.asname.name)
                continue
            head: cst.BaseExpression = alias.name
            while isinstance(head, cst.Attribute):  # `import a.b` binds `a`
                head = head.value
            if isinstance(head, cst.Name):
                self.packages.add(head.value)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            # Not counted: what it binds is unknown without the other module, and one placed
            # before the class (where star imports stand) is rebound by the class statement.
            return
        for alias in node.names:
            self._bind(alias.asname.name if alias.asname is not None else alias.name)

    def visit_Del(self, node: cst.Del) -> None:
        self._bind(node.target)


def assigned_attributes(module: cst.Module) -> set[str]:
    """Attribute names some statement assigns (`self.SpikeFn = ...`, `LIF.SpikeFn = ...`,
    `setattr(obj, "SpikeFn", ...)`): an instance or a class may then hold another value there."""
    names: set[str] = set()

    class Reader(cst.CSTVisitor):
        def _target(self, target: cst.BaseExpression) -> None:
            if isinstance(target, cst.Attribute):
                names.add(target.attr.value)
            elif isinstance(target, (cst.Tuple, cst.List)):
                for element in target.elements:
                    self._target(element.value)

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            self._target(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            self._target(node.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            self._target(node.target)

        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == "setattr" and len(node.args) > 1:
                name = node.args[1].value
                if isinstance(name, cst.SimpleString):
                    names.add(name.evaluated_value if isinstance(name.evaluated_value, str) else "")

    module.visit(Reader())
    return names


def base_names(module: cst.Module) -> set[str]:
    """The last part of every class base in the module (`LIF`, `neurons.LIF`): a class a base
    names may have a subclass here that overrides what it holds."""
    names: set[str] = set()

    class Reader(cst.CSTVisitor):
        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            for base in node.bases:
                value = base.value
                if isinstance(value, cst.Name):
                    names.add(value.value)
                elif isinstance(value, cst.Attribute):
                    names.add(value.attr.value)

    module.visit(Reader())
    return names


Alias = TypeVar("Alias", cst.Assign, cst.AnnAssign)


def static_alias(assignment: Alias) -> Alias:
    """`spike_fn = Spike.apply` in a class body: a custom Function's apply is a bound method,
    which a class attribute keeps as it is, while a plain function (the new function, or the
    shim's apply) would become a method and receive `self`. staticmethod keeps it plain."""
    assert assignment.value is not None
    return assignment.with_changes(value=cst.Call(func=cst.Name("staticmethod"), args=[cst.Arg(assignment.value)]))


def is_apply_of(node: cst.BaseExpression | None, classes: set[str]) -> bool:
    """`Cls.apply`, `Cls().apply`, `Owner.Cls.apply` or `self.Cls.apply` for one of classes."""
    if not (isinstance(node, cst.Attribute) and node.attr.value == "apply"):
        return False
    owner = node.value
    if isinstance(owner, cst.Call) and not owner.args:
        owner = owner.func
    if isinstance(owner, cst.Attribute):
        owner = owner.attr
    return isinstance(owner, cst.Name) and owner.value in classes


class ScopeChain:
    """The module, functions and classes around the node a transformer visits (outermost
    first), and what a name read there means. Each scope's bindings are counted once."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.scopes: list[cst.Module | cst.FunctionDef | cst.ClassDef] = [module]
        self.rebound = declared_global(module)
        self._counts: dict[int, Counter[str]] = {}

    def counts(self, scope: cst.Module | cst.FunctionDef | cst.ClassDef) -> Counter[str]:
        if id(scope) not in self._counts:
            self._counts[id(scope)] = scope_bindings(scope)
        return self._counts[id(scope)]

    def enter(self, scope: cst.FunctionDef | cst.ClassDef) -> None:
        self.scopes.append(scope)

    def leave(self) -> None:
        self.scopes.pop()

    def binder(self, name: str) -> cst.Module | cst.FunctionDef | cst.ClassDef | None:
        """The nearest scope binding name, as Python resolves a read here: a class body's names
        are not visible in its methods. None when no scope does (a builtin, or nothing)."""
        for depth, scope in enumerate(reversed(self.scopes)):
            if isinstance(scope, cst.ClassDef) and depth > 0:
                continue
            if self.counts(scope)[name]:
                return scope
        return None

    def means_one_thing(self, name: str, scope: cst.Module | cst.FunctionDef | cst.ClassDef) -> bool:
        """Whether scope binds name once, and no function may rebind it with `global`."""
        return self.counts(scope)[name] == 1 and name not in self.rebound

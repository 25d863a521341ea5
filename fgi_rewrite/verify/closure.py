"""What `verify` loads instead of a module it must not or cannot import: the class's dependency
closure, read with libcst in the planning process (no torch, nothing executed).

A training script runs at import (it loads data, builds a SummaryWriter, trains), and a module
whose other imports are missing (tensorboard, nir) or whose data files are absent fails to
import, although the class under test needs none of that. `runs_code_at_import` decides,
statically and conservatively, whether importing a module would run more than definitions;
`closure_source` keeps only the top-level statements the class needs (imports, constants,
helper functions and classes, transitively), each at its original line, so that tracebacks and
`torch.jit.script` point at the real source.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence

import libcst as cst
from libcst.metadata import Assignment, GlobalScope, MetadataWrapper, PositionProvider, ScopeProvider

from fgi_rewrite.analysis.discovery import dotted_name

# Calls that only build values (tensors, numbers, types, paths, loggers): a module whose top
# level calls nothing else defines things and runs no script.
_QUIET_MODULES = ("torch", "math", "cmath", "numpy", "functools", "collections", "typing", "typing_extensions",
                  "enum", "dataclasses", "itertools", "operator", "re", "string", "fractions", "decimal", "abc",
                  "numbers", "types", "copy", "os.path", "os.environ", "os.getenv", "sys.path", "pathlib",
                  "warnings", "logging")
# ...unless they read or write files, download, seed or change global torch settings.
_LOUD_PARTS = frozenset({
    "load", "loadtxt", "genfromtxt", "fromfile", "save", "savez", "savetxt", "manual_seed", "seed", "set_device",
    "set_default_dtype", "set_default_device", "set_default_tensor_type", "set_num_threads", "set_printoptions",
    "set_num_interop_threads", "set_grad_enabled", "use_deterministic_algorithms", "hub", "data", "distributed",
    "tensorboard", "download", "basicConfig", "FileHandler", "open", "mkdir", "makedirs", "remove", "unlink",
    "rmtree", "touch", "write_text", "write_bytes", "system",
})
_QUIET_BUILTINS = frozenset({
    "int", "float", "complex", "bool", "str", "bytes", "tuple", "list", "dict", "set", "frozenset", "range", "len",
    "min", "max", "abs", "round", "sum", "sorted", "reversed", "enumerate", "zip", "isinstance", "issubclass",
    "getattr", "hasattr", "object", "property", "staticmethod", "classmethod", "type", "slice", "divmod", "pow",
})
_BUILTINS = frozenset(dir(builtins)) | {"__file__", "__path__", "__builtins__"}


def _aliases(module: cst.Module) -> dict[str, str]:
    """Local name -> the module or object it imports (`import numpy as np` -> np: numpy),
    from imports at the top level and inside its `try`/`if` blocks."""
    found: dict[str, str] = {}

    class Imports(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Import(self, node: cst.Import) -> None:
            for alias in node.names:
                name = dotted_name(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    found[alias.asname.name.value] = name
                else:
                    found[name.split(".")[0]] = name.split(".")[0]

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
                return  # the module's own package: not a known quiet module
            origin = dotted_name(node.module) or ""
            for alias in node.names:
                name = dotted_name(alias.name) or ""
                local = alias.asname.name.value if alias.asname is not None and isinstance(
                    alias.asname.name, cst.Name) else name
                found[local] = f"{origin}.{name}"

    module.visit(Imports())
    return found


class _Quiet:
    """Whether expressions and top-level statements only define things."""

    def __init__(self, module: cst.Module) -> None:
        self.aliases = _aliases(module)

    def call(self, node: cst.Call) -> bool:
        name = dotted_name(node.func)
        if name is None:
            # A method of a quiet value: torch.zeros(3).float(), Path(__file__).parent.resolve().
            func = node.func
            return isinstance(func, cst.Attribute) and func.attr.value not in _LOUD_PARTS and \
                self.expression(func.value)
        head, _, rest = name.partition(".")
        if head in self.aliases:
            name = ".".join(filter(None, (self.aliases[head], rest)))
        elif not rest:
            return name in _QUIET_BUILTINS
        if any(part in _LOUD_PARTS for part in name.split(".")):
            return False
        return any(name == root or name.startswith(root + ".") for root in _QUIET_MODULES)

    def expression(self, node: cst.CSTNode | None) -> bool:
        if node is None:
            return True
        checker = self

        class Calls(cst.CSTVisitor):
            quiet = True

            def visit_Lambda(self, node: cst.Lambda) -> bool:
                return False  # its body runs when called, not at import

            def visit_Call(self, node: cst.Call) -> None:
                self.quiet &= checker.call(node)

            def visit_Await(self, node: cst.Await) -> None:
                self.quiet = False

            def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
                self.quiet &= checker.expression(node.value)

        visitor = Calls()
        node.visit(visitor)
        return visitor.quiet

    def small(self, node: cst.BaseSmallStatement) -> bool:
        if isinstance(node, (cst.Import, cst.ImportFrom, cst.Pass, cst.Global, cst.Nonlocal, cst.Del)):
            return True
        if isinstance(node, cst.Expr):
            value = node.value
            if isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis)):
                return True  # a docstring
            return isinstance(value, cst.Call) and self.expression(value)  # warnings.filterwarnings, sys.path
        if isinstance(node, cst.Assign):
            return self.expression(node.value)
        if isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            return self.expression(node.value)
        if isinstance(node, cst.Assert):
            return self.expression(node.test) and self.expression(node.msg)
        if isinstance(node, cst.Raise):  # `except ImportError: raise ...`: the import fails
            return self.expression(node.exc)
        return False

    def first_loud(self, body: Sequence[cst.CSTNode]) -> cst.CSTNode | None:
        """The first statement in `body` that runs more than definitions, if any."""
        for statement in body:
            loud = self.statement(statement)
            if loud is not None:
                return loud
        return None

    def statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        if isinstance(node, cst.SimpleStatementLine):
            return next((small for small in node.body if not self.small(small)), None)
        if isinstance(node, cst.FunctionDef):
            parameters = [*node.params.params, *node.params.kwonly_params, *node.params.posonly_params]
            header = [d.decorator for d in node.decorators] + [p.default for p in parameters if p.default]
            return next((e for e in header if not self.expression(e)), None)
        if isinstance(node, cst.ClassDef):
            header = [d.decorator for d in node.decorators] + [a.value for a in (*node.bases, *node.keywords)]
            loud_header = next((e for e in header if not self.expression(e)), None)
            if loud_header is not None:
                return loud_header
            return self.first_loud(node.body.body) if isinstance(node.body, cst.IndentedBlock) else \
                self.statement(node.body)
        if isinstance(node, cst.SimpleStatementSuite):
            return next((small for small in node.body if not self.small(small)), None)
        if isinstance(node, cst.If):
            if is_main_guard(node):
                return None
            if not self.expression(node.test):
                return node
            return self.block(node.body) or (self.statement(node.orelse) if node.orelse is not None else None)
        if isinstance(node, cst.Else):
            return self.block(node.body)
        if isinstance(node, (cst.Try, cst.TryStar)):
            blocks = [node.body, *(h.body for h in node.handlers),
                      *(part.body for part in (node.orelse, node.finalbody) if part is not None)]
            if not all(self.expression(h.type) for h in node.handlers):
                return node
            return next((loud for loud in map(self.block, blocks) if loud is not None), None)
        return node  # for, while, with, match, async: a script

    def block(self, node: cst.BaseSuite) -> cst.CSTNode | None:
        return self.first_loud(node.body) if isinstance(node, cst.IndentedBlock) else self.statement(node)


def is_main_guard(node: cst.CSTNode) -> bool:
    """`if __name__ == "__main__":`, in either order."""
    if not isinstance(node, cst.If) or not isinstance(node.test, cst.Comparison):
        return False
    test = node.test
    if len(test.comparisons) != 1 or not isinstance(test.comparisons[0].operator, cst.Equal):
        return False
    sides = [test.left, test.comparisons[0].comparator]
    names = [s for s in sides if isinstance(s, cst.Name) and s.value == "__name__"]
    strings = [s for s in sides if isinstance(s, cst.SimpleString) and s.evaluated_value == "__main__"]
    return len(names) == 1 and len(strings) == 1


def runs_code_at_import(module: cst.Module) -> int | None:
    """The line of the first top-level statement (or class-body statement) that runs more than
    definitions: anything but imports, def/class, assignments of literals or of calls that only
    build values (torch, math...), docstrings, `if __name__ == "__main__":` and
    `try: import x / except ImportError: ...`. None when importing it only defines things."""
    loud = _Quiet(module).first_loud(module.body)
    if loud is None:
        return None
    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)[loud].start.line


class _Nodes(cst.CSTVisitor):
    def __init__(self) -> None:
        self.ids: list[int] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.ids.append(id(node))
        return True


def _sys_path_call(statement: cst.CSTNode) -> bool:
    """`sys.path.append(...)` / `.insert(...)`: needed before the imports that rely on it."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    return any(isinstance(s, cst.Expr) and isinstance(s.value, cst.Call)
               and (dotted_name(s.value.func) or "").startswith("sys.path.") for s in statement.body)


def _attribute_roots(statement: cst.CSTNode) -> set[str]:
    """Names whose attributes or items a top-level assignment sets (`Spike.alpha = 2.0`)."""
    roots: set[str] = set()
    if not isinstance(statement, cst.SimpleStatementLine):
        return roots
    for small in statement.body:
        targets: list[cst.BaseExpression] = [t.target for t in small.targets] if isinstance(small, cst.Assign) else \
            [small.target] if isinstance(small, (cst.AnnAssign, cst.AugAssign)) else []
        for target in targets:
            while isinstance(target, (cst.Attribute, cst.Subscript)):
                target = target.value
                if isinstance(target, cst.Name):
                    roots.add(target.value)
    return roots


class Closures:
    """The dependency closures of a module's top-level names; the scope analysis (the costly
    part) is done once per module."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.body = body = list(module.body)
        scopes = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
        global_scope = next((s for s in scopes.values() if isinstance(s, GlobalScope)), None)
        owner: dict[int, int] = {}
        for index, statement in enumerate(body):
            nodes = _Nodes()
            statement.visit(nodes)
            owner.update(dict.fromkeys(nodes.ids, index))
        self.binders: dict[str, set[int]] = {}
        if global_scope is not None:
            for name in {a.name for a in global_scope.assignments}:
                for assignment in global_scope.assignments[name]:
                    if isinstance(assignment, Assignment) and id(assignment.node) in owner:
                        self.binders.setdefault(name, set()).add(owner[id(assignment.node)])
        stars = {i for i, s in enumerate(body) if isinstance(s, cst.SimpleStatementLine)
                 and any(isinstance(x, cst.ImportFrom) and isinstance(x.names, cst.ImportStar) for x in s.body)}
        self.uses: dict[int, set[int]] = {}
        self.names: dict[int, set[tuple[int, str | None]]] = {}  # statement -> (statement, name) it reads
        for scope in {s for s in scopes.values() if s is not None}:
            for access in scope.accesses:
                reader = owner.get(id(access.node))
                if reader is None:
                    continue
                found = {owner[id(r.node)] for r in access.referents
                         if isinstance(r, Assignment) and r.scope is global_scope and id(r.node) in owner}
                if not found and not access.referents and getattr(access.node, "value", "") not in _BUILTINS:
                    found = stars  # perhaps bound by a star import
                self.uses.setdefault(reader, set()).update(found)
                read_name = getattr(access.node, "value", None)
                for other in found:
                    self.names.setdefault(reader, set()).add((other, read_name))
        self.always = {i for i, s in enumerate(body) if _sys_path_call(s) or (
            isinstance(s, cst.SimpleStatementLine) and any(
                isinstance(x, cst.ImportFrom) and x.module is not None and dotted_name(x.module) == "__future__"
                for x in s.body))}

    def source(self, roots: Iterable[str]) -> str | None:
        """A module holding only the top-level statements the names `roots` need, transitively,
        in source order and each at its original line (the others are blank lines).
        `from __future__` imports and `sys.path` set-up are kept; `if __name__ == "__main__":`
        never. None when no root is defined at the top level."""
        body, binders = self.body, self.binders
        start = {i for name in roots for i in binders.get(name.split(".")[0], ())}
        if not start:
            return None
        needed = _reach(start | self.always, self.uses)
        while True:  # assignments to attributes of the needed classes and functions, and what they need
            defined = {name for name, where in binders.items()
                       if any(i in needed and isinstance(body[i], (cst.ClassDef, cst.FunctionDef)) for i in where)}
            more = {i for i, s in enumerate(body) if i not in needed and _attribute_roots(s) & defined}
            if not more:
                break
            needed = _reach(needed | more, self.uses)
        needed = {i for i in needed if not is_main_guard(body[i])}
        read: dict[int, set[str | None]] = {}
        for i in needed:
            for other, name in self.names.get(i, ()):
                read.setdefault(other, set()).add(name)
        return _at_original_lines(self.module, body, {i: read.get(i, set()) for i in needed})


def closure_source(module: cst.Module, roots: Iterable[str]) -> str | None:
    """The dependency closure of `roots` in `module` (see Closures.source)."""
    return Closures(module).source(roots)


def _reach(start: set[int], uses: dict[int, set[int]]) -> set[int]:
    needed, stack = set(start), list(start)
    while stack:
        for other in uses.get(stack.pop(), ()):
            if other not in needed:
                needed.add(other)
                stack.append(other)
    return needed


def _bound(alias: cst.ImportAlias, from_import: bool) -> str | None:
    if alias.asname is not None:
        return alias.asname.name.value if isinstance(alias.asname.name, cst.Name) else None
    name = dotted_name(alias.name) or ""
    return name if from_import else name.split(".")[0]


def _only_read(statement: cst.CSTNode, read: set[str | None]) -> cst.CSTNode:
    """An import statement with only the names that are read (`import os, nir` -> `import os`)."""
    if not isinstance(statement, cst.SimpleStatementLine) or None in read:
        return statement
    body: list[cst.BaseSmallStatement] = []
    for small in statement.body:
        if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
            if isinstance(small, cst.ImportFrom) and dotted_name(small.module or cst.Name("_")) == "__future__":
                body.append(small)
                continue
            kept = [a for a in small.names if _bound(a, isinstance(small, cst.ImportFrom)) in read]
            if not kept:
                continue
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            small = small.with_changes(names=kept)
        body.append(small)
    if not body:
        return statement  # none of its names is read: a root re-exported by an import, kept whole
    body[-1] = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
    return statement.with_changes(body=body)


def _at_original_lines(module: cst.Module, body: Sequence[cst.CSTNode], needed: dict[int, set[str | None]]) -> str:
    parts = ["\n" * len(module.header)]  # the comments and blank lines above the first statement
    for index, statement in enumerate(body):
        code = module.code_for_node(statement)
        if index in needed:
            kept = module.code_for_node(_only_read(statement, needed[index]))
            parts.append(kept + "\n" * (code.count("\n") - kept.count("\n")))
        else:
            parts.append("\n" * code.count("\n"))
    return "".join(parts)

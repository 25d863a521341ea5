"""Find every torch.autograd.Function subclass in a parsed module, without running it.

Base classes are resolved through the module's own import table rather than libcst's
ScopeProvider: resolving scopes costs about ten times a bare parse, and an import table
(every `import`/`from ... import` anywhere in the file, plus module-level aliases such as
`F_ = torch.autograd.Function`) answers the only question asked here: which dotted name
does this base expression spell?
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

FUNCTION_BASES = frozenset(
    {
        "torch.autograd.Function",
        "torch.autograd.function.Function",
        "torch.autograd.function.InplaceFunction",
        "torch.autograd.function.FunctionBase",
    }
)

_EMPTY = cst.Module(body=[])


def code_of(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` -> "a.b.c"; anything that is not a plain dotted name -> None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted_name(node.value)
        return f"{head}.{node.attr.value}" if head else None
    return None


def _module_name(node: cst.BaseExpression | None) -> str:
    if node is None:
        return ""
    return dotted_name(node) or ""


class ImportTable(cst.CSTVisitor):
    """Local name -> fully qualified dotted name, for every import in the file."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = dotted_name(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.names[alias.asname.name.value] = full
            else:
                head = full.split(".")[0]
                self.names.setdefault(head, head)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        dots = "." * len(node.relative)
        module = dots + _module_name(node.module)
        for alias in node.names:
            name = alias.name.value if isinstance(alias.name, cst.Name) else code_of(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.names[local] = f"{module}.{name}" if module else name

    def qualify(self, dotted: str) -> str:
        head, _, rest = dotted.partition(".")
        full = self.names.get(head)
        if full is None:
            return dotted
        return f"{full}.{rest}" if rest else full


@dataclass
class ClassInfo:
    node: cst.ClassDef
    qualname: str
    # Bases defined in the same module (other Function classes or plain mixins).
    local_bases: list[cst.ClassDef] = field(default_factory=list)
    # Bases that are neither torch's Function nor local classes (imported from elsewhere).
    foreign_bases: list[str] = field(default_factory=list)
    enclosing_class: cst.ClassDef | None = None
    # Function classes of other given files it derives from: converted only together.
    cross_file_bases: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.node.name.value


class _ModuleFacts(ImportTable):
    """One pass over the statements: imports, classes (with __qualname__) and functions.

    Expressions are never entered: they cannot hold statements, and skipping them makes the
    pass several times cheaper on large files.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, cst.CSTNode]] = []
        self.classes: list[tuple[cst.ClassDef, str, cst.ClassDef | None]] = []
        self.functions: dict[str, cst.FunctionDef] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.BaseExpression):
            return False
        return super().on_visit(node)

    def _qualname(self, name: str) -> str:
        parts: list[str] = []
        for part, node in self.stack:
            parts.append(part)
            if isinstance(node, cst.FunctionDef):
                parts.append("<locals>")
        return ".".join([*parts, name])

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        enclosing = self.stack[-1][1] if self.stack else None
        outer = enclosing if isinstance(enclosing, cst.ClassDef) else None
        self.classes.append((node, self._qualname(node.name.value), outer))
        self.stack.append((node.name.value, node))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # First definition wins, module-level ones first (collected before the walk): helpers
        # are looked up by name, and a method of the same name must not shadow them.
        self.functions.setdefault(node.name.value, node)
        self.stack.append((node.name.value, node))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.stack.pop()


def _module_aliases(module: cst.Module, imports: ImportTable) -> dict[str, str]:
    """Module-level `Alias = some.dotted.Name` assignments, qualified."""
    aliases: dict[str, str] = {}
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
                value = dotted_name(small.value)
                if isinstance(target, cst.Name) and value:
                    aliases[target.value] = imports.qualify(value)
    return aliases


@dataclass
class ModuleIndex:
    """What analysis needs to know about the module around a class."""

    module: cst.Module
    imports: ImportTable
    classes_by_name: dict[str, list[cst.ClassDef]]
    functions_by_name: dict[str, cst.FunctionDef]
    classes_in_order: list[cst.ClassDef]  # every class, in source order


def find_function_classes(module: cst.Module, foreign_function_bases: frozenset[str] = frozenset()
                          ) -> tuple[list[ClassInfo], ModuleIndex]:
    """foreign_function_bases: base spellings that name Function classes of other given files."""
    facts = _ModuleFacts()
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            facts.functions[stmt.name.value] = stmt
    module.visit(facts)
    imports = facts
    aliases = _module_aliases(module, imports)

    by_name: dict[str, list[cst.ClassDef]] = {}
    for node, _, _ in facts.classes:
        by_name.setdefault(node.name.value, []).append(node)

    def qualify(expr: cst.BaseExpression) -> str | None:
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        if dotted in aliases:
            return aliases[dotted]
        return imports.qualify(dotted)

    verdict: dict[int, bool] = {}

    def is_function_class(node: cst.ClassDef, seen: frozenset[int] = frozenset()) -> bool:
        key = id(node)
        if key in verdict:
            return verdict[key]
        if key in seen:
            return False
        result = False
        for arg in node.bases:
            full = qualify(arg.value)
            if full is None:
                continue
            if full in FUNCTION_BASES or dotted_name(arg.value) in foreign_function_bases:
                result = True
                break
            local = by_name.get(dotted_name(arg.value) or "", [])
            if any(is_function_class(base, seen | {key}) for base in local if base is not node):
                result = True
                break
        verdict[key] = result
        return result

    found: list[ClassInfo] = []
    for node, qualname, outer in facts.classes:
        if not is_function_class(node):
            continue
        info = ClassInfo(node=node, qualname=qualname, enclosing_class=outer)
        for arg in node.bases:
            full = qualify(arg.value)
            if full is None or full in FUNCTION_BASES:
                continue
            local = [c for c in by_name.get(dotted_name(arg.value) or "", []) if c is not node]
            if local:
                info.local_bases.append(local[-1])
            elif dotted_name(arg.value) in foreign_function_bases:
                info.cross_file_bases.append(full)
            else:
                info.foreign_bases.append(full)
        found.append(info)
    index = ModuleIndex(module, imports, by_name, facts.functions, [c for c, _, _ in facts.classes])
    return found, index


def torch_name(index: ModuleIndex) -> str | None:
    """The module's own name for torch (`import torch as th` -> "th"), if it has one."""
    if index.imports.names.get("torch") == "torch":
        return "torch"
    return next((local for local, full in sorted(index.imports.names.items()) if full == "torch"), None)

"""Point call sites in other files at the new functions.

After every file has been rewritten on its own, a class converted in `pkg/autograd.py` may
still be called as `X.apply(...)` elsewhere: through `from .autograd import Spike as X`,
`import pkg.autograd as ag` (`ag.Spike.apply`), or a package re-export such as
`from .autograd import *` in `pkg/__init__.py`. Those calls keep working through the shim;
this pass makes them call the function directly and imports it where needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from fgi_rewrite.analysis.discovery import ImportTable, dotted_name
from fgi_rewrite.analysis.project import absolute_module, module_name_of
from fgi_rewrite.analysis.syntax import bound_names
from fgi_rewrite.emit.bindings import Alias, ScopeChain, declared_global, is_apply_of, scope_bindings, static_alias


def module_name(path: Path) -> str:
    """Dotted module name: the file's stem under every enclosing package directory."""
    return module_name_of(path.resolve())


@dataclass
class _ModuleFacts:
    stars: list[str] = field(default_factory=list)  # modules re-exported with `import *`
    has_all: bool = False


def _facts(module: cst.Module, name: str, is_package: bool) -> _ModuleFacts:
    facts = _ModuleFacts()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar):
                target = dotted_name(small.module) if small.module is not None else ""
                facts.stars.append(absolute_module(name, len(small.relative), target or "", is_package))
            if isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                facts.has_all |= any(isinstance(t, cst.Name) and t.value == "__all__" for t in targets)
    return facts


class Exports:
    """Which function replaces `module.Name`, following star re-exports."""

    def __init__(self, converted: dict[str, dict[str, str]], facts: dict[str, _ModuleFacts]) -> None:
        self.converted = converted
        self.facts = facts
        self.names = {name for classes in converted.values() for name in classes}  # every converted class


    def function_for(self, module: str, name: str, depth: int = 0) -> str | None:
        if name in self.converted.get(module, {}):
            return self.converted[module][name]
        if depth > 8 or module not in self.facts:
            return None
        for star in self.facts[module].stars:
            origin_has_all = self.facts.get(star, _ModuleFacts()).has_all
            function = self.function_for(star, name, depth + 1)
            # `import *` passes only __all__, or else the public names.
            if function is not None and not origin_has_all and not function.startswith("_"):
                return function
        return None


class _CallSites(cst.CSTTransformer):
    def __init__(self, tree: cst.Module, module: str, is_package: bool, exports: Exports, imports: ImportTable,
                 bound: set[str]) -> None:
        self.module = module
        self.is_package = is_package
        self.exports = exports
        self.imports = imports
        self.bound = bound
        self.local: dict[str, str] = {}  # local class name -> function to import beside it
        self.needed: dict[int, list[str]] = {}  # id(ImportFrom) -> functions to add
        self.changed = False
        # A call reads the imported name only where it means the import (emit/bindings.py).
        self.chain = ScopeChain(tree)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.chain.enter(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self.chain.leave()
        return updated_node

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.chain.enter(node)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self.chain.leave()
        return updated_node

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        return self._class_alias(original_node.value, updated_node)

    def leave_AnnAssign(self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign) -> cst.AnnAssign:
        return self._class_alias(original_node.value, updated_node) if original_node.value is not None \
            else updated_node

    def _class_alias(self, original: cst.BaseExpression, updated: Alias) -> Alias:
        """A class attribute that now holds the function: see bindings.static_alias."""
        if isinstance(self.chain.scopes[-1], cst.ClassDef) and updated.value is not original \
                and is_apply_of(original, self.exports.names):
            self.changed = True
            return static_alias(updated)
        return updated

    def _module_name_here(self, name: str) -> bool:
        """Whether `name` read here is the module-level binding, made once and never declared
        global (no enclosing function binds it)."""
        module = self.chain.module
        return self.chain.binder(name) is module and self.chain.means_one_thing(name, module)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar) or len(self.chain.scopes) > 1:  # an import in a function: a local
            return
        target = dotted_name(node.module) if node.module is not None else ""
        source = absolute_module(self.module, len(node.relative), target or "", self.is_package)
        for alias in node.names:
            if not isinstance(alias.name, cst.Name):
                continue
            function = self.exports.function_for(source, alias.name.value)
            if function is None or function in self.bound:
                continue
            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) \
                else alias.name.value
            self.local[local] = function
            self.needed.setdefault(id(node), []).append(function)

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom) -> cst.ImportFrom:
        functions = self.needed.get(id(original_node))
        if not functions or isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        present = {a.name.value for a in updated_node.names if isinstance(a.name, cst.Name)}
        names = list(updated_node.names)
        for function in functions:
            if function not in present:
                last = names[-1]
                names[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                names.append(cst.ImportAlias(name=cst.Name(function)))
                present.add(function)
                self.changed = True
        return updated_node.with_changes(names=names)

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        if updated_node.attr.value != "apply":
            return updated_node
        target = updated_node.value
        if isinstance(target, cst.Name) and target.value in self.local and self._module_name_here(target.value):
            self.changed = True
            return cst.Name(self.local[target.value])
        if isinstance(target, cst.Attribute):
            prefix = dotted_name(target.value)
            # `ag.Spike.apply` / `pkg.autograd.Spike.apply`: the prefix must name an imported module.
            if prefix is not None and prefix.split(".")[0] in self.imports.names \
                    and self._module_name_here(prefix.split(".")[0]):
                function = self.exports.function_for(self.imports.qualify(prefix), target.attr.value)
                if function is not None:
                    self.changed = True
                    return target.with_changes(attr=cst.Name(function))
        return updated_node


def patch_call_sites(sources: dict[Path, bytes], converted: dict[Path, dict[str, str]]) -> dict[Path, bytes]:
    """Return the files whose call sites changed, with their new content."""
    parsed: dict[Path, cst.Module] = {}
    names: dict[Path, str] = {}
    facts: dict[str, _ModuleFacts] = {}
    # Only files that import a converted class or call its apply, or re-export a module
    # holding one with `import *`, need parsing.
    names_pattern = b"|".join(re.escape(n.encode()) for classes in converted.values() for n in classes)
    # the last part of each converted module's name (a package's __init__.py: the package)
    last = [(p.parent.name if p.name == "__init__.py" else p.stem).encode() for p in converted]
    stems = b"|".join(re.escape(name) for name in last)
    wanted = re.compile(rb"\b(?:" + names_pattern + rb")\s*(?:\(\s*\))?\s*\.\s*apply\b|import[^\n]*\b(?:"
                        + names_pattern + rb")\b|from\s+[\w.]*\b(?:" + stems + rb")\s+import\s+\*")
    # A plain substring test first: on a tree of thousands of files it rules out nearly all of
    # them far faster than the regex does.
    needles = [n.encode() for classes in converted.values() for n in classes] + last
    mentioning = {path for path, data in sources.items()
                  if any(needle in data for needle in needles) and wanted.search(data)}
    if not mentioning:
        # Nothing names a converted class outside its own module (its calls there are done
        # already): the usual case, where parsing the converted modules again would be wasted.
        return {}
    for path, data in sources.items():
        if path not in converted and path not in mentioning:
            continue
        try:
            parsed[path] = cst.parse_module(data)
        except (cst.ParserSyntaxError, UnicodeDecodeError, LookupError, SyntaxError):
            continue
        names[path] = module_name(path)
        facts[names[path]] = _facts(parsed[path], names[path], path.name == "__init__.py")
    # A class name the converting module binds twice (defined again, assigned) may not be the
    # class an importer gets: its importers keep `.apply`.
    by_module: dict[str, dict[str, str]] = {}
    for path, classes in converted.items():
        if path in names and classes:
            bound, rebound = scope_bindings(parsed[path]), declared_global(parsed[path])
            by_module[names[path]] = {name: function for name, function in classes.items()
                                      if bound[name] == 1 and name not in rebound}
    if not by_module:
        return {}
    exports = Exports(by_module, facts)
    changed: dict[Path, bytes] = {}
    for path, module in parsed.items():
        imports = ImportTable()
        module.visit(imports)
        transformer = _CallSites(module, names[path], path.name == "__init__.py", exports, imports, bound_names(module))
        new = module.visit(transformer)
        if transformer.changed:
            changed[path] = new.bytes
    return changed

"""What the given files do with each other, which a file's own verdict must respect.

scan and rewrite analyse one file at a time (in worker processes), but three facts live
across files: a module another file star-imports (a new public name or a dropped import
would change what the importer sees), a Function class another file subclasses (it must
stay a Function), and a class whose Function base lives in another file (it is a Function
too, and is converted only with its base). They are read here with regular expressions, and
`ast` for the few files whose class statements name a Function class of another file:
nothing is imported, and it costs about 3% of a scan of torch's tree.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Class statements with their bases: "class" as a literal prefix keeps the search fast (an
# anchored multi-line pattern is seven times slower on torch's tree). A Function class is one
# whose bases spell the word Function (torch.autograd.Function, autograd.Function, Function).
_CLASS_STATEMENT = re.compile(rb"class[ \t]+(\w+)[ \t]*\(([^)]*)")
_WORD = re.compile(rb"\w+")
_STAR = re.compile(rb"import[ \t]*\(?[ \t]*\*")
_STAR_FROM = re.compile(rb"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]*\(?[ \t]*\*", re.MULTILINE)
_ALIAS = re.compile(rb"\bFunction[ \t]+as[ \t]+(\w+)")
_ALIAS_ASSIGNED = re.compile(rb"[ \t]*(\w+)[ \t]*=[ \t]*[\w.]*\bFunction\b")
_FUNCTION_WORD = re.compile(rb"\bFunction\b")


@dataclass(frozen=True)
class FileContext:
    """What other given files do with this one."""

    star_imported: bool = False  # some file does `from this import *`
    subclassed: frozenset[str] = frozenset()  # its classes that another file subclasses
    # Base spellings in this file (`Base`, `mod.Base`) of Function classes of other files.
    function_bases: frozenset[str] = frozenset()


def project_context(files: list[Path]) -> dict[Path, FileContext]:
    """Star imports, subclasses and foreign Function bases across the given files, keyed by
    resolved path."""
    resolved = {f: f.resolve() for f in files}
    # A notebook is never imported: it may import and subclass the others, not the reverse.
    by_module = {module_name_of(path): path for path in resolved.values() if path.suffix != ".ipynb"}
    star: set[Path] = set()
    subclassed: dict[Path, set[str]] = {}
    function_bases: dict[Path, set[str]] = {}
    contents: dict[Path, bytes] = {}
    for file in files:
        try:
            contents[file] = file.read_bytes()
            if file.suffix == ".ipynb":
                from fgi_rewrite.notebooks import source

                contents[file] = source(contents[file])  # its code cells, as one module
        except OSError:
            continue  # reported when the file itself is handled
    statements = {file: _CLASS_STATEMENT.findall(data) for file, data in contents.items()}
    defined = {file: _function_classes(data, statements[file]) for file, data in contents.items()}
    classes = set().union(*defined.values())
    # Only a module that may define a Function class gets rewritten: star imports of others
    # change nothing.
    rewritable = {module_name_of(resolved[file]) for file, found in defined.items() if found}
    for file, data in contents.items():
        importer = module_name_of(resolved[file])
        is_package = file.name == "__init__.py"
        names_a_base = classes and any(not classes.isdisjoint(_WORD.findall(bases)) for _, bases in statements[file])
        stars_a_candidate = _STAR.search(data) and any(
            absolute_module(importer, len(dots), target.decode("ascii", "replace"), is_package) in rewritable
            for dots, target in _STAR_FROM.findall(data))
        if not (names_a_base or stars_a_candidate):
            continue  # the text cannot hold either (a prefilter; the syntax tree decides)
        facts = _read_imports(data, importer, is_package)
        if facts is None:
            continue  # reported when the file itself is handled
        stars, bases = facts
        star.update(by_module[source] for source in stars if source in by_module)
        for spelling, module, name in bases:
            if module in by_module and by_module[module] != resolved[file] and name.encode() in classes:
                subclassed.setdefault(by_module[module], set()).add(name)
                function_bases.setdefault(resolved[file], set()).add(spelling)
    return {path: FileContext(path in star, frozenset(subclassed.get(path, ())),
                              frozenset(function_bases.get(path, ())))
            for path in resolved.values()}


def _function_classes(data: bytes, statements: list[tuple[bytes, bytes]]) -> set[bytes]:
    """Classes of one file whose bases spell Function, an alias of it (`Function as F_`,
    `F_ = torch.autograd.Function`) or another such class of the file. A text prefilter: it
    may name too many (a class in a docstring), never too few."""
    if b"Function" not in data:
        return set()
    known = {b"Function", *_ALIAS.findall(data), *_assigned_aliases(data)}
    found: set[bytes] = set()
    while True:
        more = {name for name, bases in statements if name not in found and not known.isdisjoint(_WORD.findall(bases))}
        if not more:
            return found
        found |= more
        known |= more


def _assigned_aliases(data: bytes) -> list[bytes]:
    """`F_ = torch.autograd.Function`: read from the lines that spell Function (a pattern that
    starts with a name has no literal prefix to search for, and is slow on a large tree)."""
    aliases = []
    for match in _FUNCTION_WORD.finditer(data):
        start = data.rfind(b"\n", 0, match.start()) + 1
        end = data.find(b"\n", match.end())
        line = _ALIAS_ASSIGNED.match(data[start:end if end >= 0 else len(data)])
        if line is not None:
            aliases.append(line.group(1))
    return aliases


def _read_imports(data: bytes, importer: str, is_package: bool
                  ) -> tuple[set[str], list[tuple[str, str, str]]] | None:
    """The modules a file star-imports, and (spelling, module, class) for each class base it
    imports; None when the file does not parse."""
    import ast

    try:
        with warnings.catch_warnings():  # invalid escapes are the file's business, not ours
            warnings.simplefilter("ignore")
            tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError):
        return None
    stars: set[str] = set()
    imported: dict[str, tuple[str, str | None]] = {}  # local name -> (module, name or None)
    statements = list(_statements(tree))
    for node in statements:
        if isinstance(node, ast.ImportFrom):
            source = absolute_module(importer, node.level, node.module or "", is_package)
            for alias in node.names:
                if alias.name == "*":
                    stars.add(source)
                else:
                    imported[alias.asname or alias.name] = (source, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                head = alias.name.split(".")[0]
                imported[alias.asname or head] = (alias.name if alias.asname else head, None)
    bases = []
    for node in statements:
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                target = _imported_class(base, imported)
                if target is not None:
                    bases.append((ast.unparse(base), *target))
    return stars, bases


def absolute_module(module: str, level: int, target: str, is_package: bool) -> str:
    if level == 0:
        return target
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, target] if target else base)


@functools.lru_cache(maxsize=None)
def _is_package(folder: Path) -> bool:
    return (folder / "__init__.py").exists()


def module_name_of(path: Path) -> str:
    """Dotted module name of a resolved path: its stem under every enclosing package folder
    (one filesystem check per folder)."""
    parts = [] if path.name == "__init__.py" else [path.stem]
    folder = path.parent
    while _is_package(folder):
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def _statements(tree: object) -> Iterator[object]:
    """Every statement, nested ones included, without entering expressions (imports and
    class statements are statements; walking every expression node costs several times more)."""
    import ast

    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                stack.extend(c for c in children if isinstance(c, (ast.stmt, ast.excepthandler, ast.match_case)))


def _imported_class(base: object, imported: dict[str, tuple[str, str | None]]) -> tuple[str, str] | None:
    """(module, class name) of a base spelled `Name`, `module.Name` or `package.module.Name`
    (after `import package.module`) through an import."""
    import ast

    if isinstance(base, ast.Name) and base.id in imported:
        module, name = imported[base.id]
        return (module, name) if name is not None else None
    if not isinstance(base, ast.Attribute):
        return None
    path: list[str] = []
    head = base.value
    while isinstance(head, ast.Attribute):
        path.insert(0, head.attr)
        head = head.value
    if not (isinstance(head, ast.Name) and head.id in imported):
        return None
    module, name = imported[head.id]
    return ".".join([module, *([name] if name is not None else []), *path]), base.attr

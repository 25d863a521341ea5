"""How a side of `verify` loads the module of a class (runs in the side process; stdlib only).

As Python would: the search path planned for the file (its own folder for a flat layout, the
folder above its top package, the project root) goes first on sys.path and the module is
imported by name, or by path under a name made from the file's when its name is no module name
(`adapt_srnn_0.844_gpu-v1.py`). A module planned as one that runs code at import is never
imported, and one whose import fails is not retried: the class's dependency closure
(verify/closure.py, built in the planning process) is run as a fresh module instead. A notebook
is no module to import: its code cells, joined by notebooks.py, are run as one. Each side
checks that the module it got is the file it was given, so that a twin never silently runs the
original.
"""

from __future__ import annotations

import importlib
import importlib.util
import keyword
import linecache
import os
import re
import sys
import types
from pathlib import Path
from typing import Any


class LoadError(Exception):
    """The module or the object in it could not be loaded; `loaded` says how it was tried."""

    def __init__(self, message: str, loaded: str) -> None:
        super().__init__(message)
        self.loaded = loaded


def describe(error: BaseException) -> str:
    first = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def isolate() -> None:
    """Drop the working directory `python -m` put first on sys.path (unless fgi_rewrite itself
    comes from there): the modules of a side come from the search path planned for it."""
    import fgi_rewrite

    here = os.path.realpath(os.getcwd())
    own = os.path.realpath(os.path.dirname(os.path.dirname(fgi_rewrite.__file__ or "")))
    if sys.path and sys.path[0] in ("", os.getcwd(), here) and own != here:
        del sys.path[0]


def _add_paths(first: list[str], last: list[str]) -> None:
    for entry in reversed(first):
        if entry in sys.path:
            sys.path.remove(entry)
        sys.path.insert(0, entry)
    sys.path.extend(entry for entry in last if entry not in sys.path)


def _importable(name: str, file: str) -> bool:
    stem = Path(file).stem
    return bool(name) and stem.isidentifier() and all(
        part.isidentifier() and not keyword.iskeyword(part) for part in name.split("."))


def _same_file(module: types.ModuleType, file: str) -> bool:
    origin = getattr(module, "__file__", None)
    return origin is not None and os.path.realpath(origin) == os.path.realpath(file)


def _path_name(name: str, file: str) -> str:
    """A module name for a file loaded by its path: its package's (for relative imports) and
    its file name made an identifier, unused so far."""
    stem = Path(file).stem
    package = name[: -len(stem) - 1] if name.endswith(f".{stem}") else ""
    package = package if package and _importable(package, "package.py") else ""
    stem = re.sub(r"\W", "_", stem)
    stem = f"_{stem}" if not stem or stem[0].isdigit() or keyword.iskeyword(stem) else stem
    candidate = f"{package}.{stem}" if package else stem
    number = 1
    while candidate in sys.modules:
        number += 1
        candidate = f"{package}.{stem}_{number}" if package else f"{stem}_{number}"
    return candidate


def _import(name: str, file: str) -> tuple[types.ModuleType, str]:
    """The module of `file`, imported by name when it has one that is not taken, else by path."""
    if not file:  # a job planned without files: by name, as verify used to
        return importlib.import_module(name), f"import {name}"
    if getattr(sys.modules.get(name), "__fgi_closure__", False):
        del sys.modules[name]  # another class's closure: this class gets its own
    taken = name in sys.modules and not _same_file(sys.modules[name], file)
    if _importable(name, file) and not taken:
        module = importlib.import_module(name)
        if not _same_file(module, file):
            raise LoadError(f"{name} was imported from {getattr(module, '__file__', None) or 'nowhere'}, "
                            f"not from {file}", f"import {name}")
        return module, f"import {name}"
    synthesized = _path_name(name, file)
    package = synthesized.rpartition(".")[0]
    if package:
        importlib.import_module(package)  # so that the file's relative imports resolve
    spec = importlib.util.spec_from_file_location(synthesized, file)
    if spec is None or spec.loader is None:
        raise LoadError(f"cannot load {file}", f"import {synthesized} (by path)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[synthesized] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(synthesized, None)
        raise
    return module, f"import {synthesized} (by path)"


def _closure(name: str, file: str, source: str) -> types.ModuleType:
    """The closure as a fresh module: under the module's own name when it has one (relative
    imports resolve), its source registered with linecache under the file's path (its
    statements sit at their original lines), so tracebacks and torch.jit.script read it."""
    synthesized = name if _importable(name, file) else _path_name(name, file)
    module = types.ModuleType(synthesized)
    module.__file__ = file
    module.__fgi_closure__ = True  # type: ignore[attr-defined]
    if Path(file).name == "__init__.py":
        module.__path__ = [os.path.dirname(file)]
        module.__package__ = synthesized
    else:
        module.__package__ = synthesized.rpartition(".")[0]
    lines = source.splitlines(keepends=True)
    linecache.cache[file] = (len(source), None, lines, file)  # no mtime: kept by checkcache
    code = compile(source, file, "exec", dont_inherit=True)
    sys.modules[synthesized] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        sys.modules.pop(synthesized, None)
        raise
    return module


def load(case: dict[str, Any]) -> tuple[types.ModuleType, Any, str, str]:
    """(module, the object to run, how it was loaded, the file it came from) for one case of a
    side's job; LoadError when neither import nor dependency closure gives it."""
    name, file, source = case["module"], case.get("file") or "", case.get("closure")
    _add_paths(case.get("paths", []), case.get("paths_after", []))
    reason = case.get("closure_reason")
    cells = case.get("notebook")  # a notebook is no module to import: its code cells are run as one
    if reason:
        loaded = f"dependency closure: {reason}"
        if source is None:
            raise LoadError(f"{reason}, and it has no dependency closure for {case['object']}", loaded)
        try:
            module = _closure(name, file, source)
        except (Exception, SystemExit) as error:
            raise LoadError(f"dependency closure failed: {describe(error)}", loaded) from None
    else:
        try:
            if cells is not None:
                module = _closure(name, file, cells)
                loaded = "notebook code cells run as a module (IPython lines commented out)"
            else:
                module, loaded = _import(name, file)
        except LoadError:
            raise
        except (Exception, SystemExit) as error:  # a missing optional module, an absent data file
            failure = describe(error)
            loaded = f"dependency closure: import failed: {failure}"
            if source is None:
                raise LoadError(f"import failed: {failure}", f"import {name}") from None
            try:
                module = _closure(name, file, source)
            except (Exception, SystemExit) as again:
                raise LoadError(f"import failed: {failure}; its dependency closure failed too: {describe(again)}",
                                loaded) from None
    target: Any = module
    for part in case["object"].split("."):
        if not hasattr(target, part):
            raise LoadError(f"{file} defines no {case['object']}", loaded)
        target = getattr(target, part)
    return module, target, loaded, os.path.realpath(file)

"""Which files `scan`/`rewrite PATH...` operate on: walk, filter, deduplicate, order.

This runs in pre-commit hooks on trees of thousands of files, so directories are
listed with os.scandir (whose entries know their type without a stat) and only
symlinks and the PATH arguments themselves are ever stat'ed.
"""

from __future__ import annotations

import errno
import fnmatch
import heapq
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pathspec

from fgi_rewrite.model import FileError, SkippedFile

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".eggs",
    "*.egg-info",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "site-packages",
)

ERROR_CODE = "FGI901"

# spec, how many leading characters of a walk-relative path to drop, what to prepend:
# turns a path relative to the walked root into one relative to the .gitignore's folder.
_Layer = tuple[pathspec.GitIgnoreSpec, int, str]


@dataclass(frozen=True)
class Discovery:
    files: list[Path]
    skipped: list[SkippedFile]
    errors: list[FileError]


class _Dir(NamedTuple):
    path: str  # as the walk reached it (keeps the user's spelling and symlinks)
    rel: str  # relative to the walked root, "/"-separated, "" for the root
    real: str  # canonical path, so each directory is walked once and loops end
    display: str
    layers: tuple[_Layer, ...]
    via_link: bool  # reached through a symlink: its files lose to the same file seen directly


def discover(
    paths: Sequence[str | Path], exclude: Sequence[str] = (), use_gitignore: bool = True
) -> Discovery:
    walker = _Walker(exclude, use_gitignore)
    for path in paths:
        walker.add(os.fspath(path))
    walker.drain_symlinked_dirs()
    return walker.result()


def display_path(path: Path) -> str:
    return _display(os.fspath(path), os.getcwd())


def _display(path: str, cwd: str) -> str:
    # Joined and normalised by hand: os.path.abspath would call getcwd once per file.
    absolute = os.path.normpath(os.path.join(cwd, path))
    prefix = cwd if cwd.endswith(os.sep) else cwd + os.sep
    if absolute == cwd:
        shown = "."
    elif absolute.startswith(prefix):
        shown = absolute[len(prefix):]
    else:
        shown = os.path.normpath(path)
    return shown.replace(os.sep, "/")


def _child(parent: str, name: str) -> str:
    if parent in ("", "."):
        return name
    return parent + name if parent.endswith("/") else parent + "/" + name


def _globs(globs: Iterable[str]) -> re.Pattern[str] | None:
    # One alternation instead of a loop of fnmatch calls: it is tried on every entry.
    parts = [fnmatch.translate(g) for g in globs if g]
    return re.compile("|".join(parts)) if parts else None


def _normalise_glob(glob: str) -> str:
    # `--exclude build/` and `--exclude ./tests/*` mean what the user expects.
    glob = glob.strip()
    while glob.startswith("./"):
        glob = glob[2:]
    return glob.rstrip("/")


_DEFAULT_RE = _globs(DEFAULT_EXCLUDES)


def _ignored(layers: tuple[_Layer, ...], rel: str) -> bool:
    # The deepest .gitignore with an opinion wins, as in git. Directories are checked as
    # the walk reaches them and excluded ones are never entered, which is what makes a
    # file inside an excluded directory impossible to re-include, also as in git.
    for spec, strip, prefix in reversed(layers):
        include = spec.check_file(prefix + rel[strip:]).include
        if include is not None:
            return include
    return False


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    return (exc.strerror or str(exc)).lower()


# Explicit files with these suffixes are read; "" lets an executable script without one in.
_PYTHON_SUFFIXES = frozenset({"", ".py", ".pyi", ".pyw", ".ipynb"})


class _Walker:
    def __init__(self, exclude: Sequence[str], use_gitignore: bool) -> None:
        self.cwd = os.getcwd()
        self.user = _globs(_normalise_glob(g) for g in exclude)
        self.use_gitignore = use_gitignore
        self.seen_dirs: set[str] = set()
        self.excluded = 0  # entries the user's excludes or a .gitignore left out
        # (via_link, display, realpath, path): sorted so the direct spelling of a file wins.
        self.found: list[tuple[bool, str, str, str]] = []
        self.skipped: dict[str, SkippedFile] = {}
        self.errors: dict[tuple[str, str], FileError] = {}
        # Symlinked directories wait until every real directory is walked, so a tree that
        # links to itself reports files under their real names; heap keeps it deterministic.
        self.linked: list[tuple[str, int, _Dir]] = []
        self.gitignores: dict[str, pathspec.GitIgnoreSpec | None] = {}

    def error(self, display: str, message: str) -> None:
        self.errors[(display, message)] = FileError(display, None, None, ERROR_CODE, message)

    def excluded_by_user(self, *candidates: str) -> bool:
        return self.user is not None and any(self.user.match(c) for c in candidates)

    def add(self, path: str) -> None:
        display = _display(path, self.cwd)
        try:
            lst = os.lstat(path)
            is_link = stat.S_ISLNK(lst.st_mode)
            st = os.stat(path) if is_link else lst
        except OSError as exc:
            self.error(display, self.missing_message(path, display, exc))
            return
        name = os.path.basename(os.path.normpath(os.path.join(self.cwd, path)))
        if self.excluded_by_user(name, display):
            return
        if stat.S_ISDIR(st.st_mode):
            real = os.path.realpath(path)
            if real in self.seen_dirs:
                return
            self.seen_dirs.add(real)
            layers = self.parent_layers(real) if self.use_gitignore else ()
            before = len(self.found) + len(self.skipped) + len(self.linked) + self.excluded
            self.walk(_Dir(path, "", real, display, layers, False))
            if len(self.found) + len(self.skipped) + len(self.linked) + self.excluded == before:
                # As ruff warns: a folder given on purpose that holds no Python file at all is a
                # wrong path, not a clean result. (One whose files the settings exclude is fine.)
                self.error(display, f"{display}: no Python files found")
        elif not stat.S_ISREG(st.st_mode):
            # A FIFO or device would block or fail when read; say so now.
            self.error(display, f"{display}: not a regular file")
        elif os.path.splitext(path)[1] not in _PYTHON_SUFFIXES:
            self.error(display, f"{display}: not a Python file (fgi-rewrite reads .py files, .ipynb notebooks, "
                                "and scripts without a suffix)")
        else:
            # Explicit files win over default excludes and .gitignore (like ruff and black),
            # whatever their suffix: the user named them.
            self.found.append((is_link, display, os.path.realpath(path), path))

    @staticmethod
    def missing_message(path: str, display: str, exc: OSError) -> str:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            if os.path.islink(path):
                return f"{display}: broken symbolic link"
            return f"{display}: no such file or directory"
        return f"{display}: {_reason(exc)}"

    def walk(self, top: _Dir) -> None:
        stack = [top]
        while stack:
            d = stack.pop()
            try:
                with os.scandir(d.path) as it:
                    entries = list(it)
            except (FileNotFoundError, NotADirectoryError):
                continue  # removed or replaced since it was listed
            except OSError as exc:
                self.error(d.display, f"{d.display}: cannot read directory ({_reason(exc)})")
                continue
            layers = d.layers
            if self.use_gitignore:
                for entry in entries:
                    if entry.name == ".gitignore":
                        spec = self.read_gitignore(entry.path)
                        if spec is not None:
                            strip = len(d.rel) + 1 if d.rel else 0
                            layers = layers + ((spec, strip, ""),)
                        break
            for entry in entries:
                self.visit(d, layers, entry, stack)

    def visit(
        self, d: _Dir, layers: tuple[_Layer, ...], entry: os.DirEntry[str], stack: list[_Dir]
    ) -> None:
        name = entry.name
        if _DEFAULT_RE is not None and _DEFAULT_RE.match(name):
            return
        broken: str | None = None  # why a symbolic link cannot be followed
        try:
            # Follows symlinks; free (d_type) for everything else. A directory named
            # `x.py` is a directory.
            is_dir = entry.is_dir()
        except OSError as exc:
            is_dir, broken = False, _reason(exc)  # a link loop or unreadable link target
        if not is_dir and not name.endswith((".py", ".ipynb")):
            return
        rel = _child(d.rel, name)
        display = _child(d.display, name)
        if self.excluded_by_user(name, rel, display) or (layers and _ignored(layers, rel + "/" if is_dir else rel)):
            self.excluded += 1
            return
        try:
            is_link = entry.is_symlink()
        except OSError:
            is_link = False
        if is_dir:
            if is_link:
                child = _Dir(entry.path, rel, os.path.realpath(entry.path), display, layers, True)
                heapq.heappush(self.linked, (display, len(self.linked), child))
            else:
                real = os.path.join(d.real, name)
                if real not in self.seen_dirs:
                    self.seen_dirs.add(real)
                    stack.append(_Dir(entry.path, rel, real, display, layers, d.via_link))
            return
        try:
            is_file = broken is None and entry.is_file()
        except OSError as exc:
            is_file, broken = False, _reason(exc)
        if not is_file:
            if is_link and name.endswith((".py", ".ipynb")):
                # A file we would have read: say why it was not, without failing the run.
                self.skipped[display] = SkippedFile(display, broken or "broken symbolic link")
            return  # a socket, FIFO or device: not source
        real = os.path.realpath(entry.path) if is_link else os.path.join(d.real, name)
        self.found.append((d.via_link or is_link, display, real, entry.path))

    def drain_symlinked_dirs(self) -> None:
        while self.linked:
            _, _, d = heapq.heappop(self.linked)
            if d.real in self.seen_dirs:
                continue  # already walked, or an ancestor: a loop
            self.seen_dirs.add(d.real)
            self.walk(d)

    def read_gitignore(self, path: str) -> pathspec.GitIgnoreSpec | None:
        if path not in self.gitignores:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    spec = pathspec.GitIgnoreSpec.from_lines(f.read().splitlines())
            except OSError:
                spec = None  # an unreadable .gitignore is git's problem, not a scan error
            self.gitignores[path] = spec if spec is not None and spec.patterns else None
        return self.gitignores[path]

    def parent_layers(self, real: str) -> tuple[_Layer, ...]:
        # .gitignore files above the walked root count up to the repository root (the
        # folder holding .git); outside a repository only the walked folders' own count.
        root = real
        while not os.path.lexists(os.path.join(root, ".git")):
            parent = os.path.dirname(root)
            if parent == root:
                return ()
            root = parent
        if root == real:
            return ()
        parts = os.path.relpath(real, root).split(os.sep)
        layers: list[_Layer] = []
        for i in range(len(parts)):
            spec = self.read_gitignore(os.path.join(root, *parts[:i], ".gitignore"))
            if spec is not None:
                layers.append((spec, 0, "/".join(parts[i:]) + "/"))
        found = tuple(layers)
        # A PATH inside an ignored folder was asked for explicitly: walk it (as ripgrep
        # does) without the rules that would discard all of it.
        if found and _ignored(found, ""):
            return ()
        return found

    def result(self) -> Discovery:
        files: list[tuple[str, str]] = []
        seen: set[str] = set()
        for _, display, real, path in sorted(self.found):
            if real not in seen:
                seen.add(real)
                files.append((display, path))
        files.sort()
        return Discovery(
            files=[Path(path) for _, path in files],
            skipped=[self.skipped[k] for k in sorted(self.skipped)],
            errors=[self.errors[k] for k in sorted(self.errors)],
        )

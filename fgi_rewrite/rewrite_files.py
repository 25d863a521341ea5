"""Drive `rewrite` over files: rewrite each in memory, point cross-file call sites at the
new functions, then write / diff / check.

One bad file never stops the others; each outcome is reported on stderr, diffs on stdout.
"""

from __future__ import annotations

import io
import os
import stat
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fgi_rewrite.rewrite import ModuleRewrite, RewriteOptions, rewrite_module
from fgi_rewrite.terminal import width_of, wrap
from fgi_rewrite.writer import WriteRefused, unified_diff, write_atomic, write_copy

Mode = Literal["write", "diff", "check", "out"]


def rewrite_file(item: tuple[Path, str, RewriteOptions]) -> tuple[bytes, ModuleRewrite] | tuple[int | str | None, str]:
    """(original bytes, result), or (where, error message) for a file that cannot be handled:
    where is a line, or in a notebook `cell_N:LINE`."""
    import libcst as cst

    from fgi_rewrite.scan import source_error

    file, shown, options = item
    try:
        original = file.read_bytes()
    except OSError as error:
        return None, f"cannot read: {error.strerror or error}"
    if file.suffix == ".ipynb":
        return _rewrite_notebook(original, shown, options)
    try:
        return original, rewrite_module(original, options)
    except (cst.ParserSyntaxError, UnicodeDecodeError, LookupError, SyntaxError) as error:
        # The same line and wording as `scan` gives for this file.
        found = source_error(original, shown, error)
        return found.line, f"{found.message}; left unchanged"
    except RecursionError:
        return None, "nesting too deep to parse; left unchanged"


def _rewrite_notebook(original: bytes, shown: str, options: RewriteOptions
                      ) -> tuple[bytes, ModuleRewrite] | tuple[int | str | None, str]:
    import libcst as cst

    from fgi_rewrite import notebooks
    from fgi_rewrite.model import location
    from fgi_rewrite.scan import source_error

    try:
        return original, notebooks.rewrite(original, options)
    except notebooks.NotebookError as error:
        where = location("", error.line, error.column).lstrip(":") or None
        return where, f"{error}; left unchanged"
    except (cst.ParserSyntaxError, UnicodeDecodeError, LookupError, SyntaxError) as error:
        notebook = notebooks.read(original)  # it was read once already: only the cells failed
        found = notebook.error(source_error(notebook.source, shown, error))
        return location("", found.line, None, found.cell).lstrip(":") or None, f"{found.message}; left unchanged"
    except RecursionError:
        return None, "nesting too deep to parse; left unchanged"


def out_path(shown: str, path: Path) -> Path:
    """Where `--out DIR` puts a file, relative to DIR: its path as shown (relative to the working
    directory), or for a file outside the working directory (an absolute path, `../x.py`) its
    absolute path, so that two inputs never meet at one output and none climbs out of DIR."""
    relative = Path(shown)
    if relative.is_absolute() or ".." in relative.parts:
        absolute = Path(os.path.abspath(path))
        relative = absolute.relative_to(absolute.anchor)
    return relative


def _encoding(data: bytes) -> str:
    """The file's own encoding (PEP 263 declaration or BOM), so a diff shows its text."""
    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError:
        return "utf-8"


def _mode(source: Path) -> int:
    """The copy's mode: its source's, or the default when the source went away after it was
    read (its content is in memory, so the copy is still written)."""
    try:
        return stat.S_IMODE(source.stat().st_mode)
    except OSError:
        return 0o644


@dataclass
class _File:
    path: Path
    shown: str
    original: bytes
    new: bytes
    converted: dict[str, str]  # module-level class name -> function name


@dataclass
class RewriteRun:
    options: RewriteOptions
    mode: Mode
    out_dir: Path | None = None
    files: list[_File] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    errors: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"rewritten": 0, "held-back": 0, "refused": 0, "ignored": 0})

    def error(self, path: str, line: int | str | None, message: str) -> None:
        self.errors += 1
        where = f"{path}:{line}" if line else path
        print(f"error: {where}: {message}", file=sys.stderr)

    def process(self, file: Path, shown: str) -> None:
        self.record(file, shown, rewrite_file((file, shown, self.options)))

    def record(self, file: Path, shown: str,
               done: tuple[bytes, ModuleRewrite] | tuple[int | str | None, str]) -> None:
        """Report one file's outcome (computed here or in a worker process)."""
        if not isinstance(done[0], bytes):
            line, message = done
            self.error(shown, line, message)
            return
        original, result = done
        assert isinstance(result, ModuleRewrite)
        width = width_of(sys.stderr)
        for outcome in result.outcomes:
            self.counts[outcome.outcome] += 1
            detail = f" ({outcome.code})" if outcome.code else ""
            text = f"{outcome.qualname}: {outcome.outcome}{detail}: {outcome.reason}"
            print("\n".join(wrap(f"{shown}:", text, width)), file=sys.stderr)
        for note in result.notes:
            print("\n".join(wrap(f"{shown}:", note, width)), file=sys.stderr)
        # A notebook is imported by no other file: no call sites elsewhere to point at it.
        converted = {} if file.suffix == ".ipynb" else {
            o.qualname: o.function for o in result.outcomes
            if o.outcome == "rewritten" and o.function and "." not in o.qualname}
        self.files.append(_File(file, shown, original, result.source, converted))

    def _cross_file(self) -> None:
        from fgi_rewrite.emit.call_sites import patch_call_sites

        # Calls from a notebook into a rewritten file keep working through the shim.
        sources = {f.path: f.new for f in self.files if f.path.suffix != ".ipynb"}
        converted = {f.path: f.converted for f in self.files if f.converted}
        if not converted:
            return
        for path, data in patch_call_sites(sources, converted).items():
            entry = next(f for f in self.files if f.path == path)
            entry.new = data

    def _output(self, entry: _File) -> bool:
        """Diff, write or copy one file; False (and an error reported) when it was not written."""
        try:
            if self.mode == "diff" and entry.path.suffix == ".ipynb":
                from fgi_rewrite.notebooks import cell_diff

                sys.stdout.write(cell_diff(entry.shown, entry.original, entry.new))
            elif self.mode == "diff":
                sys.stdout.write(unified_diff(entry.shown, entry.original, entry.new, _encoding(entry.original)))
            elif self.mode == "write":
                write_atomic(entry.path, entry.new, entry.original)
            elif self.mode == "out":
                assert self.out_dir is not None
                write_copy(self.out_dir, out_path(entry.shown, entry.path), entry.new, _mode(entry.path))
        except WriteRefused as refused:
            self.error(entry.shown, None, str(refused))
            return False
        except OSError as error:
            self.error(entry.shown, None, f"cannot write: {error.strerror or error}; left unchanged")
            return False
        return True

    def finish(self) -> int:
        from fgi_rewrite.formatting import keep_formatted

        self._cross_file()
        for entry in self.files:
            if entry.path.suffix != ".ipynb":  # ruff would format every cell, not only the changed ones
                entry.new = keep_formatted(entry.path, entry.original, entry.new)
            if entry.new != entry.original:
                if self._output(entry):
                    self.changed.append(entry.shown)
            elif self.mode == "out":
                self._output(entry)  # --out mirrors the whole tree given
        c = self.counts
        verb = {"write": "rewrote", "out": "wrote rewritten copies of", "diff": "would rewrite",
                "check": "would rewrite"}[self.mode]
        print(f"{verb} {len(self.changed)} files: {c['rewritten']} classes rewritten, {c['held-back']} held back, "
              f"{c['refused']} refused, {c['ignored']} ignored, {self.errors} errors", file=sys.stderr)
        if self.errors:
            return 2
        if self.mode in ("diff", "check") and self.changed:
            return 1
        return 0

"""Drive `rewrite` over files: rewrite each in memory, point cross-file call sites at the
new functions, then write / diff / check.

One bad file never stops the others; each outcome is reported on stderr, diffs on stdout.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .rewrite import ModuleRewrite, RewriteOptions, rewrite_module
from .writer import WriteRefused, unified_diff, write_atomic, write_copy

Mode = Literal["write", "diff", "check", "out"]


def rewrite_file(item: tuple[Path, str, RewriteOptions]) -> tuple[bytes, ModuleRewrite] | tuple[int | None, str]:
    """(original bytes, result), or (line, error message) for a file that cannot be handled."""
    import libcst as cst

    file, _, options = item
    try:
        original = file.read_bytes()
    except OSError as error:
        return None, f"cannot read: {error.strerror or error}"
    try:
        return original, rewrite_module(original, options)
    except cst.ParserSyntaxError as error:
        return error.raw_line, f"cannot parse: {error.message}; left unchanged"
    except (UnicodeDecodeError, LookupError, SyntaxError) as error:
        return None, f"cannot decode: {error}; left unchanged"
    except RecursionError:
        return None, "nesting too deep to parse; left unchanged"


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

    def error(self, path: str, line: int | None, message: str) -> None:
        self.errors += 1
        where = f"{path}:{line}" if line else path
        print(f"error: {where}: {message}", file=sys.stderr)

    def process(self, file: Path, shown: str) -> None:
        self.record(file, shown, rewrite_file((file, shown, self.options)))

    def record(self, file: Path, shown: str, done: tuple[bytes, ModuleRewrite] | tuple[int | None, str]) -> None:
        """Report one file's outcome (computed here or in a worker process)."""
        if not isinstance(done[0], bytes):
            line, message = done
            self.error(shown, line, message)  # type: ignore[arg-type]
            return
        original, result = done
        assert isinstance(result, ModuleRewrite)
        for outcome in result.outcomes:
            self.counts[outcome.outcome] += 1
            detail = f" ({outcome.code})" if outcome.code else ""
            print(f"{shown}: {outcome.qualname}: {outcome.outcome}{detail}: {outcome.reason}", file=sys.stderr)
        converted = {o.qualname: o.function for o in result.outcomes
                     if o.outcome == "rewritten" and o.function and "." not in o.qualname}
        self.files.append(_File(file, shown, original, result.source, converted))

    def _cross_file(self) -> None:
        from .crossfile import patch_call_sites

        sources = {f.path: f.new for f in self.files}
        converted = {f.path: f.converted for f in self.files if f.converted}
        if not converted:
            return
        for path, data in patch_call_sites(sources, converted).items():
            entry = next(f for f in self.files if f.path == path)
            entry.new = data

    def _output(self, entry: _File) -> None:
        try:
            if self.mode == "diff":
                sys.stdout.write(unified_diff(entry.shown, entry.original, entry.new))
            elif self.mode == "write":
                write_atomic(entry.path, entry.new, entry.original)
            elif self.mode == "out":
                assert self.out_dir is not None
                shown = Path(entry.shown)
                relative = shown.relative_to(shown.anchor) if shown.is_absolute() else shown
                write_copy(self.out_dir, relative, entry.new)
        except WriteRefused as refused:
            self.error(entry.shown, None, str(refused))
        except OSError as error:
            self.error(entry.shown, None, f"cannot write: {error.strerror or error}; left unchanged")

    def finish(self) -> int:
        self._cross_file()
        for entry in self.files:
            if entry.new != entry.original:
                self.changed.append(entry.shown)
                self._output(entry)
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

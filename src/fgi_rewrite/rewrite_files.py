"""Drive `rewrite` over files: read, rewrite, then write / diff / check, one file at a time.

One bad file never stops the others; each outcome is reported on stderr, diffs on stdout.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .rewrite import RewriteOptions, rewrite_module
from .writer import WriteRefused, unified_diff, write_atomic, write_copy

Mode = Literal["write", "diff", "check", "out"]


@dataclass
class RewriteRun:
    options: RewriteOptions
    mode: Mode
    out_dir: Path | None = None
    changed: list[str] = field(default_factory=list)
    errors: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"rewritten": 0, "held-back": 0, "refused": 0, "ignored": 0})

    def error(self, path: str, line: int | None, message: str) -> None:
        self.errors += 1
        where = f"{path}:{line}" if line else path
        print(f"error: {where}: {message}", file=sys.stderr)

    def process(self, file: Path, shown: str) -> None:
        import libcst as cst

        try:
            original = file.read_bytes()
        except OSError as error:
            self.error(shown, None, f"cannot read: {error.strerror or error}")
            return
        try:
            result = rewrite_module(original, self.options)
        except cst.ParserSyntaxError as error:
            self.error(shown, error.raw_line, f"cannot parse: {error.message}; left unchanged")
            return
        except (UnicodeDecodeError, LookupError, SyntaxError) as error:
            self.error(shown, None, f"cannot decode: {error}; left unchanged")
            return
        for outcome in result.outcomes:
            self.counts[outcome.outcome] += 1
            detail = f" ({outcome.code})" if outcome.code else ""
            print(f"{shown}: {outcome.qualname}: {outcome.outcome}{detail}: {outcome.reason}", file=sys.stderr)
        if not result.changed or result.source == original:
            return
        self.changed.append(shown)
        try:
            if self.mode == "diff":
                sys.stdout.write(unified_diff(shown, original, result.source))
            elif self.mode == "write":
                write_atomic(file, result.source, original)
            elif self.mode == "out":
                assert self.out_dir is not None
                write_copy(self.out_dir, Path(shown), result.source)
        except WriteRefused as refused:
            self.error(shown, None, str(refused))
        except OSError as error:
            self.error(shown, None, f"cannot write: {error.strerror or error}; left unchanged")

    def finish(self) -> int:
        c = self.counts
        verb = {"write": "rewrote", "out": "wrote copies of", "diff": "would rewrite", "check": "would rewrite"}[self.mode]
        print(f"{verb} {len(self.changed)} files: {c['rewritten']} classes rewritten, {c['held-back']} held back, "
              f"{c['refused']} refused, {c['ignored']} ignored, {self.errors} errors", file=sys.stderr)
        if self.errors:
            return 2
        if self.mode in ("diff", "check") and self.changed:
            return 1
        return 0

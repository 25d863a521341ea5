"""Keep a formatted file formatted: a file that `ruff format` leaves unchanged before the
rewrite is formatted by it again afterwards, so the emitted functions and patched call sites
follow the project's own formatter settings (line length, quotes) like the rest of the file.

ruff is used when it is installed (the `[format]` extra, or on PATH); without it, or for a
file it would reformat anyway (not formatted with it), the rewrite's own layout is kept.
Formatting never changes what code computes (ruff checks the AST is unchanged).
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path


@cache
def ruff_binary() -> str | None:
    try:
        from ruff.__main__ import find_ruff_bin  # the PyPI package ships the binary

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("ruff")


def _format(ruff: str, path: Path, data: bytes) -> bytes | None:
    """`ruff format` of data as if it were path (so path's project settings apply); None when
    ruff cannot format it (a syntax it does not read, an encoding other than UTF-8)."""
    try:
        done = subprocess.run([ruff, "format", "--quiet", "--stdin-filename", str(path), "-"], input=data,
                              capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def keep_formatted(path: Path, original: bytes, new: bytes) -> bytes:
    """new, formatted with ruff when original was formatted with it."""
    ruff = ruff_binary()
    if ruff is None or new == original or _format(ruff, path, original) != original:
        return new
    formatted = _format(ruff, path, new)
    return formatted if formatted is not None else new

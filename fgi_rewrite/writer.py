"""Write rewritten files so that an interrupted run leaves every file either old or new.

The new content goes to a temporary file in the target's own directory (same filesystem),
is flushed to disk, given the original's mode, and renamed over the target: rename is
atomic. Symlinks are resolved first so the link stays a link and its target changes.

A process killed (SIGKILL) between creating the temporary file and the rename leaves it
behind as `.<name>.<random>.fgi-tmp`: it does not end in `.py`, so no later run reads it,
and the target is untouched. Every other failure removes it.
"""

from __future__ import annotations

import difflib
import os
import stat
import tempfile
from pathlib import Path

TEMPORARY_SUFFIX = ".fgi-tmp"


class WriteRefused(Exception):
    """The file was not written; the message says why."""


def _writable(mode: int) -> bool:
    # Mode bits, not os.access: as root, os.access reports every file writable.
    return bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _replace(target: Path, data: bytes, mode: int) -> None:
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes, original: bytes) -> None:
    target = Path(os.path.realpath(path))
    try:
        info = target.stat()
    except FileNotFoundError as error:
        raise WriteRefused("file was removed since it was read; not recreated") from error
    except OSError as error:
        raise WriteRefused(f"cannot stat: {error.strerror}") from error
    if not _writable(info.st_mode):
        raise WriteRefused("file is read-only; left unchanged")
    if target.read_bytes() != original:
        raise WriteRefused("file changed since it was read; left unchanged")
    _replace(target, data, stat.S_IMODE(info.st_mode))


def write_copy(root: Path, relative: Path, data: bytes, mode: int = 0o644) -> Path:
    """Write under root, refusing any path that would land outside it (`..`, or a symbolic
    link inside root that points elsewhere). A new file gets `mode` (a copy keeps its source's,
    so an executable script stays executable)."""
    root = root.resolve()
    destination = (root / relative).resolve()
    if root != destination and root not in destination.parents:
        raise WriteRefused(f"{root / relative} leads to {destination}, outside {root}; not written")
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists():
        write_atomic(destination, data, destination.read_bytes())
    else:
        _replace(destination, data, mode)
    return destination


def unified_diff(display: str, old: bytes, new: bytes, encoding: str = "utf-8") -> str:
    before = old.decode(encoding, "replace").splitlines(keepends=True)
    after = new.decode(encoding, "replace").splitlines(keepends=True)
    lines = difflib.unified_diff(before, after, fromfile=f"a/{display}", tofile=f"b/{display}")
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n" for line in lines)

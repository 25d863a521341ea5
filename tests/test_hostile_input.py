"""Hostile and broken input, one case at a time beside a good file, through `scan`, `rewrite`
(in place) and `rewrite --out DIR`.

For every case and command the table states the exit code, the message that names the file
(with its line where one exists), and what the hostile file looks like afterwards; the good
file must always be processed. A file the tool cannot handle is left byte for byte as it was.
"""

from __future__ import annotations

import ast
import errno
import io
import os
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sources import GAUSSIAN_SPIKE

import fgi_rewrite.files
import fgi_rewrite.rewrite_files
from fgi_rewrite.cli import main

GOOD = GAUSSIAN_SPIKE.encode()
CLASS_LINE = 3  # `class Spike(...)` in GOOD
COMMANDS = {"scan": ("scan",), "rewrite": ("rewrite",), "out": ("rewrite", "--out", "out")}
CLEAN_EXIT = {"scan": 1, "rewrite": 0, "out": 0}  # the good file alone: one finding, one rewrite
OTHER_WRITER = b"# saved by an editor while the rewrite ran\n"

Build = Callable[[Path, pytest.MonkeyPatch], None]


@dataclass(frozen=True)
class Case:
    id: str
    path: str  # the hostile entry, relative to the tree
    build: Build  # writes it (and installs any hook that plays a concurrent process)
    errors: dict[str, tuple[int | None, str]]  # command -> (line, message) of its error
    source: dict[str, str]  # command -> the file afterwards: "rewritten", "gone", "theirs"; else "same"
    copy: str  # under --out DIR: "rewritten", "same" (copied as it is) or "absent"
    skipped: str | None = None  # the message of a file left out of the run, not an error
    check: Callable[[bytes, bytes], None] | None = None  # (before, after) of a rewritten file
    named: bool = True  # the output names the file even when all went well
    skip: str | None = None  # why this case cannot run here
    commands: tuple[str, ...] = tuple(COMMANDS)


def write(name: str, data: bytes) -> Build:
    def build(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    return build


def broken(id: str, data: bytes, line: int | None, message: str) -> Case:
    """A file no command can read: an error (exit 2) in every command, the file untouched."""
    name = f"{id}.py"
    return Case(id, name, write(name, data), errors=dict.fromkeys(COMMANDS, (line, message)), source={},
                copy="absent")


def handled(id: str, data: bytes, check: Callable[[bytes, bytes], None] | None = None,
            commands: tuple[str, ...] = tuple(COMMANDS)) -> Case:
    """Odd but valid: rewritten like the good file, the oddity kept."""
    name = f"{id}.py"
    return Case(id, name, write(name, data), errors={}, source={"rewrite": "rewritten"}, copy="rewritten",
                check=check, commands=commands)


def line_of(data: bytes, needle: bytes) -> int:
    return data[: data.index(needle)].count(b"\n") + 1


# --- the cases ---------------------------------------------------------------------------

SYNTAX = GOOD + b"\n\ndef broken(:\n    pass\n"
BAD_UTF8 = GOOD.replace(b"import torch\n", b"import torch\n# caf\xe9 au lait\n")
LATIN1 = b"# -*- coding: latin-1 -*-\n# d\xe9riv\xe9e: surrogate \xb5\n" + GOOD
UNKNOWN_ENCODING = b"# -*- coding: klingon -*-\n" + GOOD
NUL = GOOD.replace(b"import torch\n", b"import torch\nx = 1\x00\n")
LINES = GOOD.split(b"\n")[:-1]
MIXED = b"".join(line + (b"\r\n" if i % 2 else b"\n") for i, line in enumerate(LINES))
# 50,000 lines of ordinary code, the convertible class at the very end.
FILLER_LINES = 50_000 - len(LINES)
BIG = b"".join(b"def f%d(x):\n    return x + %d\n\n" % (i, i) for i in range(FILLER_LINES // 3))
BIG += b"V = 0\n" * (FILLER_LINES - BIG.count(b"\n")) + GOOD


def check_latin1(before: bytes, after: bytes) -> None:
    assert after.startswith(LATIN1[: LATIN1.index(b"import")])  # the declaration and its text, unchanged
    after.decode("latin-1")
    assert b"\xc3" not in after  # not re-encoded as UTF-8


def check_bom(before: bytes, after: bytes) -> None:
    assert after.startswith(b"\xef\xbb\xbfimport torch\n") and after.count(b"\xef\xbb\xbf") == 1


def check_crlf(before: bytes, after: bytes) -> None:
    assert after.count(b"\n") == after.count(b"\r\n")


def check_mixed(before: bytes, after: bytes) -> None:
    head = before[: before.index(b"class Spike")]
    assert after.startswith(head) and b"\r\n" in head  # lines outside the class keep their endings


def check_tabs(before: bytes, after: bytes) -> None:
    assert b"\n\treturn " in after and b"\n    " not in after  # the file's own indentation


def check_big(before: bytes, after: bytes) -> None:
    assert after.startswith(before[: before.index(b"import torch")])


def _unlink_after_discovery(name: str) -> Build:
    def build(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (tree / name).write_bytes(GOOD)
        discover = fgi_rewrite.files.discover

        def then_unlink(*args, **kwargs):  # type: ignore[no-untyped-def]
            found = discover(*args, **kwargs)
            (tree / name).unlink()
            return found

        monkeypatch.setattr(fgi_rewrite.files, "discover", then_unlink)
    return build


def _between_read_and_write(name: str, change: Callable[[Path], None]) -> Build:
    """Plays another process acting on the file after the rewrite read it."""
    def build(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        target = tree / name
        data = GOOD.replace(b"import torch\n", b"import torch  # " + name.encode() + b"\n")
        target.write_bytes(data)
        rewrite_module = fgi_rewrite.rewrite_files.rewrite_module

        def then_change(source: bytes, *args, **kwargs):  # type: ignore[no-untyped-def]
            if source == data:
                change(target)
            return rewrite_module(source, *args, **kwargs)

        monkeypatch.setattr(fgi_rewrite.rewrite_files, "rewrite_module", then_change)
    return build


def _read_denied(name: str) -> Build:
    """EACCES on read, also for root (whom chmod 000 does not stop)."""
    def build(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (tree / name).write_bytes(GOOD)
        read_bytes = Path.read_bytes

        def denied(self: Path) -> bytes:
            if self.name == name:
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return read_bytes(self)

        monkeypatch.setattr(Path, "read_bytes", denied)
    return build


def _chmod(name: str, mode: int) -> Build:
    def build(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (tree / name).write_bytes(GOOD)
        (tree / name).chmod(mode)
    return build


def _symlink(name: str, target: str) -> Build:
    def build(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (tree / name).symlink_to(target)
    return build


AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
UNREADABLE = "cannot read: Permission denied"

CASES = [
    broken("syntax", SYNTAX, line_of(SYNTAX, b"def broken"), "syntax error: invalid syntax"),
    broken("bad_utf8", BAD_UTF8, line_of(BAD_UTF8, b"# caf"), "cannot decode as utf-8: byte 0xe9"),
    handled("latin1", LATIN1, check_latin1),
    broken("unknown_encoding", UNKNOWN_ENCODING, 1, "cannot decode: unknown encoding: klingon"),
    handled("bom", b"\xef\xbb\xbf" + GOOD, check_bom),
    handled("crlf", GOOD.replace(b"\n", b"\r\n"), check_crlf),
    handled("mixed_endings", MIXED, check_mixed),
    handled("tabs", GOOD.replace(b"    ", b"\t"), check_tabs),
    Case("empty", "empty.py", write("empty.py", b""), errors={}, source={}, copy="same", named=False),
    Case("whitespace", "blank.py", write("blank.py", b" \n\n\t\n   \r\n"), errors={}, source={}, copy="same",
         named=False),
    # Found and rewritten in place; its --out copy would take another 15 s (the rewrite makes
    # seven passes over libcst's tree) to test only the writer, which the small cases test.
    handled("big", BIG, check_big, commands=("scan", "rewrite")),
    broken("nul", NUL, line_of(NUL, b"\x00"), "syntax error: null byte in the source"),
    Case("symlink_loop", "loop.py", _symlink("loop.py", "loop.py"), errors={}, source={}, copy="absent",
         skipped="symbolic link loop"),
    Case("directory_named_py", "x.py/inner.py", write("x.py/inner.py", GOOD), errors={},
         source={"rewrite": "rewritten"}, copy="rewritten"),
    Case("read_only", "locked.py", _chmod("locked.py", 0o444), errors={"rewrite": (None, "file is read-only")},
         source={}, copy="rewritten"),
    Case("replaced_before_write", "edited.py",
         _between_read_and_write("edited.py", lambda path: path.write_bytes(OTHER_WRITER)),
         errors={"rewrite": (None, "file changed since it was read; left unchanged")},
         source={"rewrite": "theirs", "out": "theirs"}, copy="rewritten"),
    Case("removed_before_write", "removed.py", _between_read_and_write("removed.py", Path.unlink),
         errors={"rewrite": (None, "file was removed since it was read; not recreated")},
         source={"rewrite": "gone", "out": "gone"}, copy="rewritten"),
    Case("vanished_after_discovery", "vanish.py", _unlink_after_discovery("vanish.py"),
         errors=dict.fromkeys(COMMANDS, (None, "cannot read: No such file or directory")),
         source=dict.fromkeys(COMMANDS, "gone"), copy="absent"),
    Case("read_denied", "denied.py", _read_denied("denied.py"), errors=dict.fromkeys(COMMANDS, (None, UNREADABLE)),
         source={}, copy="absent"),
    Case("chmod_000", "secret.py", _chmod("secret.py", 0), errors=dict.fromkeys(COMMANDS, (None, UNREADABLE)),
         source={}, copy="absent",
         skip="root reads a chmod 000 file; read_denied covers the error path" if AS_ROOT else None),
]


def snapshot(tree: Path) -> dict[str, bytes | str]:
    """Every entry's bytes (a symlink: its target), keyed by path relative to the tree."""
    state: dict[str, bytes | str] = {}
    for path in sorted(tree.rglob("*")):
        key = path.relative_to(tree).as_posix()
        if path.is_symlink():
            state[key] = "-> " + os.readlink(path)
        elif path.is_file():
            try:
                state[key] = path.read_bytes()
            except PermissionError:
                state[key] = "unreadable"
    return state


def rewritten(data: bytes) -> bool:
    """FGI function and shim present, in the file's own encoding, and still Python."""
    text = data.decode(tokenize.detect_encoding(io.BytesIO(data).readline)[0])
    ast.parse(data)
    return "def spike(" in text and "class Spike:  # fgi-rewrite: compatibility shim" in text


@pytest.mark.parametrize("case,command", [
    pytest.param(case, command, id=f"{case.id}-{command}", marks=[pytest.mark.skip(case.skip)] if case.skip else [])
    for case in CASES for command in case.commands])
def test_hostile_file_beside_a_good_one(case: Case, command: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "good.py").write_bytes(GOOD)
    case.build(tree, monkeypatch)
    before = snapshot(tree)
    hostile = f"tree/{case.path}"

    result = CliRunner().invoke(main, [*COMMANDS[command], "tree"])
    out, err = result.stdout, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception  # no crash
    after = snapshot(tree)

    # exit code, and the message that names the file
    expected = case.errors.get(command)
    assert result.exit_code == (2 if expected else CLEAN_EXIT[command]), err
    errors = [line for line in err.splitlines() if line.startswith("error") and hostile in line]
    if expected:
        line, message = expected
        where = f"{hostile}:{line}:" if line else f"{hostile}:"
        assert any(where in text and message in text for text in errors), err
    else:
        assert errors == [], err
    if case.skipped:
        assert f"skipped {hostile}: {case.skipped}" in err
    elif case.named and not expected:
        assert hostile in (out if command == "scan" else err)

    if command == "rewrite":  # the summary counts the files actually written
        assert f"rewrote {1 + (case.source.get('rewrite') == 'rewritten')} files:" in err

    # the good file is processed whatever its neighbour does
    if command == "scan":
        assert f"tree/good.py:{CLASS_LINE}:7" in out
    good = after.pop("good.py")
    assert rewritten(good) if command == "rewrite" else good == before["good.py"]  # type: ignore[arg-type]
    if command == "out":
        assert rewritten((tmp_path / "out" / "tree" / "good.py").read_bytes())

    # the hostile file: byte-identical unless the case says otherwise
    old, new = before[case.path], after.pop(case.path, None)
    state = case.source.get(command, "same")
    if state == "rewritten":
        assert isinstance(new, bytes) and rewritten(new)
        if case.check:
            case.check(old, new)  # type: ignore[arg-type]
    else:
        assert new == {"same": old, "gone": None, "theirs": OTHER_WRITER}[state]
    if command == "out":
        copy = tmp_path / "out" / "tree" / case.path
        if case.copy == "absent":
            assert not copy.exists() and not copy.is_symlink()
        elif case.copy == "same":
            assert copy.read_bytes() == old
        else:
            assert rewritten(copy.read_bytes())
            if case.check:
                case.check(old, copy.read_bytes())  # type: ignore[arg-type]

    # nothing else in the tree appeared, disappeared or changed
    assert after == {k: v for k, v in before.items() if k not in ("good.py", case.path)}


def test_diff_of_a_latin1_file_shows_its_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("latin1.py").write_bytes(LATIN1)
    result = CliRunner().invoke(main, ["rewrite", "--diff", "latin1.py"])
    assert result.exit_code == 1, result.stderr
    assert " # dérivée: surrogate µ\n" in result.stdout  # context line, decoded as latin-1
    assert Path("latin1.py").read_bytes() == LATIN1

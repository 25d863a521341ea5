"""A file's unified diff cut into hunks, each given to the classes it changes.

`rewrite` changes a file as a whole: a class becomes a function plus a shim, the function of
a nested class is hoisted to module level, call sites and imports change elsewhere in the
file. A reader deciding about one class wants the hunks that concern it, and the rest once
per file. A hunk belongs to a class when it removes a line inside the class (decorators
included) or defines the class's new function; what belongs to no class is "other changes".
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Hunk:
    old_start: int
    new_start: int
    lines: tuple[str, ...]  # the "@@" header first, then " ", "-" and "+" lines with their newlines

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def touches(self, first: int, last: int) -> bool:
        """Whether it removes a line of first..last, or inserts lines strictly inside them."""
        old, inserted_after = self.old_start, []
        for line in self.lines[1:]:
            if line.startswith("-") and first <= old <= last:
                return True
            if line.startswith("+"):
                inserted_after.append(old - 1)
            if line.startswith((" ", "-")):
                old += 1
        return any(first <= n < last for n in inserted_after)

    def defines(self, function: str) -> bool:
        pattern = re.compile(rf"^\+\s*def\s+{re.escape(function)}\s*\(")
        return any(pattern.match(line) for line in self.lines[1:])


def split(diff: str) -> tuple[str, list[Hunk]]:
    """(the ---/+++ header, the hunks) of a one-file unified diff."""
    lines = diff.splitlines(keepends=True)
    header: list[str] = []
    hunks: list[list[str]] = []
    for line in lines:
        if line.startswith("@@"):
            hunks.append([line])
        elif hunks:
            hunks[-1].append(line)
        else:
            header.append(line)
    result = []
    for hunk in hunks:
        match = _HEADER.match(hunk[0])
        assert match is not None, hunk[0]
        result.append(Hunk(int(match.group(1)), int(match.group(3)), tuple(hunk)))
    return "".join(header), result


def class_spans(data: bytes) -> dict[int, tuple[int, int]]:
    """Line of each `class` keyword -> (first line, including decorators; last line)."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return {}
    spans = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            spans[node.lineno] = (first, node.end_lineno or node.lineno)
    return spans


def assign(hunks: list[Hunk], classes: dict[str, tuple[tuple[int, int] | None, str | None]]
           ) -> tuple[dict[str, list[Hunk]], list[Hunk]]:
    """classes: key -> (span of the class, or None; its new function's name, or None).
    Returns each class's hunks and the hunks that belong to none."""
    owned: dict[str, list[Hunk]] = {key: [] for key in classes}
    others = []
    for hunk in hunks:
        owners = [key for key, (span, function) in classes.items()
                  if (span is not None and hunk.touches(*span)) or (function is not None and hunk.defines(function))]
        for key in owners:
            owned[key].append(hunk)
        if not owners:
            others.append(hunk)
    return owned, others

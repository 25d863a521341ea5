"""Width and word wrapping of the text outputs (scan's findings, rewrite's and verify's lines).

Each entry starts with its location (`path:line:col`), which is never broken, so a terminal
or an editor can open it and grep finds it. Text is wrapped by words, never cut: a word
longer than a line stays whole.
"""

from __future__ import annotations

import os
from typing import IO

INDENT = "    "


def width_of(stream: IO[str]) -> int | None:
    """The width to wrap at: COLUMNS when set (as rich and click honour it), else the
    terminal's; None when the stream is no terminal, so that each entry stays one line for
    grep, awk and editors (as ruff, mypy and flake8 print when piped)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):  # a stream without a file (tests) or a closed one
        pass
    return None


def wrap(head: str, text: str, width: int | None, indent: str = INDENT) -> list[str]:
    """`head text` as lines of at most `width` cells, wrapped between words of text, the
    continuation lines indented; head is one token whatever its length. One line when
    width is None."""
    from rich.cells import cell_len  # a wide character takes two columns

    words = text.split()
    if width is None:
        return [" ".join([head, *words])]
    lines, line = [], head
    for word in words:
        if cell_len(line) + 1 + cell_len(word) <= width:
            line = f"{line} {word}"
        else:
            lines.append(line)
            line = indent + word
    lines.append(line)
    return lines

"""Re-indent backslash continuation lines of statements moved to another depth.

libcst keeps a continuation inside brackets relative to its block, so those move with the
statement; a continuation after a backslash is plain whitespace holding the line's absolute
column in the original file. Moved from a method body (8 columns) into a function body (4)
it would keep its 12 columns and end up deeper than the statement it continues.
"""

from __future__ import annotations

import io
import tokenize

_OPENING, _CLOSING = "([{", ")]}"


def rebase_backslash_continuations(lines: list[str], unit: str) -> list[str]:
    """lines (whole statements, first line at its block's depth) with each backslash
    continuation line one `unit` deeper than the line it continues, keeping the relative
    indentation of several continuation lines. Text that does not tokenize is returned as is."""
    if not any(line.rstrip().endswith("\\") for line in lines):
        return lines
    rows = _continuation_rows("".join(f"{line}\n" for line in lines))
    if rows is None:
        return lines
    result = list(lines)
    for start, continued in rows.items():
        base = _indentation(lines[start])
        least = min(len(_indentation(lines[row])) for row in continued)
        for row in continued:
            text = lines[row]
            depth = len(_indentation(text)) - least
            result[row] = f"{base}{unit}{' ' * depth}{text.lstrip()}"
    return result


def _continuation_rows(code: str) -> dict[int, list[int]] | None:
    """For each logical line continued by a backslash, its first row and the rows that
    continue it outside brackets (0-based)."""
    rows: dict[int, list[int]] = {}
    depth, start, last_row = 0, None, None
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            kind, text, (row, _), (end_row, _), _ = token
            if kind in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
                        tokenize.ENDMARKER):
                if kind == tokenize.NEWLINE:
                    start, last_row = None, None
                continue
            if start is None:
                start = row - 1
            elif last_row is not None and row > last_row and depth == 0:
                rows.setdefault(start, []).append(row - 1)
            if kind == tokenize.OP and text in _OPENING:
                depth += 1
            elif kind == tokenize.OP and text in _CLOSING:
                depth -= 1
            last_row = end_row
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    return rows


def _indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]

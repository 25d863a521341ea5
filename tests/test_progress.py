"""The progress bar shows on a terminal, stays out of pipes, and never changes results."""

from __future__ import annotations

import io

from fgi_rewrite.parallel import ordered_map
from fgi_rewrite.progress import MIN_FILES, tracked


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _square(n: int) -> int:
    return n * n


def test_bar_drawn_on_a_terminal_with_results_unchanged_and_in_order() -> None:
    stream = Terminal()
    items = list(range(MIN_FILES + 10))
    got = list(tracked(ordered_map(_square, items, jobs=2), len(items), "scanning", stream))
    assert got == [n * n for n in items]
    drawn = stream.getvalue()
    assert "scanning" in drawn and f"{len(items)}/{len(items)}" in drawn


def test_nothing_written_when_stderr_is_not_a_terminal() -> None:
    stream = io.StringIO()
    items = list(range(MIN_FILES + 10))
    assert list(tracked(iter(items), len(items), "scanning", stream)) == items
    assert stream.getvalue() == ""


def test_short_runs_get_no_bar() -> None:
    stream = Terminal()
    assert list(tracked(iter([1, 2]), 2, "scanning", stream)) == [1, 2]
    assert stream.getvalue() == ""

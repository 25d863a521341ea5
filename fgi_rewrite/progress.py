"""A progress bar for long runs, on stderr, only when a person is watching it.

Pipes, CI logs and pre-commit get no bar (and no escape codes): the bar appears only when
stderr is a terminal and the run has enough files to take a noticeable time. Messages
written to stderr while it runs are printed above it by rich, so nothing is lost.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import IO, TypeVar

Result = TypeVar("Result")

MIN_FILES = 50  # below this a run finishes before a bar would be read


def tracked(results: Iterable[Result], total: int, label: str, stream: IO[str] | None = None) -> Iterator[Result]:
    """Yield results unchanged and in order, advancing a bar as each arrives."""
    stream = stream if stream is not None else sys.stderr
    if total < MIN_FILES or not stream.isatty():
        yield from results
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(file=stream)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True, redirect_stdout=False) as bar:
        task = bar.add_task(label, total=total)
        for result in results:
            yield result
            bar.advance(task)

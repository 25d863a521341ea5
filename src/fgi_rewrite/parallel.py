"""`--jobs N`: map a per-file function over files in worker processes, results in input order.

libcst's parser is warmed in the parent before the workers fork, so each worker starts with
it ready; with one job (or one file) everything runs in this process.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def ordered_map(function: Callable[[Item], Result], items: Sequence[Item], jobs: int) -> Iterator[Result]:
    """Results are yielded as they arrive (in input order), so a progress bar can follow them."""
    if jobs <= 1 or len(items) < 2:
        yield from map(function, items)
        return
    import libcst

    libcst.parse_module("x = 1\n")  # warm the parser once, before forking
    context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    chunk = max(1, len(items) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as executor:
        yield from executor.map(function, items, chunksize=chunk)

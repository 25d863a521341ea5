"""Side-by-side timing that survives a noisy machine.

Every task (one variant in one mode and phase) is warmed up first; warm-up is measured on its
own and excluded. Then R rounds: in each round every task takes S samples, the order of the
tasks rotated from round to round, so slow spells of the machine hit every task alike. A
sample is the mean time of `inner` consecutive calls (one call when a call is long enough to
time alone). Per task: median and interquartile range of its samples. Speedups are computed
per round, the baseline's median over the task's median in that round, and summarised by
their own median and IQR: a ratio of two times taken seconds apart is steadier than either.
On CUDA the clock is a pair of CUDA events around the calls, synchronised after them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Spread:
    median: float
    q1: float
    q3: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if len(values) == 1:
            return cls(values[0], values[0], values[0])
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(statistics.median(values), q1, q3)


class Clock:
    """Seconds taken by `inner` calls of `call`, divided by `inner`."""

    def __init__(self, device: str) -> None:
        self.cuda = device.startswith("cuda")

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def time(self, call: Callable[[], object], inner: int = 1) -> float:
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(inner):
                call()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000.0 / inner
        begin = time.perf_counter()
        for _ in range(inner):
            call()
        return (time.perf_counter() - begin) / inner


@dataclass
class Timing:
    samples: dict[Hashable, list[list[float]]]  # task -> round -> sample times

    def spread(self, task: Hashable) -> Spread:
        return Spread.of([t for round_ in self.samples[task] for t in round_])

    def speedup(self, task: Hashable, baseline: Hashable) -> Spread:
        """Per round: median time of the baseline / median time of the task."""
        ratios = [statistics.median(base) / statistics.median(mine)
                  for base, mine in zip(self.samples[baseline], self.samples[task], strict=True)]
        return Spread.of(ratios)


def run_rounds(tasks: dict[Hashable, Callable[[], object]], rounds: int, samples: int, clock: Clock,
               inner: int = 1, advance: Callable[[], None] | None = None) -> Timing:
    """`advance` is called after each task's turn (a progress bar)."""
    order = list(tasks)
    result: dict[Hashable, list[list[float]]] = {key: [] for key in order}
    for number in range(rounds):
        shift = number % len(order)
        for key in order[shift:] + order[:shift]:
            clock.sync()
            result[key].append([clock.time(tasks[key], inner) for _ in range(samples)])
            if advance is not None:
                advance()
    return Timing(result)


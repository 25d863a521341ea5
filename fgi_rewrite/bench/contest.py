"""Contenders run side by side: warm-up and capture, rounds, then rows and differences.

A contender is one variant in one mode, with a step per phase (train, inference). Its first
call in each phase runs on the same weights and inputs as every other contender's and keeps
what it computed, so the differences between variants are measured on identical weights; the
speedup baseline is the custom Function in eager mode.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import torch

from fgi_rewrite.bench.functions import CUSTOM
from fgi_rewrite.bench.results import Difference, Row
from fgi_rewrite.bench.timing import Clock, Timing, run_rounds

EAGER = "eager"
BASELINE = (EAGER, CUSTOM)
TRAIN, INFERENCE = "train", "inference"

# A phase's first call: returns (output, gradients or None) computed on the initial weights.
Capture = Callable[[], tuple[torch.Tensor, list[torch.Tensor] | None]]


@dataclass
class Contender:
    mode: str
    variant: str
    steps: dict[str, Callable[[], object]] = field(default_factory=dict)  # phase -> one timed step
    captures: dict[str, Capture] = field(default_factory=dict)
    wrap_s: float = 0.0  # torch.jit.script(...) and the like, counted in the first phase's warm-up
    failure: str | None = None  # why it cannot run: its rows say n/a with this
    warm_total: dict[str, float] = field(default_factory=dict)
    warm_calls: int = 0
    last_warm_s: dict[str, float] = field(default_factory=dict)  # the last warm-up call: near steady state
    captured: dict[str, tuple[torch.Tensor, list[torch.Tensor] | None]] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.mode, self.variant


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:160]


def warm(contender: Contender, iterations: int, clock: Clock) -> None:
    """Captures first (every contender on the initial weights: captures must not update them),
    then the remaining warm-up steps; all of it is timed as warm-up."""
    if contender.failure is not None:
        return
    first = True
    try:
        for phase, capture in contender.captures.items():
            clock.sync()
            begin = time.perf_counter()
            contender.captured[phase] = capture()
            clock.sync()
            contender.last_warm_s[phase] = time.perf_counter() - begin
            contender.warm_total[phase] = contender.last_warm_s[phase] + (contender.wrap_s if first else 0.0)
            first = False
        for phase, step in contender.steps.items():
            for _ in range(iterations - 1):
                contender.last_warm_s[phase] = clock.time(step)
                contender.warm_total[phase] += contender.last_warm_s[phase]
        contender.warm_calls = iterations
    except Exception as error:  # noqa: BLE001 - a combination that cannot run: reported, never timed
        contender.failure = first_line(error)


def race(contenders: list[Contender], rounds: int, samples: int, clock: Clock, inner: int = 1,
         advance: Callable[[], None] | None = None) -> Timing:
    tasks: dict[Hashable, Callable[[], object]] = {
        (c.mode, c.variant, phase): step for c in contenders if c.failure is None for phase, step in c.steps.items()}
    return run_rounds(tasks, rounds, samples, clock, inner, advance)


def rows(contenders: list[Contender], timing: Timing, function: str, size: str,
         skipped: dict[tuple[str, str, str], str] | None = None) -> list[Row]:
    """One row per contender and phase; contenders that failed or were not run say why."""
    result: list[Row] = []
    for contender in contenders:
        for phase in contender.steps:
            row = Row(function, contender.mode, phase, size, contender.variant)
            key = (contender.mode, contender.variant, phase)
            if contender.failure is not None:
                row.note = f"n/a: {contender.failure}"
            elif key in timing.samples:
                spread = timing.spread(key)
                row.median_s, row.iqr_s = spread.median, [spread.q1, spread.q3]
                baseline = (*BASELINE, phase)
                if baseline in timing.samples:
                    ratio = timing.speedup(key, baseline)
                    row.speedup, row.speedup_iqr = ratio.median, [ratio.q1, ratio.q3]
                # Warm-up beyond what the same calls cost in the steady state.
                excess = contender.warm_total[phase] - contender.warm_calls * spread.median
                row.warmup_s = max(0.0, excess)
            result.append(row)
    for (mode, variant, phase), reason in (skipped or {}).items():
        result.append(Row(function, mode, phase, size, variant, note=f"not run: {reason}"))
    return result


def _max_abs(a: torch.Tensor, b: torch.Tensor) -> float | None:
    """Max |a - b|, NaN in both places counting as equal; None when not comparable."""
    if a.shape != b.shape:
        return None
    a64, b64 = a.detach().double().cpu(), b.detach().double().cpu()
    both_nan = torch.isnan(a64) & torch.isnan(b64)
    delta = torch.where(both_nan, torch.zeros_like(a64), (a64 - b64).abs())
    value = float(delta.max()) if delta.numel() else 0.0
    return value if math.isfinite(value) else None


def differences(contenders: list[Contender], function: str, size: str) -> list[Difference]:
    reference = next((c for c in contenders if c.key == BASELINE and c.failure is None), None)
    if reference is None:
        return []
    result: list[Difference] = []
    for contender in contenders:
        if contender is reference or contender.failure is not None:
            continue
        for phase, (out, grads) in contender.captured.items():
            ref_out, ref_grads = reference.captured[phase]
            output = _max_abs(out, ref_out)
            gradient: float | None = None
            note = None
            if grads is not None and ref_grads is not None:
                deltas = [_max_abs(g, r) for g, r in zip(grads, ref_grads, strict=True)]
                gradient = None if any(d is None for d in deltas) else max((d for d in deltas if d is not None),
                                                                          default=0.0)
            if output is None or (grads is not None and gradient is None):
                note = "not comparable: shapes differ or the difference is not finite"
            result.append(Difference(function, contender.mode, phase, size, contender.variant, output, gradient,
                                     note))
    return result

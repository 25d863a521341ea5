"""`bench alif`: the FGI paper's timing study on one recurrent ALIF layer (see model.py).

A training step is forward, cross-entropy on the time-averaged readout, backward and an Adam
(amsgrad) update; an inference step is a forward under `torch.no_grad()`. Each sequence length
T feeds 784 / T pixels per step (28 down to 1), as Sequential MNIST does. Modes: eager;
`torch.jit.script` of the model; `torch.compile(fullgraph=True)` of the whole model, which
unrolls all T steps (capped by `compile_max_t` on CPU: T=196 took 212-234 s to warm up on a
2-core machine); and of the cell alone (`compile-cell`), which the Python loop calls T times.
`fgi-no-fast-path` is timed in training too: with grad on the fast path's branch is not taken,
but under TorchScript its presence alone cost about 6% of a training step (T=98 and 392).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from fgi_rewrite.bench.contest import (
    INFERENCE,
    TRAIN,
    Contender,
    differences,
    first_line,
    race,
    rows,
    warm,
)
from fgi_rewrite.bench.functions import SpikeFunction, Variant
from fgi_rewrite.bench.model import N_CLASSES, make_model
from fgi_rewrite.bench.options import Settings, clock_for, compile_fn, fresh_compiler
from fgi_rewrite.bench.results import Difference, Row

MODES = ("eager", "script", "compile", "compile-cell")
PIXELS = 784  # one 28x28 image


@dataclass
class AlifSettings(Settings):
    modes: tuple[str, ...] = MODES
    lengths: tuple[int, ...] = (28, 49, 98, 196, 392, 784)
    hidden: int = 128
    batch: int = 128
    compile_max_t: int | None = 98  # whole-model compile above this length is not run
    compile_variants: tuple[str, ...] | None = None  # variants run under whole-model compile (None: all)
    round_budget_s: float | None = None  # fewer rounds (at least 3) where one round takes longer
    lr: float = 1e-3


def inputs_per_step(length: int) -> int:
    if length < 1 or PIXELS % length:
        raise ValueError(f"sequence length {length} does not divide {PIXELS} pixels")
    return PIXELS // length


def _contender(variant: Variant, mode: str, settings: AlifSettings, state: dict[str, torch.Tensor],
               n_in: int, x: torch.Tensor, y: torch.Tensor) -> Contender:
    result = Contender(mode, variant.name)
    model = make_model(n_in, settings.hidden, variant.fn, variant.custom)
    model.load_state_dict(state)
    model.to(device=settings.device, dtype=settings.torch_dtype)
    begin = time.perf_counter()
    forward: Callable[[torch.Tensor], torch.Tensor]
    try:
        if mode == "script":
            forward = torch.jit.script(model)
        elif mode == "compile":
            forward = compile_fn(model, settings.backend)
        elif mode == "compile-cell":
            model.cell = compile_fn(model.cell, settings.backend)  # type: ignore[method-assign]
            forward = model
        else:
            forward = model
    except Exception as error:  # noqa: BLE001 - a mode that cannot take this model: n/a, with why
        result.failure = first_line(error)
        return result
    result.wrap_s = time.perf_counter() - begin
    params = list(model.parameters())  # a scripted model shares them
    optimizer = torch.optim.Adam(params, lr=settings.lr, amsgrad=True)

    def train() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(forward(x), y).backward()
        optimizer.step()

    def infer() -> None:
        with torch.no_grad():
            forward(x)

    def capture_train() -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        optimizer.zero_grad(set_to_none=True)
        out = forward(x)
        F.cross_entropy(out, y).backward()
        return out.detach().clone(), [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in params]

    def capture_inference() -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        with torch.no_grad():
            return forward(x).clone(), None

    steps = {TRAIN: (train, capture_train), INFERENCE: (infer, capture_inference)}
    for phase in (TRAIN, INFERENCE):
        result.steps[phase], result.captures[phase] = steps[phase]
    return result


def _rounds(contenders: list[Contender], settings: AlifSettings) -> int:
    """--rounds, or fewer (at least 3) where one round would outlast --round-budget: long
    sequences take seconds a step, and ratios need several rounds more than many steps. A
    round is estimated from each task's last warm-up call (with --warmup 1 that call also
    compiled, and the estimate errs long)."""
    if settings.round_budget_s is None:
        return settings.rounds
    per_round = sum(c.last_warm_s[phase] for c in contenders if c.failure is None
                    for phase in c.steps) * settings.samples
    if per_round <= 0:
        return settings.rounds
    return max(3, min(settings.rounds, math.floor(settings.round_budget_s / per_round)))


def run(function: SpikeFunction, settings: AlifSettings, progress: Callable[[str, int], Callable[[], None]]
        ) -> tuple[list[Row], list[Difference], dict[str, int]]:
    """Rows, differences, and the rounds run at each length."""
    clock = clock_for(settings)
    all_rows: list[Row] = []
    all_differences: list[Difference] = []
    rounds_used: dict[str, int] = {}
    variants = [function.variants[name] for name in settings.variants if name in function.variants]
    for length in settings.lengths:
        fresh_compiler()
        size = f"T={length}"
        n_in = inputs_per_step(length)
        generator = torch.Generator().manual_seed(settings.seed)
        x = torch.rand((length, settings.batch, n_in), generator=generator, dtype=torch.float64)
        x = x.to(device=settings.device, dtype=settings.torch_dtype)
        y = torch.randint(N_CLASSES, (settings.batch,), generator=generator).to(settings.device)
        torch.manual_seed(settings.seed)
        state = make_model(n_in, settings.hidden, variants[0].fn, custom=False).state_dict()
        skipped: dict[tuple[str, str, str], str] = {}
        contenders: list[Contender] = []
        for mode in settings.modes:
            for variant in variants:
                if mode == "compile" and settings.compile_variants is not None \
                        and variant.name not in settings.compile_variants:
                    continue  # left out by choice: its warm-up is the costliest of the run
                if mode == "compile" and settings.compile_max_t is not None and length > settings.compile_max_t:
                    for phase in (TRAIN, INFERENCE):
                        skipped[(mode, variant.name, phase)] = (f"whole-model compile unrolls all {length} steps; "
                                                                f"T > --compile-max-t {settings.compile_max_t}")
                    continue
                contenders.append(_contender(variant, mode, settings, state, n_in, x, y))
        advance = progress(f"{size}: warm-up", len(contenders))
        for contender in contenders:
            warm(contender, settings.warmup, clock)
            advance()
        rounds = _rounds(contenders, settings)
        rounds_used[size] = rounds
        tasks = sum(len(c.steps) for c in contenders if c.failure is None)
        advance = progress(f"{size}: {rounds} rounds", rounds * tasks)
        timing = race(contenders, rounds, settings.samples, clock, advance=advance)
        all_rows += rows(contenders, timing, function.label, size, skipped)
        all_differences += differences(contenders, function.label, size)
    return all_rows, all_differences, rounds_used

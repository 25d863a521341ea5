"""`bench spike`: one spike function alone, custom Function against its FGI rewrites.

Training is forward plus backward with a fixed random grad_output; inference is a forward
under `torch.no_grad()`. Modes: eager; `torch.jit.script` (FGI functions are scripted; the
custom Function runs inside a scripted module through `@torch.jit.ignore`, as it must);
`torch.compile(fullgraph=True, dynamic=False)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from fgi_rewrite.bench.contest import INFERENCE, TRAIN, Contender, differences, race, rows, warm
from fgi_rewrite.bench.functions import Arguments, SpikeFunction, Variant, make_arguments
from fgi_rewrite.bench.options import Settings, compile_fn, fresh_compiler
from fgi_rewrite.bench.results import Difference, Row


@dataclass
class SpikeSettings(Settings):
    sizes: tuple[int, ...] = (128, 1024)
    arguments: Mapping[str, str] | None = None  # --arg NAME=EXPR


def _calls_per_sample(numel: int) -> int:
    """Enough calls that one sample lasts about a millisecond or more on a CPU."""
    return max(1, min(200, 2_000_000 // max(1, numel)))


def _wrap(variant: Variant, mode: str, arguments: Arguments, settings: Settings) -> Callable[[], torch.Tensor]:
    values = arguments.values
    if mode == "eager":
        fn = variant.fn
    elif mode == "script":
        if variant.custom:
            from fgi_rewrite.bench.model import script_ignored_call

            def python_call(x: torch.Tensor) -> torch.Tensor:
                bound = list(values)
                bound[arguments.primary] = x
                return variant.fn(*bound)

            scripted = script_ignored_call(python_call)
            return lambda: scripted(values[arguments.primary])
        fn = torch.jit.script(variant.fn)
    else:
        fn = compile_fn(variant.fn, settings.backend)
    return lambda: fn(*values)


def contender(variant: Variant, mode: str, arguments: Arguments, settings: Settings,
              grad_output: torch.Tensor) -> Contender:
    import time

    result = Contender(mode, variant.name)
    begin = time.perf_counter()
    try:
        call = _wrap(variant, mode, arguments, settings)
    except Exception as error:  # noqa: BLE001 - a mode that cannot take this function: n/a, with why
        from fgi_rewrite.bench.contest import first_line

        result.failure = first_line(error)
        return result
    result.wrap_s = time.perf_counter() - begin
    leaves = arguments.leaves

    def train() -> None:
        for leaf in leaves:
            leaf.grad = None
        call().backward(grad_output)

    def infer() -> None:
        with torch.no_grad():
            call()

    def capture_train() -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        for leaf in leaves:
            leaf.grad = None
        out = call()
        out.backward(grad_output)
        return out.detach().clone(), [leaf.grad.clone() if leaf.grad is not None else torch.zeros_like(leaf)
                                      for leaf in leaves]

    def capture_inference() -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        with torch.no_grad():
            return call().clone(), None

    result.steps = {TRAIN: train, INFERENCE: infer}
    result.captures = {TRAIN: capture_train, INFERENCE: capture_inference}
    return result


def run(function: SpikeFunction, settings: SpikeSettings, progress: Callable[[str, int], Callable[[], None]]
        ) -> tuple[list[Row], list[Difference], dict[str, list[str]]]:
    """`progress(description, total)` returns the function that advances that bar."""
    from fgi_rewrite.bench.options import clock_for

    clock = clock_for(settings)
    all_rows: list[Row] = []
    all_differences: list[Difference] = []
    described: dict[str, list[str]] = {}
    variants = [function.variants[name] for name in settings.variants if name in function.variants]
    for n in settings.sizes:
        fresh_compiler()
        size = f"{n}x{n}"
        generator = torch.Generator().manual_seed(settings.seed)
        arguments = make_arguments(function, (n, n), settings.torch_dtype, settings.device,
                                   settings.arguments or {}, generator)
        described[size] = arguments.described
        first = arguments.values[arguments.primary]
        grad_output = torch.randn(first.shape, generator=generator, dtype=torch.float64).to(first)
        contenders = [contender(v, mode, arguments, settings, grad_output) for mode in settings.modes for v in variants]
        advance = progress(f"{size}: warm-up", len(contenders))
        for c in contenders:
            warm(c, settings.warmup, clock)
            advance()
        tasks = sum(len(c.steps) for c in contenders if c.failure is None)
        advance = progress(f"{size}: rounds", settings.rounds * tasks)
        timing = race(contenders, settings.rounds, settings.samples, clock, _calls_per_sample(n * n), advance)
        all_rows += rows(contenders, timing, function.label, size)
        all_differences += differences(contenders, function.label, size)
    return all_rows, all_differences, described

"""Settings every benchmark shares, and the process-wide torch state they imply.

Threads are fixed (1 by default on CPU: two threads on a busy 2-core machine made one step
70x slower) and recorded. Compilation is measured cold: inductor's on-disk caches are off, and
dynamo forgets earlier graphs before each size, with a recompile limit high enough for every
variant and grad mode; hitting it is an error rather than a silent fall-back to eager.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from fgi_rewrite.bench.functions import VARIANTS
from fgi_rewrite.bench.timing import Clock

DTYPES = {"float32": torch.float32, "float64": torch.float64, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class Settings:
    modes: tuple[str, ...] = ("eager", "script", "compile")
    variants: tuple[str, ...] = VARIANTS
    rounds: int = 7
    samples: int = 3
    warmup: int = 3
    backend: str = "inductor"
    device: str = "cpu"
    dtype: str = "float32"
    threads: int | None = 1
    seed: int = 0

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]


@contextmanager
def configured(settings: Settings) -> Iterator[int]:
    """Threads and compiler configuration for the run, restored afterwards (the benchmarks also
    run inside test processes); yields the thread count in force."""
    import torch._dynamo.config as dynamo_config
    import torch._inductor.config as inductor_config

    previous = torch.get_num_threads()
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    try:
        with warnings.catch_warnings(), \
                dynamo_config.patch(recompile_limit=64, fail_on_recompile_limit_hit=True), \
                inductor_config.patch(force_disable_caches=True):
            # Caches are off on purpose; dynamo would say so once per run.
            warnings.filterwarnings("ignore", message=".*force_disable_caches.*")
            yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)
        torch._dynamo.reset()


def fresh_compiler() -> None:
    torch._dynamo.reset()


def compile_fn(fn: Callable[..., Any], backend: str) -> Callable[..., Any]:
    # dynamic=False: every size gets graphs specialised to it, as a single-size user would.
    return torch.compile(fn, fullgraph=True, dynamic=False, backend=backend)


def clock_for(settings: Settings) -> Clock:
    return Clock(settings.device)

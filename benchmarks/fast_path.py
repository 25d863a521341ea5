"""Measure the inference fast path of emitted FGI functions (`rewrite --fast-path`).

One Gaussian-surrogate spike Function (sigma 1), its FGI rewrite as `rewrite` emits it without
and with the fast path, timed side by side in eager mode, under torch.jit.script and under
torch.compile, for no-grad inference and for forward+backward training. Variants alternate
within each round so that their ratios survive a noisy machine; medians and interquartile
ranges are reported, threads fixed (1 by default) and recorded.

    python benchmarks/fast_path.py [--sizes 128 1024] [--rounds 15] [--threads 1] [--no-compile]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from fgi_rewrite.rewrite import RewriteOptions, rewrite_module

SOURCE = '''
import math
import torch


class GaussianSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
'''


def load(options: RewriteOptions | None, folder: Path) -> Callable[[torch.Tensor], torch.Tensor]:
    """Import the source as a real module file: torch.jit.script reads functions' source."""
    source = SOURCE if options is None else rewrite_module(SOURCE.encode(), options).source.decode()
    name = "bench_original" if options is None else f"bench_fgi_{int(options.fast_path)}"
    path = folder / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.GaussianSpike.apply if options is None else module.gaussian_spike


def timed(step: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        step()
    return (time.perf_counter() - start) / repeat


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(values, n=4)
    return q[0], statistics.median(values), q[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    folder = Path(tempfile.mkdtemp(prefix="fgi-bench-"))
    variants = {"custom Function": load(None, folder), "FGI": load(RewriteOptions(fast_path=False), folder),
                "FGI + fast path": load(RewriteOptions(fast_path=True), folder)}
    modes: dict[str, Callable] = {"eager": lambda f: f}
    modes["jit.script"] = torch.jit.script
    if not args.no_compile:
        modes["compile"] = lambda f: torch.compile(f, fullgraph=True)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, rounds {args.rounds}")
    for size in args.sizes:
        x = torch.randn(size, size)
        repeat = max(3, int(2e6 / (size * size)))
        for mode, wrap in modes.items():
            functions = {}
            for name, fn in variants.items():
                try:
                    functions[name] = wrap(fn)
                    xg = x.clone().requires_grad_(True)
                    functions[name](xg).sum().backward()  # warm-up (compiles here)
                    with torch.no_grad():
                        functions[name](x)
                except Exception as error:  # e.g. a custom Function under jit.script
                    print(f"{size:5} {mode:10} {name:16} fails: {str(error).splitlines()[0][:80]}")
                    functions.pop(name, None)
            samples: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.rounds):
                for name, fn in functions.items():
                    def infer(fn=fn, x=x):
                        with torch.no_grad():
                            return fn(x)

                    def train(fn=fn, x=x):
                        xg = x.clone().requires_grad_(True)
                        fn(xg).sum().backward()

                    samples.setdefault((name, "inference"), []).append(timed(infer, repeat))
                    samples.setdefault((name, "training"), []).append(timed(train, repeat))
            for task in ("inference", "training"):
                base = samples.get(("custom Function", task))
                for name in functions:
                    low, mid, high = quartiles(samples[(name, task)])
                    ratio = f"{statistics.median(base) / mid:5.2f}x" if base else "   - "
                    print(f"{size:5} {mode:10} {task:9} {name:16} {mid * 1e6:9.1f} us "
                          f"[{low * 1e6:.1f}-{high * 1e6:.1f}]  speedup vs custom Function {ratio}")


if __name__ == "__main__":
    main()

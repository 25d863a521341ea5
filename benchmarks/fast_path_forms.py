"""The forms of the inference fast path under TorchScript, timed side by side.

The emitted function skips the carrier when grad mode is off. Written as a plain
`if torch.is_grad_enabled():`, TorchScript keeps the branch in the scripted graph, which
splits what its autodiff differentiates: scripted training of the paper's ALIF model then ran
4-7% slower than the paper's hand-written FGI. Forms compared, all on the Gaussian spike the
paper uses, in the same scripted ALIF model (bias-free linear input+recurrence, soft reset,
adaptive threshold, leaky readout), training step (forward, cross-entropy, backward) and
no-grad inference:

- branch: `if torch.is_grad_enabled():` (the default until this measurement);
- eager-only: `if torch.jit.is_scripting() or torch.is_grad_enabled():`, which TorchScript
  resolves statically (no branch in the graph) while eager code keeps the fast path (the
  default now);
- no-fast: no fast path (`rewrite --no-fast-path`);
- paper: the FGI paper's hand-written form.

Variants alternate within each round (the order reversed every other round); medians are
reported as ratios to the paper's form. One thread.

    python benchmarks/fast_path_forms.py [--lengths 28 98] [--rounds 21] [--batch 32]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from fgi_rewrite.bench.model import ALIF


def branch(x: torch.Tensor) -> torch.Tensor:
    x_in = x
    x = x.detach()
    value = (x > 0).to(x.dtype)
    if torch.is_grad_enabled():
        g = 0.3989422804014327 * torch.exp(-0.5 * x * x)
        inj = x_in * g
        value = inj - inj.detach() + value.detach()
    return value


def eager_only(x: torch.Tensor) -> torch.Tensor:
    x_in = x
    x = x.detach()
    value = (x > 0).to(x.dtype)
    if torch.jit.is_scripting() or torch.is_grad_enabled():
        g = 0.3989422804014327 * torch.exp(-0.5 * x * x)
        inj = x_in * g
        value = inj - inj.detach() + value.detach()
    return value


def no_fast(x: torch.Tensor) -> torch.Tensor:
    x_in = x
    x = x.detach()
    value = (x > 0).to(x.dtype)
    g = 0.3989422804014327 * torch.exp(-0.5 * x * x)
    inj = x_in * g
    return inj - inj.detach() + value.detach()


def paper(x: torch.Tensor) -> torch.Tensor:
    step = (x > 0).to(x.dtype)
    g = 0.3989422804014327 * torch.exp(-0.5 * x * x)
    mul = x * g.detach()
    return mul - mul.detach() + step.detach()


FORMS = {"branch": branch, "eager-only": eager_only, "no-fast": no_fast, "paper": paper}


def measure(length: int, batch: int, hidden: int, rounds: int) -> dict[str, dict[str, float]]:
    x = torch.randn(length, batch, 784 // length)
    target = torch.randint(0, 10, (batch,))
    models = {}
    for name, spike in FORMS.items():
        torch.manual_seed(0)
        models[name] = torch.jit.script(ALIF(784 // length, hidden, spike))

    def train(model: torch.nn.Module) -> None:
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x), target).backward()

    def infer(model: torch.nn.Module) -> None:
        with torch.no_grad():
            model(x)

    result = {}
    for phase, step in (("train", train), ("inference", infer)):
        for model in models.values():
            for _ in range(4):  # the profiling executor specialises on the first calls
                step(model)
        times: dict[str, list[float]] = {name: [] for name in models}
        for r in range(rounds):
            for name in (list(models) if r % 2 else list(reversed(models))):
                start = time.perf_counter()
                step(models[name])
                times[name].append(time.perf_counter() - start)
        base = statistics.median(times["paper"])
        result[phase] = {name: base / statistics.median(t) for name, t in times.items()}
        result[phase + " ms"] = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[28, 98])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--repeats", type=int, default=2, help="independent runs per length")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, batch {args.batch}, hidden {args.hidden}, "
          f"{args.rounds} rounds; speed relative to the paper's form under torch.jit.script (higher is faster)")
    print(f"{'T':>4} {'phase':<10} " + " ".join(f"{name:>11}" for name in FORMS))
    for length in args.lengths:
        for _ in range(args.repeats):
            result = measure(length, args.batch, args.hidden, args.rounds)
            for phase in ("train", "inference"):
                print(f"{length:>4} {phase:<10} " + " ".join(f"{result[phase][n]:>10.3f}x" for n in FORMS))


if __name__ == "__main__":
    main()

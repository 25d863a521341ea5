"""`fgi-rewrite bench spike|alif`: parse options, run, print the table, write JSON and plot.

Only click is imported here: torch and the benchmark modules load inside the commands, so
`fgi-rewrite --help` and `scan` stay fast. Data (the table) goes to stdout; the notice that
user code runs, progress and errors go to stderr. Exit 0 when done, 2 for bad input.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

EXIT_ERROR = 2
VARIANT_NAMES = ("custom", "fgi", "fgi-no-fast-path", "paper", "fgi-paper-style")
DEFAULT_VARIANTS = VARIANT_NAMES[:4]  # fgi-paper-style is opt-in
SPIKE_MODES = ("eager", "script", "compile")
ALIF_MODES = ("eager", "script", "compile", "compile-cell")


def _choices(allowed: tuple[str, ...]) -> Callable[[click.Context, click.Parameter, str | None],
                                                   tuple[str, ...] | None]:
    """A comma-separated subset of `allowed`, in the order given; None stays None (unset)."""
    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        items = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
        bad = [v for v in items if v not in allowed]
        if bad or not items:
            raise click.BadParameter(f"{bad[0] if bad else value!r}: choose from {', '.join(allowed)}")
        return items
    return parse


def _integers(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        items = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected comma-separated integers") from None
    if not items or min(items) < 1:
        raise click.BadParameter(f"{value!r}: expected positive integers")
    return items


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options both benchmarks take, outermost last."""
    for decorator in reversed([
        click.option("--function", "function_spec", metavar="PATH::Class",
                     help="Measure your Function class and the function `rewrite` emits for it "
                          "(default: the built-in Gaussian spike). Runs your code."),
        click.option("--unsafe-fixes", is_flag=True, help="Allow a probe-path (unsafe) rewrite of --function."),
        click.option("--variants", default=",".join(DEFAULT_VARIANTS), show_default=True,
                     callback=_choices(VARIANT_NAMES),
                     help="Comma-separated; custom is always run (the baseline); paper only for the built-in; "
                          "fgi-paper-style: the emitted function in --style paper."),
        click.option("--rounds", type=click.IntRange(min=1), default=7, show_default=True,
                     help="Rounds; in each, every variant runs --samples samples, the order rotated."),
        click.option("--samples", type=click.IntRange(min=1), default=3, show_default=True,
                     help="Timed samples per variant and round."),
        click.option("--warmup", type=click.IntRange(min=1), default=3, show_default=True,
                     help="Untimed calls before the rounds (their excess is reported as warm-up)."),
        click.option("--backend", default="inductor", show_default=True, help="torch.compile backend."),
        click.option("--device", default="cpu", show_default=True, help="cpu, or cuda (timed with CUDA events)."),
        click.option("--dtype", type=click.Choice(["float32", "float64", "bfloat16", "float16"]), default="float32",
                     show_default=True),
        click.option("--threads", type=click.IntRange(min=1), default=None,
                     help="torch.set_num_threads (default: 1 on CPU; left as is on CUDA). Recorded."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write every figure to FILE (schema fgi-rewrite-bench/1)."),
        click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write speedup bars with their interquartile range to FILE.png."),
    ]):
        command = decorator(command)
    return command


def _command_line(ctx: click.Context) -> str:
    """The command with every option spelled out (defaults included), so it reproduces the run."""
    words = ["fgi-rewrite", *ctx.command_path.split()[1:]]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if not isinstance(param, click.Option) or value is None or value is False:
            continue
        flag = param.opts[0]
        if param.is_flag:
            words.append(flag)
        else:
            shown = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
            if param.multiple:
                for item in value:
                    words += [flag, str(item)]
                continue
            words += [flag, shown]
    return " ".join(shlex.quote(w) for w in words)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@contextmanager
def _progress() -> Iterator[Callable[[str, int], Callable[[], None]]]:
    """One rich progress bar on stderr, re-labelled for each stage."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting", total=1)

        def stage(description: str, total: int) -> Callable[[], None]:
            bar.reset(task, total=max(1, total), description=description)
            return lambda: bar.advance(task)

        yield stage


def _load_function(function_spec: str | None, unsafe_fixes: bool) -> Any:
    from fgi_rewrite.bench.functions import BenchError, builtin, user_function

    try:
        if function_spec is None:
            return builtin()
        path = function_spec.rpartition("::")[0] or function_spec
        click.echo(f"bench runs your code: executing {path} and its FGI rewrite in this process", err=True)
        return user_function(function_spec, unsafe_fixes)
    except BenchError as error:
        _fail(str(error))


def _check_device(device: str) -> None:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        _fail(f"--device {device}: CUDA is not available in this torch build or machine")
    if device != "cpu" and not device.startswith("cuda"):
        _fail(f"--device {device}: expected cpu or cuda[:N]")


def _finish(kind: str, ctx: click.Context, settings: Any, threads: int, rows: list[Any], differences: list[Any],
            train: dict[str, Any] | None, extra: dict[str, Any], json_path: Path | None,
            plot_path: Path | None, title: str) -> None:
    from fgi_rewrite.bench.results import document, print_table, write_json

    if rows:
        print_table(rows, differences, title)
    if json_path is not None:
        content = document(kind, _command_line(ctx), settings.device, settings.dtype, threads, rows, differences,
                           train, extra)
        try:
            write_json(json_path, content)
        except OSError as error:
            _fail(f"{json_path}: cannot write: {error.strerror or error}")
        click.echo(f"wrote {json_path}", err=True)
    if plot_path is not None and rows:
        from fgi_rewrite.bench.plot import plot

        try:
            plot(rows, plot_path, title)
        except OSError as error:
            _fail(f"{plot_path}: cannot write: {error.strerror or error}")
        click.echo(f"wrote {plot_path}", err=True)


def _variants(chosen: tuple[str, ...]) -> tuple[str, ...]:
    return ("custom", *[v for v in chosen if v != "custom"])


@click.group()
def bench() -> None:
    """Time custom-Function spikes against the FGI functions `rewrite` emits (imports torch).

    Variants run side by side in one process, alternated round by round; medians with their
    interquartile range are reported, and speedups against the custom Function in eager mode.
    """


@bench.command()
@_common
@click.option("--sizes", default="128,1024", show_default=True, callback=_integers,
              help="Comma-separated n: inputs of n x n elements.")
@click.option("--modes", default=",".join(SPIKE_MODES), show_default=True, callback=_choices(SPIKE_MODES),
              help="eager is always run (the baseline).")
@click.option("--arg", "arguments", multiple=True, metavar="NAME=EXPR",
              help="Value of a non-tensor input of --function (a Python expression; x is an input tensor).")
@click.pass_context
def spike(ctx: click.Context, function_spec: str | None, unsafe_fixes: bool, variants: tuple[str, ...], rounds: int,
          samples: int, warmup: int, backend: str, device: str, dtype: str, threads: int | None, seed: int,
          json_path: Path | None, plot_path: Path | None, sizes: tuple[int, ...], modes: tuple[str, ...],
          arguments: tuple[str, ...]) -> None:
    """One spike function alone: training (forward + backward) and no-grad inference."""
    from fgi_rewrite.cli import require_torch

    require_torch("bench")
    given: dict[str, str] = {}
    for item in arguments:
        name, sep, expression = item.partition("=")
        if not sep or not name.strip() or not expression.strip():
            raise click.BadParameter(f"{item!r}: expected NAME=EXPR", param_hint="--arg")
        given[name.strip()] = expression.strip()
    function = _load_function(function_spec, unsafe_fixes)
    from fgi_rewrite.bench.functions import BenchError, unknown_arguments
    from fgi_rewrite.bench.options import configured
    from fgi_rewrite.bench.spike import SpikeSettings, run

    unknown = unknown_arguments(function, given)
    if unknown:
        _fail(f"--arg {unknown[0]}: {function.label} has no input of that name")
    settings = SpikeSettings(modes=("eager", *[m for m in modes if m != "eager"]), variants=_variants(variants),
                             rounds=rounds, samples=samples, warmup=warmup, backend=backend, device=device,
                             dtype=dtype, threads=threads if threads is not None or device != "cpu" else 1,
                             seed=seed, sizes=sizes, arguments=given)
    _check_device(device)
    with configured(settings) as threads_used:
        try:
            with _progress() as progress:
                rows, differences, described = run(function, settings, progress)
        except BenchError as error:
            _fail(str(error))
    extra = {"rounds": rounds, "samples": samples, "warmup": warmup, "backend": backend, "seed": seed,
             "arguments": described}
    _finish("spike", ctx, settings, threads_used, rows, differences, None, extra, json_path, plot_path,
            f"bench spike: {function.label}, {dtype} on {device}, {threads_used} thread(s)")


@bench.command()
@_common
@click.option("--lengths", default="28,49,98,196,392,784", show_default=True, callback=_integers,
              help="Sequence lengths T (each divides 784: 784/T pixels per step).")
@click.option("--modes", default=",".join(ALIF_MODES), show_default=True, callback=_choices(ALIF_MODES),
              help="eager is always run (the baseline).")
@click.option("--hidden", type=click.IntRange(min=1), default=128, show_default=True, help="ALIF neurons.")
@click.option("--batch", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--compile-max-t", type=click.IntRange(min=1), default=None,
              help="Longest T for whole-model compile, which unrolls every step (default: 98 on CPU, "
                   "no limit on CUDA).")
@click.option("--compile-variants", default=None, callback=_choices(VARIANT_NAMES),
              help="Variants to run under whole-model compile, whose warm-up dominates the run (default: all).")
@click.option("--round-budget", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Run fewer rounds (at least 3) at a length where one round would take longer.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              help="Adam learning rate (amsgrad).")
@click.option("--train", "train_demo", is_flag=True,
              help="Instead of timing: train custom Function and FGI from one seed and compare the loss curves.")
@click.option("--data", "data_dir", type=click.Path(path_type=Path),
              help="With --train: MNIST IDX files in DIR instead of scikit-learn's 8x8 digits.")
@click.option("--pixels-per-step", type=click.IntRange(min=1), default=28, show_default=True,
              help="With --train --data: pixels fed per step (784/p steps).")
@click.option("--train-steps", type=click.IntRange(min=1), default=1000, show_default=True,
              help="With --train: optimiser steps per variant.")
@click.option("--train-batch", type=click.IntRange(min=1), default=64, show_default=True)
@click.pass_context
def alif(ctx: click.Context, function_spec: str | None, unsafe_fixes: bool, variants: tuple[str, ...], rounds: int,
         samples: int, warmup: int, backend: str, device: str, dtype: str, threads: int | None, seed: int,
         json_path: Path | None, plot_path: Path | None, lengths: tuple[int, ...], modes: tuple[str, ...],
         hidden: int, batch: int, compile_max_t: int | None, compile_variants: tuple[str, ...] | None,
         round_budget: float | None, lr: float,
         train_demo: bool, data_dir: Path | None, pixels_per_step: int, train_steps: int, train_batch: int) -> None:
    """The FGI paper's timing study: one recurrent ALIF layer on Sequential-MNIST-shaped input."""
    from fgi_rewrite.cli import require_torch

    require_torch("bench")
    bad = [t for t in lengths if 784 % t]
    if bad:
        raise click.BadParameter(f"{bad[0]} does not divide 784 (pixels of one image)", param_hint="--lengths")
    if data_dir is not None and not train_demo:
        raise click.BadParameter("--data is for the training demo; add --train", param_hint="--data")
    function = _load_function(function_spec, unsafe_fixes)
    from fgi_rewrite.bench.alif import AlifSettings
    from fgi_rewrite.bench.functions import BenchError, check_single_input
    from fgi_rewrite.bench.options import configured

    try:
        check_single_input(function)
    except BenchError as error:
        _fail(str(error))
    if compile_max_t is None and device == "cpu":
        compile_max_t = 98
    settings = AlifSettings(modes=("eager", *[m for m in modes if m != "eager"]), variants=_variants(variants),
                            rounds=rounds, samples=samples, warmup=warmup, backend=backend, device=device,
                            dtype=dtype, threads=threads if threads is not None or device != "cpu" else 1,
                            seed=seed, lengths=lengths, hidden=hidden, batch=batch, compile_max_t=compile_max_t,
                            compile_variants=compile_variants, round_budget_s=round_budget, lr=lr)
    _check_device(device)
    if train_demo:
        with configured(settings) as threads_used:
            _train(ctx, function, settings, threads_used, data_dir, pixels_per_step, train_steps, train_batch,
                   json_path, plot_path)
        return
    from fgi_rewrite.bench.alif import run

    with configured(settings) as threads_used:
        try:
            with _progress() as progress:
                rows, differences, rounds_used = run(function, settings, progress)
        except BenchError as error:
            _fail(str(error))
    title = f"bench alif: {function.label}, hidden {hidden}, batch {batch}, {dtype} on {device}, " \
            f"{threads_used} thread(s)"
    extra = {"rounds": rounds, "rounds_by_size": rounds_used, "samples": samples, "warmup": warmup,
             "backend": backend, "seed": seed, "hidden": hidden, "batch": batch, "lengths": list(lengths),
             "compile_max_t": compile_max_t, "compile_variants": list(compile_variants or variants), "lr": lr}
    _finish("alif", ctx, settings, threads_used, rows, differences, None, extra, json_path, plot_path, title)


def _train(ctx: click.Context, function: Any, settings: Any, threads: int, data_dir: Path | None,
           pixels_per_step: int, steps: int, batch: int, json_path: Path | None, plot_path: Path | None) -> None:
    from fgi_rewrite.bench.data import DataError, digits, mnist
    from fgi_rewrite.bench.options import DTYPES
    from fgi_rewrite.bench.train import TrainSettings, train

    try:
        dataset = mnist(data_dir, pixels_per_step) if data_dir is not None else digits(settings.seed)
    except DataError as error:
        _fail(str(error))
    train_settings = TrainSettings(steps=steps, batch=batch, hidden=settings.hidden, lr=settings.lr,
                                   seed=settings.seed, device=settings.device, dtype=DTYPES[settings.dtype])
    with _progress() as progress:
        result = train(function, dataset, train_settings, progress)
    click.echo(f"training demo: {result['data']}; {result['steps']} steps of batch {batch}, hidden "
               f"{settings.hidden}, lr {settings.lr}, seed {settings.seed}, {threads} thread(s)")
    click.echo(f"  loss curves within {result['tolerance']:g} for {result['steps_within_tolerance']} of "
               f"{result['steps']} steps (largest difference {result['max_loss_difference']:.3g})")
    for name in ("custom", "fgi"):
        click.echo(f"  {name:7} final loss {result['final_loss'][name]:.6f}  "
                   f"test accuracy {result['test_accuracy'][name]:.2%}")
    _finish("alif", ctx, settings, threads, [], [], result, {"train": True}, json_path, None, "")
    if plot_path is not None:
        from fgi_rewrite.bench.plot import plot_losses

        try:
            plot_losses(result["loss"], plot_path, f"training demo: {result['data']}")
        except OSError as error:
            _fail(f"{plot_path}: cannot write: {error.strerror or error}")
        click.echo(f"wrote {plot_path}", err=True)

"""`fgi-rewrite report`: one document for a team deciding on a migration.

Only click is imported here at module level; libcst, torch's side processes and matplotlib
come in when the command runs, and with --report-only neither torch nor user code is touched.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from fgi_rewrite.report.collect import Report

FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".json": "json"}
EXIT_WRITTEN, EXIT_ERROR = 0, 2


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    result = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise click.BadParameter(f"{value!r}: expected Cls.param=EXPR", param_hint="--arg")
        result[key.strip()] = rest.strip()
    return result


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _write(target: Path, data: bytes) -> None:
    """Atomically (temporary file + rename beside it): an interrupted run leaves the old
    report or the new one, never half of one."""
    from fgi_rewrite.writer import write_copy

    write_copy(target.parent, Path(target.name), data)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-o", "--output", "outputs", multiple=True, required=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=str),
              help="Report file; the suffix picks the format: .html (self-contained), .md (plots in "
                   "<stem>_files/), .json. Repeat to write several from one run.")
@click.option("--report-only", is_flag=True,
              help="Static sections only (scan results and diffs): imports and runs nothing, needs no torch.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Also apply and verify unsafe fixes.")
@click.option("--style", type=click.Choice(["signed-zero", "paper", "guarded"]), default=None,
              help="Form of the emitted functions (see `rewrite --help`).")
@click.option("--fast-path/--no-fast-path", default=None, help="Inference fast path in the emitted functions.")
@click.option("--bench", "bench_file", type=click.Path(dir_okay=False, path_type=str), metavar="FILE",
              help="Speed figures from `fgi-rewrite bench --json`.")
@click.option("--seed", type=int, default=None, help="Seed of verify's random inputs (default 0).")
@click.option("--dtype", "dtypes", multiple=True, type=click.Choice(["float64", "float32", "bfloat16", "float16"]),
              help="Dtypes verify checks (default: all four).")
@click.option("--compat", type=click.Choice(["none", "default", "full"]), default=None,
              help="Compatibility matrix cells verify runs (default: default).")
@click.option("--arg", "arguments", multiple=True, metavar="Cls.param=EXPR",
              help="Value for a non-differentiable input during verification (a Python expression).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files and directories matching GLOB.")
@click.option("--no-gitignore", is_flag=True, help="Also report on files that .gitignore excludes.")
@click.option("--screenshot", type=click.Path(dir_okay=False, path_type=str), metavar="FILE.png",
              help="Also render the HTML report with headless Chromium into a PNG (needs chromium on PATH).")
def report(paths: tuple[str, ...], outputs: tuple[str, ...], report_only: bool, unsafe_fixes: bool | None,
           style: str | None, fast_path: bool | None, bench_file: str | None, seed: int | None,
           dtypes: tuple[str, ...], compat: str | None, arguments: tuple[str, ...], exclude: tuple[str, ...],
           no_gitignore: bool, screenshot: str | None) -> None:
    """Write a migration report on PATHS: summary, then per class its diff, verification,
    compatibility matrix, speed and a plot of value and surrogate derivative.

    Without --report-only this RUNS YOUR CODE, as `verify` does. Exit 0 when written; 2 when
    nothing could be written, or when an input file could not be read or parsed (the report
    is written and lists it).
    """
    from fgi_rewrite.cli import _pick, _settings

    targets = [Path(o) for o in outputs]
    html_targets = _check_outputs(targets, screenshot)
    settings = _settings(paths)
    configured = settings.verify
    from fgi_rewrite.report.collect import ReportOptions
    from fgi_rewrite.verify.plan import DEFAULT_DTYPES

    options = ReportOptions(
        report_only=report_only, unsafe_fixes=_pick(unsafe_fixes, settings.unsafe_fixes, False),
        style=_pick(style, settings.style, "signed-zero"), fast_path=_pick(fast_path, settings.fast_path, True),
        seed=_pick(seed, configured.get("seed"), 0), dtypes=dtypes or tuple(configured.get("dtypes", DEFAULT_DTYPES)),
        compat=_pick(compat, configured.get("compat"), "default"),
        arguments={**configured.get("arguments", {}), **_pairs(arguments)}, inputs=dict(configured.get("inputs", {})))
    bad = [d for d in options.dtypes if d not in DEFAULT_DTYPES]
    if bad:
        _fail(f"{settings.source}: unknown dtype {bad[0]!r}")
    bench = None
    if bench_file is not None:
        from fgi_rewrite.report.bench import BenchError, load_bench

        try:
            bench = load_bench(Path(bench_file))
        except BenchError as error:
            _fail(str(error))
    if not report_only:
        import importlib.util

        missing = [name for name in ("torch", "matplotlib") if importlib.util.find_spec(name) is None]
        if missing:
            _fail(f"verification and plots need {' and '.join(missing)} (pip install 'fgi-rewrite[verify]'); "
                  "--report-only writes the static sections without them")
        click.echo("report runs your code: verify imports the original modules and their FGI twins", err=True)

    from fgi_rewrite.files import discover, display_path
    from fgi_rewrite.model import SkippedFile
    from fgi_rewrite.report.collect import attach_bench, attach_verdicts, collect

    found = discover(paths, exclude=(*settings.exclude, *exclude), use_gitignore=not no_gitignore)
    # The report's per-class hunks and plots are read from .py files; a notebook is named, not dropped.
    notebooks = [SkippedFile(display_path(f), "notebooks are not in reports yet (scan, rewrite and verify read them)")
                 for f in found.files if f.suffix == ".ipynb"]
    files = [(f, display_path(f)) for f in found.files if f.suffix != ".ipynb"]
    document = collect(files, paths, options)
    document.errors[:0] = found.errors
    document.skipped = sorted([*found.skipped, *notebooks], key=lambda s: s.path)
    if not report_only:
        from fgi_rewrite.verify.plan import VerifyOptions, verify

        verdicts, _ = verify(files, VerifyOptions(  # its file errors are the ones collect found
            unsafe_fixes=options.unsafe_fixes, seed=options.seed, dtypes=options.dtypes,
            compat=options.compat, arguments=options.arguments, inputs=options.inputs, style=options.style,
            fast_path=options.fast_path, curves=True))
        attach_verdicts(document, verdicts)
    if bench is not None:
        attach_bench(document, bench, bench_file or "")
    for file_error in document.errors:
        where = file_error.path + (f":{file_error.line}" if file_error.line else "")
        click.echo(f"error: {where}: {file_error.code} {file_error.message}", err=True)

    _write_outputs(document, targets)
    _print_summary(document)
    failed = bool(document.errors)
    if screenshot is not None:
        from fgi_rewrite.report.browser import BrowserError
        from fgi_rewrite.report.browser import screenshot as take

        try:
            height = take(html_targets[0], Path(screenshot))
            click.echo(f"wrote {screenshot} (1280x{height} px)", err=True)
        except BrowserError as error:
            click.echo(f"error: --screenshot: {error}", err=True)
            failed = True
    sys.exit(EXIT_ERROR if failed else EXIT_WRITTEN)


def _check_outputs(targets: list[Path], screenshot: str | None) -> list[Path]:
    """The .html targets; every problem with the outputs is found before any work is done."""
    for target in targets:
        if target.suffix.lower() not in FORMATS:
            raise click.BadParameter(f"{target}: unknown suffix {target.suffix or '(none)'!r}; "
                                     "use .html, .md or .json", param_hint="-o/--output")
    html_targets = [t for t in targets if FORMATS[t.suffix.lower()] == "html"]
    if screenshot is not None:
        from fgi_rewrite.report.browser import find_chromium

        if not html_targets:
            raise click.BadParameter("needs an .html report among the -o files", param_hint="--screenshot")
        if find_chromium() is None:
            _fail("--screenshot needs Chromium on PATH (chromium, chromium-browser or google-chrome); "
                  "install it, e.g. `apt-get install chromium`, or leave out --screenshot")
    return html_targets


def _write_outputs(document: Report, targets: list[Path]) -> None:
    from fgi_rewrite.writer import WriteRefused

    formats = {FORMATS[t.suffix.lower()] for t in targets}
    pngs: dict[str, bytes] = {}
    if formats & {"html", "md"}:
        from fgi_rewrite.report.plot import curves_png

        for entry in document.classes:
            if entry.verdict is not None and "x" in entry.verdict.curves:
                pngs[entry.anchor] = curves_png(entry.verdict.curves, f"{entry.report.qualname}: original and FGI")
    for target in targets:
        kind = FORMATS[target.suffix.lower()]
        try:
            if kind == "html":
                from fgi_rewrite.report.render_html import render_html

                _write(target, render_html(document, pngs).encode("utf-8"))
            elif kind == "md":
                from fgi_rewrite.report.render_markdown import render_markdown

                folder = f"{target.stem}_files"
                for anchor, png in pngs.items():  # the pictures first: the .md appears complete or not at all
                    _write(target.parent / folder / f"{anchor}.png", png)
                _write(target, render_markdown(document, {a: f"{folder}/{a}.png" for a in pngs}).encode("utf-8"))
            else:
                from fgi_rewrite.report.render_json import render_json

                _write(target, render_json(document).encode("utf-8"))
        except (WriteRefused, OSError) as error:
            _fail(f"cannot write {target}: {getattr(error, 'strerror', None) or error}")
        click.echo(f"wrote {target}", err=True)


def _print_summary(document: Report) -> None:
    s = document.summary()
    line = (f"{s['files']} files, {s['classes']} classes: {s['convertible']} convertible ({s['safe']} safe, "
            f"{s['unsafe']} unsafe), {s['rewritten']} rewritten, {s['refused']} refused, {s['ignored']} ignored, "
            f"{s['errors']} errors")
    if "verification" in s:
        line += "; verification: " + ", ".join(f"{n} {status}" for status, n in s["verification"].items())
        line += f", {s['hazards']} hazards (seed {document.options.seed})"
    else:
        line += "; not verified (--report-only)"
    click.echo(line, err=True)

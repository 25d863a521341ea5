"""Command line: parse arguments, call the engine, print. Heavy imports stay inside commands.

Exit codes (one table for every command): 0 clean, 1 findings, 2 usage error, unreadable
or unparsable input, or internal error; the highest applicable wins.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fgi_rewrite import __version__

if TYPE_CHECKING:  # annotations only: the modules stay off scan's start-up path
    from fgi_rewrite.rewrite import RewriteOptions
    from fgi_rewrite.settings import Settings
    from fgi_rewrite.verify.compare import Verdict

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _split_codes(values: Sequence[str]) -> tuple[str, ...]:
    codes = tuple(c.strip().upper() for value in values for c in value.split(",") if c.strip())
    from fgi_rewrite.codes import CODES

    for code in codes:
        if not any(known.startswith(code) for known in CODES):
            raise click.BadParameter(f"unknown code {code!r}; `fgi-rewrite explain` lists them")
    return codes


def _settings(paths: Sequence[str]):
    """[tool.fgi-rewrite] from the nearest pyproject.toml; a bad one is a usage error."""
    from fgi_rewrite.settings import SettingsError, load

    try:
        return load(paths)
    except SettingsError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fgi-rewrite")
def main() -> None:
    """Migrate surrogate-gradient autograd.Function classes to forward gradient injection."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--format", "output_format", type=click.Choice(["text", "json", "sarif", "github"]), default="text",
              show_default=True, help="text: one finding per line, wrapped at the terminal's width; "
                                      "json: one object on stdout (schema/fgi-rewrite.schema.json); "
                                      "sarif: SARIF 2.1.0; github: workflow annotations.")
@click.option("--select", multiple=True, metavar="CODE",
              help="Report only these codes (prefixes allowed, comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODE", help="Do not report these codes (prefixes allowed).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files and directories matching GLOB.")
@click.option("--no-gitignore", is_flag=True, help="Also scan files that .gitignore excludes.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Files analysed in parallel processes; output order stays the same.")
def scan(paths: tuple[str, ...], output_format: str, select: tuple[str, ...], ignore: tuple[str, ...],
         exclude: tuple[str, ...], no_gitignore: bool, jobs: int) -> None:
    """Find and classify every torch.autograd.Function in PATHS.

    Reads the files with libcst only: nothing is imported or executed.
    """
    from fgi_rewrite.files import discover, display_path
    from fgi_rewrite.scan import Selection, exit_code, scan_paths

    selection = Selection(_split_codes(select), _split_codes(ignore))
    settings = _settings(paths)
    found = discover(paths, exclude=(*settings.exclude, *exclude), use_gitignore=not no_gitignore)
    result = scan_paths(found.files, display_path, selection, jobs=jobs)
    result.errors[:0] = found.errors
    result.skipped.extend(found.skipped)
    if output_format == "json":
        from fgi_rewrite.output import write_json

        write_json(result, "scan", sys.stdout)
    elif output_format == "sarif":
        from fgi_rewrite.output import write_sarif

        write_sarif(result, sys.stdout)
    elif output_format == "github":
        from fgi_rewrite.output import write_github

        write_github(result, sys.stdout)
    else:
        from fgi_rewrite.output import write_text

        write_text(result)
    sys.exit(exit_code(result))


@main.command()
@click.argument("code", required=False)
def explain(code: str | None) -> None:
    """Print the documentation of CODE (or its name): meaning, why, fix or way out, example; or list every code."""
    from fgi_rewrite.codes import CODES, lookup, render_markdown, render_text

    if code is None:
        for known in CODES.values():
            click.echo(f"{known.code}  {known.name:20} {known.status:12} {known.summary}")
        return
    entry = lookup(code)
    if entry is None:
        click.echo(f"error: unknown code {code!r}; run `fgi-rewrite explain` for the list", err=True)
        sys.exit(EXIT_ERROR)
    if sys.stdout.isatty():  # rich only for a person: pipes and files get the plain text
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(render_markdown(entry), code_theme="ansi_dark"))
    else:
        click.echo(render_text(entry), nl=False)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff on stdout; write nothing.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when a file would change.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=str),
              help="Write rewritten copies under DIR, mirroring the tree, instead of in place.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None,
              help="Also apply unsafe fixes (probed or interprocedural gradients). Default: off.")
@click.option("--style", type=click.Choice(["signed-zero", "paper", "guarded"]), default=None,
              help="signed-zero (default): value.detach() - (inj.detach() - inj), keeps -0.0; "
                   "paper: inj - inj.detach() + value.detach(); guarded: signed-zero with the carrier "
                   "zeroed where it is not finite, so ±inf/NaN inputs and overflowing surrogates keep the value.")
@click.option("--fast-path/--no-fast-path", default=None,
              help="Return the value without the carrier when grad mode is off (default: on; see README).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files and directories matching GLOB.")
@click.option("--no-gitignore", is_flag=True, help="Also rewrite files that .gitignore excludes.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Files rewritten in parallel processes; output order stays the same.")
@click.option("--verify", "verify_first", is_flag=True,
              help="Run verify first (RUNS YOUR CODE) and write only the classes it finds equivalent.")
def rewrite(paths: tuple[str, ...], show_diff: bool, check: bool, out_dir: str | None, unsafe_fixes: bool | None,
            style: str | None, fast_path: bool | None, exclude: tuple[str, ...], no_gitignore: bool,
            jobs: int, verify_first: bool) -> None:
    """Rewrite convertible Function classes in PATHS to FGI functions.

    Safe fixes are applied by default; nothing is imported or executed, except with --verify.
    """
    from pathlib import Path

    from fgi_rewrite.files import discover, display_path
    from fgi_rewrite.rewrite import RewriteOptions
    from fgi_rewrite.rewrite_files import RewriteRun

    settings = _settings(paths)
    found = discover(paths, exclude=(*settings.exclude, *exclude), use_gitignore=not no_gitignore)
    options = RewriteOptions(
        unsafe_fixes=_pick(unsafe_fixes, settings.unsafe_fixes, False),
        style=_pick(style, settings.style, "signed-zero"),
        fast_path=_pick(fast_path, settings.fast_path, True),
    )
    run = RewriteRun(options,
                     mode="diff" if show_diff else "check" if check else "out" if out_dir else "write",
                     out_dir=Path(out_dir) if out_dir else None)
    for error in found.errors:
        run.error(error.path, None, error.message)
    for skipped in found.skipped:
        click.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)
    from dataclasses import replace as with_context

    from fgi_rewrite.analysis.project import project_context
    from fgi_rewrite.parallel import ordered_map
    from fgi_rewrite.progress import tracked
    from fgi_rewrite.rewrite_files import rewrite_file

    context = project_context(found.files)
    holds = _verified_holds(found.files, options, settings) if verify_first else {}
    items = [(file, display_path(file), with_context(options, context=context[file.resolve()],
                                                     hold=holds.get(file.resolve(), ())))
             for file in found.files]
    results = tracked(ordered_map(rewrite_file, items, jobs), len(items), "rewriting")
    for (file, shown, _), done in zip(items, results, strict=True):
        run.record(file, shown, done)
    sys.exit(run.finish())


def _input_specs(context: click.Context, parameter: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    """--input Cls.x=SPEC, each checked here (a usage error naming the bad part); "Cls.x" -> SPEC."""
    from fgi_rewrite.verify.inputs import InputSpecError, parse_input_option

    specs = {}
    for value in values:
        try:
            key, _ = parse_input_option(value)
        except InputSpecError as error:
            raise click.BadParameter(str(error), context, parameter) from None
        specs[key] = value.partition("=")[2].strip()
    return specs


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Also verify unsafe (probe-path) rewrites.")
@click.option("--against", type=click.Path(exists=True, file_okay=False, path_type=str),
              help="Compare with an already rewritten copy: the DIR of `rewrite --out DIR` (run from the same "
                   "directory), or a hand migration mirroring the import root (e.g. a copy of src/).")
@click.option("--map", "mapping", multiple=True, metavar="Cls=module:function",
              help="Where the copy given with --against keeps a class's replacement.")
@click.option("--arg", "arguments", multiple=True, metavar="Cls.param=EXPR",
              help="Value for a non-differentiable input (a Python expression; x is the input tensor).")
@click.option("--input", "inputs", multiple=True, metavar="Cls.x=SPEC", callback=_input_specs,
              help="Shape, dtype or value domain of an input: shape:4,3,8, dtype:float64, "
                   "domain:probability|positive|spikes|normal|around:0.3; join with ';'.")
@click.option("--seed", type=int, default=None, help="Seed of the random inputs (recorded; default 0).")
@click.option("--dtype", "dtypes", multiple=True, type=click.Choice(["float64", "float32", "bfloat16", "float16"]),
              help="Dtypes to check (default: all four).")
@click.option("--compat", type=click.Choice(["none", "default", "full"]), default=None,
              help="Compatibility matrix: default cells, or full (adds torch.compile and torch.export; slow).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files and directories matching GLOB.")
@click.option("--strict", is_flag=True, help="Exit 1 when a rewritten class could not be verified (skipped or error).")
@click.option("--device", "devices", multiple=True, type=click.Choice(["cpu", "cuda"]),
              help="Devices to run on (default: CPU, and CUDA when torch sees a GPU).")
def verify(paths: tuple[str, ...], unsafe_fixes: bool | None, against: str | None, mapping: tuple[str, ...],
           arguments: tuple[str, ...], inputs: dict[str, str], seed: int | None, dtypes: tuple[str, ...],
           compat: str | None, output_format: str, exclude: tuple[str, ...], strict: bool,
           devices: tuple[str, ...]) -> None:
    """Run every rewritten class beside its FGI function and compare them.

    This RUNS YOUR CODE: the original modules and their rewritten twins are imported and
    executed (each side in a process of its own). Nothing is written to PATHS.
    """
    from pathlib import Path

    from fgi_rewrite.files import discover, display_path
    from fgi_rewrite.verify.plan import DEFAULT_DTYPES, VerifyOptions
    from fgi_rewrite.verify.plan import verify as run_verify

    def pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
        result = {}
        for value in values:
            key, sep, rest = value.partition("=")
            if not sep or not key or not rest:
                raise click.BadParameter(f"{value!r}: expected {what}")
            result[key.strip()] = rest.strip()
        return result

    settings = _settings(paths)
    configured = settings.verify
    seed = _pick(seed, configured.get("seed"), 0)
    options = VerifyOptions(unsafe_fixes=_pick(unsafe_fixes, settings.unsafe_fixes, False), seed=seed,
                            dtypes=dtypes or tuple(configured.get("dtypes", DEFAULT_DTYPES)),
                            compat=_pick(compat, configured.get("compat"), "default"),
                            arguments={**configured.get("arguments", {}), **pairs(arguments, "Cls.param=EXPR")},
                            inputs={**configured.get("inputs", {}), **inputs},
                            against=Path(against) if against else None, mapping=pairs(mapping, "Cls=module:function"),
                            devices=devices)
    bad = [d for d in options.dtypes if d not in DEFAULT_DTYPES]
    if bad:
        click.echo(f"error: {settings.source}: unknown dtype {bad[0]!r}", err=True)
        sys.exit(EXIT_ERROR)
    require_torch()
    click.echo("verify runs your code: importing the original modules and their FGI twins", err=True)
    found = discover(paths, exclude=(*settings.exclude, *exclude))
    for error in found.errors:
        click.echo(f"error: {error.message}", err=True)
    verdicts, file_errors = run_verify([(f, display_path(f)) for f in found.files], options)
    found.errors.extend(file_errors)
    from fgi_rewrite.model import location

    for error in file_errors:
        click.echo(f"error: {location(error.path, error.line, None, error.cell)}: {error.code} {error.message}",
                   err=True)
    # Rewritten classes that verify could not run (held-back ones have nothing to verify).
    unverified = [v for v in verdicts if v.rewritten and v.status in ("skipped", "error")]
    if output_format == "json":
        import json

        from fgi_rewrite import __version__

        by_status = {s: sum(v.status == s for v in verdicts) for s in ("equivalent", "different", "skipped", "error")}
        document = {"schema_version": 1, "tool": {"name": "fgi-rewrite", "version": __version__},
                    "command": "verify", "seed": seed, "dtypes": list(options.dtypes),
                    "summary": {"files": len(found.files), "functions": len(verdicts), **by_status,
                                "not_verified": len(unverified),
                                "errors": len(found.errors), "skipped_files": len(found.skipped)},
                    "functions": [v.to_json() for v in verdicts],
                    "errors": [e.to_json() for e in found.errors],
                    "skipped": [{"path": s.path, "reason": s.reason} for s in found.skipped]}
        click.echo(json.dumps(document, indent=2))
    else:
        _write_verdicts(verdicts)
    counts = {s: sum(v.status == s for v in verdicts) for s in ("equivalent", "different", "skipped", "error")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items()) + f" (seed {seed})"
    if unverified:
        summary += f"; {len(unverified)} rewritten class{'es' if len(unverified) > 1 else ''} not verified" + \
            ("" if strict else " (--strict makes this a failure)")
    click.echo(summary, err=True)
    if counts["error"] or found.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if counts["different"] or (strict and unverified) else EXIT_CLEAN)


def _write_verdicts(verdicts: list[Verdict]) -> None:
    """verify's text: `path:line:col: Class: status: reason`, then indented details, each
    wrapped by words at the terminal's width (one line each when piped)."""
    from fgi_rewrite.model import location
    from fgi_rewrite.terminal import INDENT, width_of, wrap

    width = width_of(sys.stdout)

    def detail(label: str, text: str) -> None:
        click.echo("\n".join(wrap(f"{INDENT}{label}:", text, width, indent=INDENT * 2)))

    for v in verdicts:
        report = v.report
        where = location(v.path, report.line, report.column, report.cell) if report is not None else v.path
        click.echo("\n".join(wrap(f"{where}:", f"{v.qualname}: {v.status}: {v.reason}", width)))
        if v.loaded:
            detail("loaded", v.loaded)
        if v.arguments:
            detail("arguments", ", ".join(v.arguments))
        for note in v.notes[:3]:
            detail("note", note)
        for hazard in v.hazards[:3]:
            detail("hazard", hazard)
        for side, cells in v.compat.items():
            if cells:
                detail(side, ", ".join(f"{name} {status}" for name, (status, _) in cells.items()))


def _verified_holds(files: list[Path], options: RewriteOptions, settings: Settings
                    ) -> dict[Path, tuple[tuple[str, str], ...]]:
    """rewrite --verify: the classes verify does not find equivalent, to hold back."""
    from fgi_rewrite.files import display_path
    from fgi_rewrite.verify.gate import verified_holds
    from fgi_rewrite.verify.plan import DEFAULT_DTYPES, VerifyOptions

    require_torch()
    click.echo("rewrite --verify runs your code: importing the original modules and their FGI twins", err=True)
    configured = settings.verify
    verify_options = VerifyOptions(unsafe_fixes=options.unsafe_fixes, style=options.style, fast_path=options.fast_path,
                                   seed=configured.get("seed", 0),
                                   dtypes=tuple(configured.get("dtypes", DEFAULT_DTYPES)), compat="none",
                                   arguments=dict(configured.get("arguments", {})),
                                   inputs=dict(configured.get("inputs", {})))
    holds, verdicts = verified_holds([(f, display_path(f)) for f in files], verify_options)
    counts = {s: sum(v.status == s for v in verdicts if v.rewritten) for s in ("equivalent", "different", "skipped",
                                                                                 "error")}
    click.echo("verified: " + ", ".join(f"{n} {s}" for s, n in counts.items())
               + f"; held back as not verified: {sum(len(h) for h in holds.values())}", err=True)
    return holds


def require_torch(extra: str = "verify") -> None:
    """Commands that run code need torch: say how to get it, never a traceback."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        click.echo(f"error: this command runs your code and needs PyTorch: pip install 'fgi-rewrite[{extra}]' "
                   "(or your own torch>=2.1 build)", err=True)
        sys.exit(EXIT_ERROR)


def _pick(flag, configured, default):
    """A command-line flag beats a setting, which beats the built-in default."""
    return flag if flag is not None else configured if configured is not None else default


from fgi_rewrite.report.cli import report  # noqa: E402

main.add_command(report)


from fgi_rewrite.bench.cli import bench  # noqa: E402

main.add_command(bench)

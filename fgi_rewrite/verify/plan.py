"""`verify`: run every converted class beside its FGI twin and compare what they compute.

The rewrite happens in memory; the original tree and a rewritten copy of it (or a tree the
user migrated, with --against) are each imported in a process of their own by
verify/side.py, which saves values and gradients; this module compares them. Forward values
must be bitwise identical (signed zeros, NaN class, dtype, shape, device); gradients agree
within k ulps of max(|a|, |b|), k = 0 for symbolic rewrites. Non-finite inputs and overflowing
surrogates are hazards, reported apart. This runs user code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import libcst as cst

from fgi_rewrite.analysis.discovery import find_function_classes
from fgi_rewrite.analysis.extract import extract
from fgi_rewrite.analysis.ir import Refusal
from fgi_rewrite.emit.call_sites import module_name
from fgi_rewrite.model import FileError
from fgi_rewrite.rewrite import RewriteOptions, rewrite_module
from fgi_rewrite.scan import could_define_function, scan_module, scan_source
from fgi_rewrite.verify.compare import Case, Verdict

PROBE_ULPS = 16  # probe-path (unsafe) gradients; a Fourier sum of terms needs 9 on the fixtures
DEFAULT_DTYPES = ("float64", "float32", "bfloat16", "float16")


def import_root(path: Path) -> Path:
    folder = path.resolve().parent
    while (folder / "__init__.py").exists():
        folder = folder.parent
    return folder


@dataclass
class VerifyOptions:
    unsafe_fixes: bool = False
    seed: int = 0
    repeats: int = 2
    dtypes: tuple[str, ...] = DEFAULT_DTYPES
    compat: Literal["none", "default", "full"] = "default"
    arguments: dict[str, str] = field(default_factory=dict)  # "Cls.param" -> Python expression
    against: Path | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # "Cls" -> "module:function"
    # The rewrite being verified (report --style/--no-fast-path verifies what its diff shows).
    style: str = "signed-zero"
    fast_path: bool = True
    # Also evaluate value and d/dx over an input range on both sides, for report's plot.
    curves: bool = False
    # Devices to run on: "cpu", "cuda"; empty means CPU, and CUDA when torch sees a GPU.
    devices: tuple[str, ...] = ()
    # Classes the rewrite leaves alone, by resolved file (see RewriteOptions.hold).
    hold: dict[Path, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # The files whose star imports and subclasses count, when more than the files verified.
    context_files: tuple[Path, ...] = ()


def argument_spec(ir: Any) -> list[dict[str, Any]]:
    """What the running side needs to build each input (see arguments.make_arguments)."""
    import re

    from fgi_rewrite.analysis.discovery import code_of

    forward = code_of(ir.forward_def) if ir.forward_def is not None else ""
    annotations = {p.name.value: code_of(p.annotation.annotation) for p in ir.params if p.annotation is not None}
    spec = []
    for item in ir.inputs:
        reduced = item.gradient.reduced if item.gradient is not None else None
        spec.append({
            "name": item.name, "role": item.role, "default": item.default,
            "full_reduction": reduced is not None and code_of(reduced).replace(" ", "").endswith(".sum()"),
            # Forward calls a tensor method on it (x2.clone()), or returns it as the value.
            "as_tensor": item.name == ir.returns_input
            or bool(re.search(rf"\b{re.escape(item.name)}\.(?!item\()\w+\(", forward)),
            "saved": any(getattr(saved, "value", None) == item.name for saved in ir.saved),
            "annotation": annotations.get(item.name),
        })
    return spec


def custom_fwd_device(ir: Any) -> str | None:
    """The device_type of a @custom_fwd on the original forward, if it has one."""
    import libcst as cst

    from fgi_rewrite.analysis.discovery import code_of, dotted_name

    for decorator in ir.forward_def.decorators if ir.forward_def is not None else ():
        node = decorator.decorator
        if isinstance(node, cst.Call) and (dotted_name(node.func) or "").endswith("custom_fwd"):
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "device_type":
                    return code_of(arg.value).strip("'\"")
            return "cuda"  # torch.cuda.amp.custom_fwd
    return None


def call_site_literals(module: cst.Module) -> dict[str, dict[int, str]]:
    """Literal arguments seen at `Cls.apply(...)` / `Cls().apply(...)` calls: class name ->
    argument position -> source of the literal (the first one seen)."""
    found: dict[str, dict[int, str]] = {}
    literal = (cst.Integer, cst.Float, cst.SimpleString)

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if not (isinstance(func, cst.Attribute) and func.attr.value == "apply"):
                return
            owner = func.value.func if isinstance(func.value, cst.Call) else func.value
            name = owner.attr.value if isinstance(owner, cst.Attribute) else getattr(owner, "value", None)
            if not isinstance(name, str):
                return
            for position, arg in enumerate(node.args):
                value = arg.value
                if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus):
                    value = value.expression
                is_constant = isinstance(value, literal) or (
                    isinstance(value, cst.Name) and value.value in ("True", "False", "None"))
                if arg.keyword is None and not arg.star and is_constant:
                    found.setdefault(name, {}).setdefault(position, cst.Module([]).code_for_node(arg.value))

    module.visit(Calls())
    return found


def star_importers(files: list[Path]) -> dict[Path, list[Path]]:
    """For each given file (resolved), the given files that do `from it import *`: their
    namespaces change when a rewrite adds or drops a public name of it."""
    from fgi_rewrite.analysis.project import _STAR, _read_imports, module_name_of

    by_module = {module_name_of(f.resolve()): f.resolve() for f in files}
    found: dict[Path, list[Path]] = {}
    for file in files:
        try:
            data = file.read_bytes()
        except OSError:
            continue  # reported when the file itself is handled
        if not _STAR.search(data):
            continue
        facts = _read_imports(data, module_name_of(file.resolve()), file.name == "__init__.py")
        for source in facts[0] if facts is not None else ():
            if source in by_module and by_module[source] != file.resolve():
                found.setdefault(by_module[source], []).append(file.resolve())
    return found


def _read_or_empty(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b"\0"  # does not parse: counted as a script, never imported for its namespace


def runs_at_import(data: bytes) -> bool:
    """Whether importing the file would run more than definitions: a top-level call, loop or
    `with` block outside `if __name__ == "__main__"` (a training script). Such a module is not
    imported only to read its namespace."""
    import ast

    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError):
        return True  # not importable anyway
    quiet = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign,
             ast.AnnAssign, ast.AugAssign, ast.Pass, ast.Global)
    stack = list(tree.body)
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, quiet) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            continue
        if isinstance(stmt, ast.If) and "__name__" in ast.unparse(stmt.test):
            continue
        if isinstance(stmt, (ast.If, ast.Try)):  # optional imports, platform switches
            stack += [*stmt.body, *stmt.orelse, *getattr(stmt, "finalbody", [])]
            stack += [s for handler in getattr(stmt, "handlers", []) for s in handler.body]
            continue
        return True
    return False


@dataclass
class Plan:
    cases: list[Case] = field(default_factory=list)
    skipped: list[Verdict] = field(default_factory=list)  # classes that cannot be verified, with why
    rewritten: dict[Path, bytes] = field(default_factory=dict)
    errors: list[FileError] = field(default_factory=list)  # files that cannot be read or parsed


def plan(files: list[tuple[Path, str]], options: VerifyOptions) -> Plan:
    """Each file is parsed once; rewrite, scan reports and call-site literals share it."""
    result_plan = Plan()
    cases, skipped, rewritten = result_plan.cases, result_plan.skipped, result_plan.rewritten
    from dataclasses import replace

    from fgi_rewrite.analysis.project import project_context

    rewrite_options = RewriteOptions(unsafe_fixes=options.unsafe_fixes, style=options.style, fast_path=options.fast_path)
    # The rewrite `rewrite` would write: a star-imported module keeps its imports and gets a
    # private function name.
    context_files = list(options.context_files) or [f for f, _ in files]
    context, importers = project_context(context_files), star_importers(context_files)
    for file, shown in files:
        try:
            data = file.read_bytes()
        except OSError as error:
            result_plan.errors.append(FileError(shown, None, None, "FGI901", f"cannot read: {error.strerror}"))
            continue
        if not could_define_function(data):
            continue
        try:
            parsed = cst.parse_module(data)
        except (cst.ParserSyntaxError, UnicodeDecodeError, LookupError, SyntaxError, RecursionError):
            result_plan.errors.extend(scan_source(data, shown)[1])  # the same message scan gives
            continue
        resolved = file.resolve()
        file_options = replace(rewrite_options, context=context.get(resolved, rewrite_options.context),
                               hold=options.hold.get(resolved, ()))
        result = rewrite_module(data, file_options, parsed)
        if result.changed:
            rewritten[file] = result.source
        module = module_name(file)
        reports = {r.qualname: r for r in scan_module(parsed, data, shown)[0]}
        literals = call_site_literals(parsed)
        classes, index = find_function_classes(parsed)
        fixes = {name: r.fix for name, r in reports.items()}
        # What the module's namespace may gain (the FGI functions) and lose (classes a --map
        # replaces, perhaps without a shim), and the modules whose namespace is compared.
        replacements = {o.qualname: f"{module}.{o.function}" for o in result.outcomes if o.function}
        replaced = []
        for o in result.outcomes:
            target = options.mapping.get(o.qualname) or options.mapping.get(o.qualname.split(".")[-1])
            if target:
                replacements[o.qualname] = target.replace(":", ".")
                replaced.append(o.qualname)
        namespaces = [module, *(module_name(p) for p in importers.get(file.resolve(), []))]
        scripts = [name for name, path in zip(namespaces, [file, *importers.get(file.resolve(), [])], strict=True)
                   if runs_at_import(data if path is file else _read_or_empty(path))]
        for outcome in result.outcomes:
            if options.against is not None:
                # A hand migration may cover a form the emitter does not write yet (FGI116), or
                # any class --map names (several outputs, FGI101): what it claims is checked.
                emitter_limit = outcome.outcome == "refused" and (outcome.code == "FGI116"
                                                                  or outcome.qualname in replaced)
                if outcome.outcome not in ("rewritten", "held-back") and not emitter_limit:
                    continue
            elif outcome.outcome != "rewritten":
                if outcome.outcome == "held-back":
                    skipped.append(Verdict(shown, outcome.qualname, "skipped", f"not rewritten: {outcome.reason}",
                                           report=reports.get(outcome.qualname), rewritten=False))
                continue
            if "<locals>" in outcome.qualname:
                skipped.append(Verdict(shown, outcome.qualname, "skipped",
                                       "defined inside a function: reachable only through its callers",
                                       report=reports.get(outcome.qualname)))
                continue
            arguments = {k.rsplit(".", 1)[1]: v for k, v in options.arguments.items()
                         if k.rsplit(".", 1)[0] in (outcome.qualname, outcome.qualname.split(".")[-1])}
            report = reports.get(outcome.qualname)
            seen = literals.get(outcome.qualname.split(".")[-1], {})
            for position, item in enumerate(report.inputs if report is not None else ()):
                if item.role == "constant" and position in seen and item.name not in arguments:
                    arguments[item.name] = f"{seen[position]}  # literal at a call site"
            tolerance = 0 if fixes.get(outcome.qualname) == "safe" else PROBE_ULPS
            twin_module, twin_object, kind = module, outcome.qualname, "class"
            if options.against is None and outcome.function:
                twin_object, kind = outcome.function, "function"
            mapped = options.mapping.get(outcome.qualname) or options.mapping.get(outcome.qualname.split(".")[-1])
            if mapped:
                twin_module, _, twin_object = mapped.partition(":")
                kind = "function"
            key = f"{shown}::{outcome.qualname}"
            info = next(c for c in classes if c.qualname == outcome.qualname)
            try:
                ir = extract(info, index)
            except Refusal as refusal:  # a refused class --map names: its inputs cannot be read
                skipped.append(Verdict(shown, outcome.qualname, "skipped", f"the migration is not verified: the "
                                       f"analysis cannot read the class ({refusal.code}: {refusal.reason})",
                                       report=reports.get(outcome.qualname)))
                continue
            cases.append(Case(key, shown, file, outcome.qualname, module, outcome.qualname, tolerance,
                              (twin_module, twin_object, kind), arguments, reports.get(outcome.qualname),
                              argument_spec(ir), custom_fwd_device(ir), namespaces=namespaces,
                              replacements=replacements, mapped=replaced, scripts=scripts))
    return result_plan


def build_twin(cases: list[Case], rewritten: dict[Path, bytes]) -> Path:
    """A copy of every package the cases live in, with the rewritten files in place."""
    twin = Path(tempfile.mkdtemp(prefix="fgi-verify-"))
    copied: set[Path] = set()
    for case in cases:
        root = import_root(case.file)
        top = case.module.split(".")[0]
        source = root / top if (root / top).is_dir() else root / f"{top}.py"
        if source in copied:
            continue
        copied.add(source)
        if source.is_dir():
            shutil.copytree(source, twin / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git"))
        else:
            shutil.copy2(source, twin / source.name)
    for file, data in rewritten.items():
        root = import_root(file)
        target = twin / file.resolve().relative_to(root)
        if target.exists():
            target.write_bytes(data)
    return twin


def _job(side: str, root: Path, cases: list[Case], options: VerifyOptions, work: Path) -> dict[str, Any]:
    return {
        "side": side, "root": str(root), "out": str(work / f"{side}.pt"), "seed": options.seed,
        "repeats": options.repeats, "dtypes": list(options.dtypes), "compat": options.compat, "threads": 1,
        "curves": options.curves, "devices": list(options.devices),
        "cases": [{
            "key": c.key, "module": c.module if side == "original" else c.twin[0],
            "object": c.object if side == "original" else c.twin[1],
            "object_kind": "class" if side == "original" else c.twin[2],
            "qualname": c.qualname, "arguments": c.arguments, "inputs": c.inputs, "autocast": c.autocast,
            "path": c.path, "tolerance": c.tolerance,
            "home": c.module, "namespaces": c.namespaces, "replacements": c.replacements, "mapped": c.mapped,
            "scripts": c.scripts,
        } for c in cases],
    }


def _start_side() -> subprocess.Popen[str]:
    """A side process that imports torch at once and then waits for its job on stdin, so the
    import overlaps the static planning done here."""
    environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.Popen([sys.executable, "-m", "fgi_rewrite.verify.side", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=environment)


def _finish(side: subprocess.Popen[str]) -> str:
    """Its stderr, once it exited (stdin is closed already, so no communicate())."""
    assert side.stderr is not None
    error = side.stderr.read()
    side.wait()
    return error


def run_sides(root: Path, twin: Path, cases: list[Case], options: VerifyOptions, work: Path,
              processes: tuple[subprocess.Popen[str], subprocess.Popen[str]] | None = None) -> list[Verdict]:
    """Both sides at once (two cores), each importing torch once; the FGI side waits for the
    original's results and compares, so this process never imports torch."""
    original_job = _job("original", root, cases, options, work)
    fgi_job = _job("fgi", twin, cases, options, work)
    fgi_job["compare_with"] = original_job["out"]
    fgi_job["original_failed"] = str(work / "original.failed")
    fgi_job["verdicts"] = str(work / "verdicts.json")
    original_side, fgi_side = processes or (_start_side(), _start_side())
    assert original_side.stdin is not None and fgi_side.stdin is not None
    for side, job in ((original_side, original_job), (fgi_side, fgi_job)):
        try:
            side.stdin.write(json.dumps(job))
            side.stdin.close()
        except BrokenPipeError:
            pass  # it died while importing: reported below
    original_error = _finish(original_side)
    if original_side.returncode != 0 or not Path(original_job["out"]).exists():
        Path(fgi_job["original_failed"]).touch()  # releases the FGI side
    fgi_error = _finish(fgi_side)
    if original_side.returncode != 0:
        last = (original_error.strip().splitlines() or ["no output"])[-1]
        return [Verdict(c.path, c.qualname, "error", f"the original side crashed: {last}", report=c.report)
                for c in cases]
    if fgi_side.returncode != 0 or not Path(fgi_job["verdicts"]).exists():
        last = (fgi_error.strip().splitlines() or ["no output"])[-1]
        return [Verdict(c.path, c.qualname, "error", f"the FGI side crashed: {last}", report=c.report)
                for c in cases]
    by_key = json.loads(Path(fgi_job["verdicts"]).read_text())
    return [Verdict(**by_key[case.key], report=case.report) for case in cases]


def verify(files: list[tuple[Path, str]], options: VerifyOptions) -> tuple[list[Verdict], list[FileError]]:
    early = (_start_side(), _start_side()) if files else None
    planned = plan(files, options)
    cases, verdicts, rewritten = planned.cases, planned.skipped, planned.rewritten
    if not cases:
        for side in early or ():
            side.kill()
            side.wait()
        return verdicts, planned.errors
    work = Path(tempfile.mkdtemp(prefix="fgi-verify-run-"))
    twin = options.against.resolve() if options.against is not None else build_twin(cases, rewritten)
    for number, root in enumerate(sorted({import_root(c.file) for c in cases})):
        group = [c for c in cases if import_root(c.file) == root]
        folder = work / str(number)
        folder.mkdir()
        verdicts += run_sides(root, twin, group, options, folder, early if number == 0 else None)
    shutil.rmtree(work, ignore_errors=True)
    if options.against is None:
        shutil.rmtree(twin, ignore_errors=True)
    return verdicts, planned.errors

"""`verify`: run every converted class beside its FGI twin and compare what they compute.

The rewrite happens in memory; the original tree and a rewritten copy of it (or a tree the
user migrated, with --against) are each imported in a process of their own by
verify_side.py, which saves values and gradients; this module compares them. Forward values
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

from .crossfile import module_name
from .rewrite import RewriteOptions, rewrite_module

Status = Literal["equivalent", "different", "skipped", "error"]
PROBE_ULPS = 16  # probe-path (unsafe) gradients; a Fourier sum of terms needs 9 on the fixtures
DEFAULT_DTYPES = ("float64", "float32", "bfloat16", "float16")


@dataclass
class Case:
    key: str
    path: str
    file: Path
    qualname: str
    module: str
    object: str
    object_kind: Literal["class", "function"]
    tolerance: int
    twin: tuple[str, str, str]  # module, object path, "class" (use .apply) or "function"
    arguments: dict[str, str] = field(default_factory=dict)
    report: Any = None


@dataclass
class Verdict:
    path: str
    qualname: str
    status: Status
    reason: str
    tolerance_ulps: int = 0
    max_ulps: float = 0.0
    runs: int = 0
    arguments: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    hazards: list[str] = field(default_factory=list)
    compat: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    report: Any = None  # the class's scan report (FunctionReport), for the shared JSON schema

    def plain(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "report"}

    def details(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("path", "qualname", "status", "reason", "report")}

    def to_json(self) -> dict[str, Any]:
        """A scan entry of the class with verify's status and reason, and the figures under "verify"."""
        entry = self.report.to_json() if self.report is not None else {"path": self.path, "qualname": self.qualname}
        entry.update(status=self.status, reason=self.reason, verify=self.details())
        return entry


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


def call_site_literals(data: bytes) -> dict[str, dict[int, str]]:
    """Literal arguments seen at `Cls.apply(...)` / `Cls().apply(...)` calls: class name ->
    argument position -> source of the literal (the first one seen)."""
    import libcst as cst

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

    try:
        cst.parse_module(data).visit(Calls())
    except cst.ParserSyntaxError:
        pass
    return found


def plan(files: list[tuple[Path, str]], options: VerifyOptions) -> tuple[list[Case], list[Verdict], dict[Path, bytes]]:
    """Cases to run, classes that cannot be verified (with why), and the rewritten sources."""
    cases: list[Case] = []
    skipped: list[Verdict] = []
    rewritten: dict[Path, bytes] = {}
    rewrite_options = RewriteOptions(unsafe_fixes=options.unsafe_fixes)
    for file, shown in files:
        data = file.read_bytes()
        result = rewrite_module(data, rewrite_options)
        if result.changed:
            rewritten[file] = result.source
        module = module_name(file)
        from .engine import scan_source

        reports = {r.qualname: r for r in scan_source(data, shown)[0]}
        literals = call_site_literals(data)
        fixes = {name: r.fix for name, r in reports.items()}
        for outcome in result.outcomes:
            if options.against is not None:
                if outcome.outcome not in ("rewritten", "held-back"):
                    continue
            elif outcome.outcome != "rewritten":
                if outcome.outcome == "held-back":
                    skipped.append(Verdict(shown, outcome.qualname, "skipped", f"not rewritten: {outcome.reason}",
                                           report=reports.get(outcome.qualname)))
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
            cases.append(Case(key, shown, file, outcome.qualname, module, outcome.qualname, "class", tolerance,
                              (twin_module, twin_object, kind), arguments, reports.get(outcome.qualname)))
    return cases, skipped, rewritten


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
        "cases": [{
            "key": c.key, "module": c.module if side == "original" else c.twin[0],
            "object": c.object if side == "original" else c.twin[1],
            "object_kind": "class" if side == "original" else c.twin[2],
            "original_file": str(c.file.resolve()), "qualname": c.qualname, "arguments": c.arguments,
            "path": c.path, "tolerance": c.tolerance,
        } for c in cases],
    }


def run_sides(root: Path, twin: Path, cases: list[Case], options: VerifyOptions, work: Path) -> list[Verdict]:
    """Both sides at once (two cores), each importing torch once; the FGI side waits for the
    original's results and compares, so this process never imports torch."""
    original_job = _job("original", root, cases, options, work)
    fgi_job = _job("fgi", twin, cases, options, work)
    fgi_job["compare_with"] = original_job["out"]
    fgi_job["original_failed"] = str(work / "original.failed")
    fgi_job["verdicts"] = str(work / "verdicts.json")
    environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    processes = []
    for job in (original_job, fgi_job):
        job_file = work / f"{job['side']}.json"
        job_file.write_text(json.dumps(job))
        processes.append(subprocess.Popen([sys.executable, "-m", "fgi_rewrite.verify_side", str(job_file)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=environment))
    original_error = processes[0].communicate()[1]
    if processes[0].returncode != 0 or not Path(original_job["out"]).exists():
        Path(fgi_job["original_failed"]).touch()  # releases the FGI side
    fgi_error = processes[1].communicate()[1]
    if processes[0].returncode != 0:
        last = (original_error.strip().splitlines() or ["no output"])[-1]
        return [Verdict(c.path, c.qualname, "error", f"the original side crashed: {last}", report=c.report)
                for c in cases]
    if processes[1].returncode != 0 or not Path(fgi_job["verdicts"]).exists():
        last = (fgi_error.strip().splitlines() or ["no output"])[-1]
        return [Verdict(c.path, c.qualname, "error", f"the FGI side crashed: {last}", report=c.report)
                for c in cases]
    by_key = json.loads(Path(fgi_job["verdicts"]).read_text())
    verdicts = []
    for case in cases:
        data = by_key[case.key]
        verdicts.append(Verdict(**data, report=case.report))
    return verdicts


def _bits_differ(a: Any, b: Any) -> int:
    """Elements whose bits differ (signed zeros and NaN payloads count); all when the
    dtype, shape or device differ."""
    import torch

    if a.dtype != b.dtype or a.shape != b.shape or a.device != b.device:
        return max(a.numel(), b.numel(), 1)
    width = {8: torch.int64, 4: torch.int32, 2: torch.int16, 1: torch.int8}[a.element_size()]
    return int((a.contiguous().view(width) != b.contiguous().view(width)).sum())


def _bits_equal(a: Any, b: Any) -> bool:
    return _bits_differ(a, b) == 0


def _ulps(a: Any, b: Any, precision: Any) -> float:
    import torch

    a64, b64 = a.double(), b.double()
    scale = torch.maximum(a64.abs(), b64.abs())
    finfo = torch.finfo(precision)
    ulp = torch.where(scale > 0, scale * finfo.eps, torch.full_like(scale, finfo.tiny))
    return float(((a64 - b64).abs() / ulp).max()) if a.numel() else 0.0


def compare(case: Case, original: dict[str, Any], twin: dict[str, Any]) -> Verdict:
    import torch

    verdict = Verdict(case.path, case.qualname, "equivalent", "", tolerance_ulps=case.tolerance, report=case.report)
    if "error" in original or "error" in twin:
        if "error" in original and original.get("error") == twin.get("error"):
            verdict.status, verdict.reason = "skipped", f"the original fails on the inferred arguments too: {original['error']}"
        else:
            verdict.status = "error"
            verdict.reason = "; ".join(f"{side}: {r['error']}" for side, r in (("original", original), ("FGI", twin))
                                       if "error" in r)
        return verdict
    verdict.arguments = original.get("arguments", [])
    verdict.compat = {"original": original.get("compat", {}), "fgi": twin.get("compat", {})}
    if original.get("probe_problems"):
        verdict.status = "error"
        verdict.reason = f"classification error: {original['probe_problems'][0]}; this class must not be rewritten"
        return verdict
    problems: list[str] = []
    for run, a in original["runs"].items():
        b = twin["runs"].get(run)
        if b is None:
            problems.append(f"{run}: missing on the FGI side")
            continue
        verdict.runs += 1
        if a["requires_grad"] != b["requires_grad"]:
            verdict.notes.append(f"{run}: output requires_grad {a['requires_grad']} vs FGI {b['requires_grad']}")
        finite = torch.ones(a["out"].shape, dtype=torch.bool)
        for g in a["grads"]:
            if g is not None and g.shape == a["out"].shape:
                finite &= torch.isfinite(g)
        if a["out"].shape == b["out"].shape and a["out"].dtype == b["out"].dtype:
            same = _bits_equal(a["out"][finite], b["out"][finite]) if finite.any() else True
            overflow = int((~finite).sum()) if not _bits_equal(a["out"], b["out"]) else 0
            if overflow:
                verdict.hazards.append(f"{run}: {overflow} elements where the surrogate is not finite: FGI's value is NaN")
        else:
            same = False
        if not same:
            problems.append(f"{run}: forward differs ({a['out'].dtype} {tuple(a['out'].shape)} vs "
                            f"{b['out'].dtype} {tuple(b['out'].shape)})")
            continue
        for position, (ga, gb) in enumerate(zip(a["grads"], b["grads"])):
            if (ga is None) != (gb is None):
                verdict.notes.append(f"{run}: gradient {position} is None on one side only")
                continue
            if ga is None:
                continue
            if ga.shape != gb.shape or ga.dtype != gb.dtype:
                problems.append(f"{run}: gradient {position} shape/dtype differs")
                continue
            mask = torch.isfinite(ga) & torch.isfinite(gb)
            precision = max((ga.dtype, a["out"].dtype), key=lambda d: torch.finfo(d).eps)
            ulps = _ulps(ga[mask], gb[mask], precision)
            tolerance = case.tolerance if ga.shape == a["out"].shape else max(case.tolerance, 4)
            verdict.max_ulps = max(verdict.max_ulps, ulps)
            if ulps > tolerance:
                problems.append(f"{run}: gradient {position} differs by {ulps:.3g} ulps (tolerance {tolerance})")
    hazard_a, hazard_b = original.get("hazard"), twin.get("hazard")
    if hazard_a is not None and hazard_b is not None and not _bits_equal(hazard_a["out"], hazard_b["out"]):
        count = _bits_differ(hazard_a["out"], hazard_b["out"])
        verdict.hazards.append(f"±inf/NaN inputs: FGI's value differs in {count} elements (the cancel pair is NaN)")
    if original.get("hazard_error") or twin.get("hazard_error"):
        verdict.hazards.append(f"±inf/NaN inputs raise: original {original.get('hazard_error', 'runs')}; "
                               f"FGI {twin.get('hazard_error', 'runs')}")
    compat_original, compat_fgi = verdict.compat.get("original", {}), verdict.compat.get("fgi", {})
    if "double backward" in compat_fgi and compat_fgi["double backward"][0] == "ok" and \
            compat_original.get("double backward", ["", ""])[0] == "ok" and \
            compat_fgi["double backward"][1] != compat_original["double backward"][1]:
        verdict.hazards.append("second derivatives differ: FGI's is 0 through the spike")
    if problems:
        verdict.status = "different"
        verdict.reason = problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
    else:
        verdict.reason = (f"{verdict.runs} runs: forward bitwise identical, gradients within "
                          f"{verdict.max_ulps:.3g} ulps (tolerance {case.tolerance})")
    return verdict


def verify(files: list[tuple[Path, str]], options: VerifyOptions) -> list[Verdict]:
    cases, verdicts, rewritten = plan(files, options)
    if not cases:
        return verdicts
    work = Path(tempfile.mkdtemp(prefix="fgi-verify-run-"))
    twin = options.against.resolve() if options.against is not None else build_twin(cases, rewritten)
    for number, root in enumerate(sorted({import_root(c.file) for c in cases})):
        group = [c for c in cases if import_root(c.file) == root]
        folder = work / str(number)
        folder.mkdir()
        verdicts += run_sides(root, twin, group, options, folder)
    shutil.rmtree(work, ignore_errors=True)
    if options.against is None:
        shutil.rmtree(twin, ignore_errors=True)
    return verdicts

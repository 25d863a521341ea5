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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import libcst as cst

from fgi_rewrite.analysis.discovery import find_function_classes
from fgi_rewrite.analysis.extract import extract
from fgi_rewrite.analysis.ir import FunctionIR, Refusal
from fgi_rewrite.emit.call_sites import module_name
from fgi_rewrite.files import display_path
from fgi_rewrite.model import FileError, FunctionReport
from fgi_rewrite.notebooks import Notebook, NotebookError
from fgi_rewrite.notebooks import read as read_notebook
from fgi_rewrite.rewrite import ClassOutcome, RewriteOptions, rewrite_module
from fgi_rewrite.rewrite_files import out_path
from fgi_rewrite.scan import could_define_function, scan_module, scan_source
from fgi_rewrite.verify.closure import Closures, runs_code_at_import
from fgi_rewrite.verify.compare import Case, Verdict

PROBE_ULPS = 16  # probe-path (unsafe) gradients; a Fourier sum of terms needs 9 on the fixtures
DEFAULT_DTYPES = ("float64", "float32", "bfloat16", "float16")


def import_root(path: Path, stop: Path | None = None) -> Path:
    """The folder above the file's top package (its own folder for a flat layout), not above
    `stop`."""
    folder = path.resolve().parent
    while (folder / "__init__.py").exists() and folder != stop and folder.parent != folder:
        folder = folder.parent
    return folder


PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")


def project_root(path: Path, stop: Path | None = None) -> Path | None:
    """The nearest folder above the file with a pyproject.toml, setup.py or setup.cfg (its
    `src` folder for a src layout), not above `stop`."""
    file = path.resolve()
    for folder in file.parents:
        if any((folder / marker).is_file() for marker in PROJECT_MARKERS):
            source = folder / "src"
            return source if source.is_dir() and source in file.parents else folder
        if folder == stop:
            break
    return None


def search_path(file: Path, stop: Path | None = None) -> tuple[list[Path], list[Path]]:
    """What a side puts first and last on sys.path for the file, as Python would have it: the
    import root (the file's own folder for a flat layout: sibling imports) and the project root
    first; a package module's own folder last (implicit sibling imports of research code, which
    must not shadow anything)."""
    file = file.resolve()
    root = import_root(file, stop)
    first = [root]
    project = project_root(file, stop)
    if project is not None and project != root:
        first.append(project)
    return first, [file.parent] if file.parent != root else []


@dataclass
class VerifyOptions:
    unsafe_fixes: bool = False
    seed: int = 0
    repeats: int = 2
    dtypes: tuple[str, ...] = DEFAULT_DTYPES
    compat: Literal["none", "default", "full"] = "default"
    arguments: dict[str, str] = field(default_factory=dict)  # "Cls.param" -> Python expression
    inputs: dict[str, str] = field(default_factory=dict)  # "Cls.x" -> shape/dtype/domain spec (verify/inputs.py)
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


def argument_spec(ir: Any, module: cst.Module | None = None, qualname: str | None = None,
                  given: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """What the running side needs to build each input (see arguments.make_arguments): its role,
    and what forward's use (domain, nearby thresholds, rank), the module's call sites (literal
    shapes, tensors that require grad) and --input (`given`, "Cls.x" -> spec) say about it."""
    import re

    from fgi_rewrite.analysis.discovery import code_of
    from fgi_rewrite.verify.domains import forward_uses, module_constants
    from fgi_rewrite.verify.inputs import inputs_for

    forward = code_of(ir.forward_def) if ir.forward_def is not None else ""
    annotations = {p.name.value: code_of(p.annotation.annotation) for p in ir.params if p.annotation is not None}
    uses = forward_uses(ir.forward_def, [i.name for i in ir.inputs], module_constants(module) if module else {},
                        frozenset(i.name for i in ir.inputs if i.role in ("differentiable", "broadcast")))
    sites = _call_sites(module).get((qualname or "").split(".")[-1], {}) if module is not None else {}
    specs = inputs_for(given or {}, qualname) if qualname else {}
    spec = []
    for position, item in enumerate(ir.inputs):
        reduced = item.gradient.reduced if item.gradient is not None else None
        use = uses[item.name]
        seen = sites.get(position, [])
        tensors = [s for s in seen if s.tensor]
        shapes = [list(s.shape) for s in seen if s.shape is not None]
        spec.append({
            "name": item.name, "role": item.role, "default": item.default,
            "full_reduction": reduced is not None and code_of(reduced).replace(" ", "").endswith(".sum()"),
            "leading": _leading_dims(reduced),
            # Forward calls a tensor method on it (x2.clone()), or returns it as the value.
            "as_tensor": item.name == ir.returns_input
            or bool(re.search(rf"\b{re.escape(item.name)}\.(?!item\()\w+\(", forward)),
            "saved": any(getattr(saved, "value", None) == item.name for saved in ir.saved),
            "annotation": annotations.get(item.name),
            # `temperature: float` read as `1.0 - temperature` looks like a mask, but a Python
            # number is no 0/1 tensor (bitorch's ProgressiveSign was fed one and skipped).
            "domain": None if use.domain == "spikes" and annotations.get(item.name) in ("float", "int", "bool")
            else use.domain,
            "domain_origin": use.domain_origin,
            "near": use.near, "near_inputs": use.near_inputs, "near_origin": "; ".join(use.near_origin[:3]),
            "min_rank": use.min_rank, "exact_rank": use.exact_rank, "rank_origin": use.rank_origin,
            "shapes": [s for i, s in enumerate(shapes) if s not in shapes[:i]],
            "shape_origin": next((s.source for s in seen if s.shape is not None), ""),
            # A tensor at a call site (None: no call site says either way).
            "tensor": True if tensors else False if any(s.literal for s in seen) else None,
            "requires_grad": any(s.requires_grad for s in tensors),
            "tensor_origin": next((f"{s.source}: {s.why}" if s.why and s.why != s.source else s.source
                                   for s in sorted(tensors, key=lambda s: not s.requires_grad)), ""),
            "value": next((s.value for s in tensors if s.value is not None), None),
            "given": specs.get(item.name),
        })
    return spec


def _leading_dims(reduced: Any) -> int | None:
    """How many leading dimensions a broadcast input's gradient reduction sums away: `.sum(0)`
    1, `.sum((0, 1))` 2; None for a full `.sum()` (a 0-d parameter), 1 for sum_to_size."""
    if not isinstance(reduced, cst.Call):
        return None if reduced is None else 1
    method = reduced.func.attr.value if isinstance(reduced.func, cst.Attribute) else ""
    args = [a.value for a in reduced.args if a.keyword is None or a.keyword.value == "dim"]
    if method == "sum_to_size":
        return 1
    receiver = isinstance(reduced.func, cst.Attribute) and not (
        isinstance(reduced.func.value, cst.Name) and reduced.func.value.value == "torch")
    dims = args if receiver else args[1:]
    if not dims:
        return None
    if isinstance(dims[0], (cst.Tuple, cst.List)):
        return len(dims[0].elements)
    return 1


_SITES: list[tuple[cst.Module, dict[str, dict[int, list[Any]]]]] = []


def _call_sites(module: cst.Module) -> dict[str, dict[int, list[Any]]]:
    """domains.call_sites, read once per module (plan asks for each class of a file in turn)."""
    from fgi_rewrite.verify.domains import call_sites

    if not _SITES or _SITES[0][0] is not module:
        _SITES[:] = [(module, call_sites(module))]
    return _SITES[0][1]


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
    """Literal arguments seen at `Cls.apply(...)` / `Cls().apply(...)` calls (or through a name
    bound to `Cls.apply`): class name -> argument position -> source of the literal (the first
    one seen). A position where some call site passes a tensor is left out: the running side
    feeds a tensor there (argument_spec's "tensor"), so that a leaked gradient shows."""
    found: dict[str, dict[int, str]] = {}
    for owner, positions in _call_sites(module).items():
        for position, seen in positions.items():
            literal = next((s.literal for s in seen if s.literal is not None), None)
            if literal is not None and not any(s.tensor for s in seen):
                found.setdefault(owner, {})[position] = literal
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
    """Whether importing the file would run more than definitions (a training script, by
    closure.runs_code_at_import's rule). Such a module is not imported only to read its namespace."""
    try:
        return runs_code_at_import(cst.parse_module(data)) is not None
    except (cst.ParserSyntaxError, UnicodeDecodeError, LookupError, SyntaxError, RecursionError):
        return True  # not importable anyway


@dataclass(frozen=True)
class _SignatureInput:
    name: str
    role: str
    default: str | None
    gradient: None = None


@dataclass(frozen=True)
class _SignatureOnly:
    """The little argument_spec needs, read from forward's signature alone, for a class the
    analysis refuses but a migration claims to replace: the first input differentiable, the
    others constants (with their defaults)."""

    inputs: tuple[_SignatureInput, ...]
    forward_def: cst.FunctionDef
    params: tuple[cst.Param, ...]
    returns_input: None = None
    saved: tuple[cst.BaseExpression, ...] = ()


def signature_only(info: Any, index: Any) -> _SignatureOnly | None:
    from fgi_rewrite.analysis.discovery import code_of
    from fgi_rewrite.analysis.extract import find_method

    forward = find_method(info.node, "forward", index)[0]
    if forward is None or forward.params.star_arg not in (cst.MaybeSentinel.DEFAULT, None):
        return None
    params = tuple(forward.params.params[1:])  # after ctx
    if not params:
        return None
    inputs = tuple(_SignatureInput(p.name.value, "differentiable" if n == 0 else "constant",
                                   code_of(p.default) if p.default is not None else None)
                   for n, p in enumerate(params))
    return _SignatureOnly(inputs, forward, params)


@dataclass
class Plan:
    cases: list[Case] = field(default_factory=list)
    skipped: list[Verdict] = field(default_factory=list)  # classes that cannot be verified, with why
    rewritten: dict[Path, bytes] = field(default_factory=dict)
    errors: list[FileError] = field(default_factory=list)  # files that cannot be read or parsed


def _parsed(file: Path, shown: str, errors: list[FileError]) -> tuple[bytes, cst.Module, Notebook | None] | None:
    """The file's module source, parsed, and the notebook it came from; None, with the error
    recorded, for a file that cannot be read or parsed, or one that defines no Function."""
    try:
        data = file.read_bytes()
    except OSError as error:
        errors.append(FileError(shown, None, None, "FGI901", f"cannot read: {error.strerror}"))
        return None
    notebook = None
    if file.suffix == ".ipynb":
        # Its code cells as one module, IPython lines already turned into `pass` comments:
        # the module verify runs, located back by cell.
        try:
            notebook = read_notebook(data)
        except NotebookError as error:
            errors.append(error.error(shown))
            return None
        data = notebook.source
    if not could_define_function(data):
        return None
    try:
        return data, cst.parse_module(data), notebook
    except (cst.ParserSyntaxError, UnicodeDecodeError, LookupError, SyntaxError, RecursionError):
        found = scan_source(data, shown)[1]  # the same message scan gives
        errors.extend(notebook.error(e) if notebook else e for e in found)
        return None


def plan(files: list[tuple[Path, str]], options: VerifyOptions) -> Plan:
    """Each file is parsed once; rewrite, scan reports and call-site literals share it."""
    result_plan = Plan()
    cases, skipped, rewritten = result_plan.cases, result_plan.skipped, result_plan.rewritten
    from dataclasses import replace

    from fgi_rewrite.analysis.project import project_context

    rewrite_options = RewriteOptions(unsafe_fixes=options.unsafe_fixes, style=options.style,
                                     fast_path=options.fast_path)
    # The rewrite `rewrite` would write: a star-imported module keeps its imports and gets a
    # private function name.
    context_files = list(options.context_files) or [f for f, _ in files]
    context, importers = project_context(context_files), star_importers(context_files)
    for file, shown in files:
        loaded = _parsed(file, shown, result_plan.errors)
        if loaded is None:
            continue
        data, parsed, notebook = loaded
        resolved = file.resolve()
        file_options = replace(rewrite_options, context=context.get(resolved, rewrite_options.context),
                               hold=options.hold.get(resolved, ()))
        result = rewrite_module(data, file_options, parsed)
        if result.changed:
            rewritten[file] = result.source
        module = module_name(file)
        original = _Source(parsed)
        twin_sources = _TwinSources(result.source if result.changed else None, original)
        reports = {r.qualname: notebook.report(r) if notebook else r for r in scan_module(parsed, data, shown)[0]}
        literals = call_site_literals(parsed)
        classes, index = find_function_classes(parsed)
        fixes = {name: r.fix for name, r in reports.items()}
        # What the module's namespace may gain (the FGI functions) and lose (classes a --map
        # replaces, perhaps without a shim), and the modules whose namespace is compared.
        replacements, replaced = _replacements(result.outcomes, module, options.mapping)
        namespaces = [module, *(module_name(p) for p in importers.get(file.resolve(), []))]
        # The file itself was parsed and checked once already (original.loud); its importers not.
        scripts = [name for name, path in zip(namespaces, [file, *importers.get(file.resolve(), [])], strict=True)
                   if (original.loud is not None if path is file else runs_at_import(_read_or_empty(path)))]
        if notebook is not None:  # a notebook's namespace is nobody's import: not compared
            namespaces, scripts = [], []
        for outcome in result.outcomes:
            if options.against is not None:
                # A hand migration may cover a form the emitter does not write yet (FGI116), or
                # any class --map names (several outputs, FGI101): what it claims is checked.
                # Every class is verified: a migration by hand may change any of them, a refused one
                # included (what it claims is checked), and one it left alone verifies trivially.
                pass
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
            arguments = _arguments(outcome.qualname, options.arguments, reports.get(outcome.qualname), literals)
            tolerance = 0 if fixes.get(outcome.qualname) == "safe" else PROBE_ULPS
            twin_module, twin_object, kind = module, outcome.qualname, "class"
            if options.against is None and outcome.function:
                twin_object, kind = outcome.function, "function"
            mapped = options.mapping.get(outcome.qualname) or options.mapping.get(outcome.qualname.split(".")[-1])
            if mapped and options.against is not None:
                twin_module, _, twin_object = mapped.partition(":")
                kind = "function"
            twin_file: Path | None = None
            if options.against is not None:
                twin_file, looked = pair(file, shown, options.against, twin_module if mapped else None)
                if twin_file is None:
                    skipped.append(Verdict(shown, outcome.qualname, "error", "no twin: looked for " + " and ".join(
                        display_path(p) for p in looked), report=reports.get(outcome.qualname)))
                    continue
                if not mapped:
                    twin_module = module_name(twin_file)
            key = f"{shown}::{outcome.qualname}"
            info = next(c for c in classes if c.qualname == outcome.qualname)
            ir: FunctionIR | _SignatureOnly | None
            try:
                ir = extract(info, index)
            except Refusal as refusal:  # a refused class a migration claims: read its signature only
                ir = signature_only(info, index)
                if ir is None:
                    skipped.append(Verdict(shown, outcome.qualname, "skipped", f"the migration is not verified: the "
                                           f"analysis cannot read the class ({refusal.code}: {refusal.reason})",
                                           report=reports.get(outcome.qualname)))
                    continue
            case = Case(key, shown, file, outcome.qualname, module, outcome.qualname, tolerance,
                        (twin_module, twin_object, kind), arguments, reports.get(outcome.qualname),
                        argument_spec(ir, parsed, outcome.qualname, options.inputs), custom_fwd_device(ir),
                        namespaces=namespaces,
                        replacements=replacements, mapped=replaced, scripts=scripts, twin_file=twin_file,
                        unignored=result.unignored if options.against is None else [])
            twin = twin_sources.get(twin_file)
            case.loading = _loading(case, original, twin, options.against, bool(mapped),
                                    notebook.where if notebook else lambda line: f"line {line}")
            if notebook is not None:  # no module to import: each side runs the cells' module (verify/loading.py)
                for side, source in (("original", original), ("fgi", twin)):
                    if source.parsed is not None:
                        case.loading[side]["notebook"] = source.parsed.code
            cases.append(case)
    return result_plan


def _replacements(outcomes: list[ClassOutcome], module: str, mapping: dict[str, str]
                  ) -> tuple[dict[str, str], list[str]]:
    """What each class becomes in the module's namespace (its FGI function, or the function a
    --map names), and the classes a --map replaces."""
    replacements = {o.qualname: f"{module}.{o.function}" for o in outcomes if o.function}
    replaced = []
    for o in outcomes:
        target = mapping.get(o.qualname) or mapping.get(o.qualname.split(".")[-1])
        if target:
            replacements[o.qualname] = target.replace(":", ".")
            replaced.append(o.qualname)
    return replacements, replaced


def _arguments(qualname: str, given: dict[str, str], report: FunctionReport | None,
               literals: dict[str, dict[int, str]]) -> dict[str, str]:
    """The class's arguments given as `Cls.param` settings, and for a constant input not given,
    the literal its call sites pass."""
    arguments = {k.rsplit(".", 1)[1]: v for k, v in given.items()
                 if k.rsplit(".", 1)[0] in (qualname, qualname.split(".")[-1])}
    seen = literals.get(qualname.split(".")[-1], {})
    for position, item in enumerate(report.inputs if report is not None else ()):
        if item.role == "constant" and position in seen and item.name not in arguments:
            arguments[item.name] = f"{seen[position]}  # literal at a call site"
    return arguments


class _Source:
    """One side's module as planning reads it: whether importing it runs code, and the
    dependency closures of its classes (the scope analysis is done once, when first needed)."""

    def __init__(self, parsed: cst.Module | None) -> None:
        self.parsed = parsed
        self.loud = runs_code_at_import(parsed) if parsed is not None else None
        self._closures: Closures | None = None

    def closure(self, roots: list[str]) -> str | None:
        if self.parsed is None:
            return None
        if self._closures is None:
            self._closures = Closures(self.parsed)
        return self._closures.source(roots)


class _TwinSources:
    """The FGI side's module of one original file: the in-memory rewrite, or a paired file."""

    def __init__(self, rewritten: bytes | None, original: _Source) -> None:
        self.rewritten, self.original = rewritten, original
        self.read: dict[Path | None, _Source] = {}

    def get(self, twin_file: Path | None) -> _Source:
        if twin_file not in self.read:
            source = self.rewritten if twin_file is None else None
            try:
                source = twin_file.read_bytes() if twin_file is not None else source
                parsed = cst.parse_module(source) if source is not None else self.original.parsed
            except (OSError, cst.ParserSyntaxError, UnicodeDecodeError, LookupError, SyntaxError, RecursionError):
                parsed = None  # its side reports the import error; no closure to fall back to
            self.read[twin_file] = _Source(parsed) if parsed is not self.original.parsed else self.original
        return self.read[twin_file]


def pair(file: Path, shown: str, against: Path, mapped_module: str | None) -> tuple[Path | None, list[Path]]:
    """The twin of `file` in the copy `against`, and where it was looked for: under the path
    `rewrite --out` gives the file (rewrite_files.out_path, the same mapping), or, for a copy
    that mirrors the import root (a hand migration of `src/`, a flat copy of a flat folder), at
    the file's path under its import root; with --map, the module named."""
    if mapped_module:
        base = against.joinpath(*mapped_module.split("."))
        looked = [base.with_name(base.name + ".py"), base / "__init__.py"]
    else:
        looked = [against / out_path(shown, file), against / file.resolve().relative_to(import_root(file))]
    looked = list(dict.fromkeys(looked))
    found = next((p for p in looked if p.is_file()), None)
    return (found.resolve() if found is not None else None), looked


def _loading(case: Case, original: _Source, twin: _Source, against: Path | None,
             mapped: bool, where: Callable[[int], str] = lambda line: f"line {line}") -> dict[str, dict[str, Any]]:
    """What each side's verify/loading.py needs for the case (the FGI side's file and search
    path of an in-memory rewrite are added by build_twin). `where` names a line (a notebook's
    by cell)."""
    line = original.loud or twin.loud
    reason = None if line is None else ("the module runs code at import" if original.loud else
                                        "the FGI side's module runs code at import") + f" ({where(line)})"
    first, last = search_path(case.file)
    sides: dict[str, dict[str, Any]] = {
        "original": {"module": case.module, "file": str(case.file.resolve()), "paths": [str(p) for p in first],
                     "paths_after": [str(p) for p in last], "closure_reason": reason,
                     "closure": original.closure([case.object])},
        "fgi": {"module": case.twin[0], "closure_reason": reason,
                "closure": twin.closure([case.twin[1], case.qualname])}}
    if case.twin_file is not None:
        stop = against.resolve() if against is not None else None
        first, last = search_path(case.twin_file, stop)
        # --map names a module relative to the copy, as it always did.
        paths = [str(p) for p in ([stop] if mapped and stop is not None else []) + first]
        sides["fgi"].update(file=str(case.twin_file), paths=list(dict.fromkeys(paths)),
                            paths_after=[str(p) for p in last])
    return sides


def _in_twin(twin: Path, path: Path) -> Path:
    return twin / path.relative_to(path.anchor)


def _link(source: Path, target: Path) -> None:
    try:
        os.symlink(source, target, target_is_directory=source.is_dir())
    except OSError:  # no symbolic links here: a copy
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git"))
        elif source.is_file():
            shutil.copy2(source, target)


def build_twin(cases: list[Case], rewritten: dict[Path, bytes]) -> Path:
    """A mirror of the trees the cases import from (the project root, or else the import root,
    at its absolute path under a temporary folder) with the rewritten files in place. Folders
    on the way to a rewritten file are real; everything else in them is a symbolic link to the
    original, so sibling modules, subpackages and data files are there at no copying cost. Sets
    each case's twin_file and its FGI side's file and search path."""
    twin = Path(tempfile.mkdtemp(prefix="fgi-verify-"))
    paths = {id(case): search_path(case.file) for case in cases}
    tops = {min(first, key=lambda p: len(p.parts)) for first, _ in paths.values()}
    files = {f.resolve(): data for f, data in rewritten.items()}
    real: set[Path] = set()
    for file in files:
        for top in tops:
            if top in file.parents:
                real.update(folder for folder in file.parents if folder == top or top in folder.parents)
    for folder in sorted(real):
        _in_twin(twin, folder).mkdir(parents=True, exist_ok=True)
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue  # the file itself is written below; its side reports what is missing
        for entry in entries:
            if entry not in real and entry not in files and entry.name != "__pycache__":
                _link(entry, _in_twin(twin, entry))
    for file, data in files.items():
        if file.parent in real:
            _in_twin(twin, file).write_bytes(data)
    for case in cases:
        first, last = paths[id(case)]
        case.twin_file = _in_twin(twin, case.file.resolve())
        case.loading.setdefault("fgi", {}).update(
            file=str(case.twin_file), paths=[str(_in_twin(twin, p)) for p in first],
            paths_after=[str(_in_twin(twin, p)) for p in last])
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
            "scripts": c.scripts, "unignored": c.unignored if side == "fgi" else [],
            **c.loading.get("original" if side == "original" else "fgi", {}),  # verify/loading.py
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
    for side, job in ((original_side, original_job), (fgi_side, fgi_job)):
        assert side.stdin is not None  # both started with stdin=PIPE
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

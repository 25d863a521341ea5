"""Comparing the two sides of `verify` (runs in the FGI side's process; needs torch, not libcst).

Forward values must be bitwise identical (signed zeros, NaN class), and each output keep its
dtype, shape, device, requires_grad and grad_fn presence; gradients agree within k ulps of
max(|a|, |b|), k = 0 for symbolic rewrites, and exist on both sides or neither; the random
generator ends in the same state; the class's members stay reachable on the compatibility
object; the namespaces of the rewritten module and its star-importers change only by the new
functions. Non-finite inputs and overflowing surrogates are hazards, reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["equivalent", "different", "skipped", "error"]


@dataclass
class Case:
    key: str
    path: str
    file: Path
    qualname: str
    module: str
    object: str  # the class's path in its module (the original side calls its .apply)
    tolerance: int
    twin: tuple[str, str, str]  # module, object path, "class" (use .apply) or "function"
    arguments: dict[str, str] = field(default_factory=dict)
    report: Any = None
    inputs: list[dict[str, Any]] = field(default_factory=list)  # argument_spec of the original
    autocast: str | None = None
    # The rewritten module and its star-importers: their public namespaces must not change but
    # for the replacements of the module's classes (qualname -> "module.function": added, and
    # bound where `Cls.apply` was) and the classes --map replaces (perhaps without a shim).
    namespaces: list[str] = field(default_factory=list)
    replacements: dict[str, str] = field(default_factory=dict)
    mapped: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)  # of those modules, the ones that run code at import
    unignored: list[str] = field(default_factory=list)  # wrappers the rewrite took @torch.jit.ignore from
    twin_file: Path | None = None  # the FGI side's file (plan pairs it, or build_twin writes it)
    # Per side ("original", "fgi"): what verify/loading.py needs (module, file, paths, closure...).
    loading: dict[str, dict[str, Any]] = field(default_factory=dict)

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
    # Only with VerifyOptions(curves=True): input, x, original_value, fgi_value,
    # original_derivative, fgi_derivative (lists of floats), or error.
    curves: dict[str, Any] = field(default_factory=dict)
    # What was compared beyond values and gradients: outputs per call, the class members
    # looked for on the compatibility object, the modules whose namespaces were compared.
    checked: dict[str, Any] = field(default_factory=dict)
    loaded: str = ""  # how the class was loaded: import by name or path, or dependency closure and why
    report: Any = None  # the class's scan report (FunctionReport), for the shared JSON schema
    # False for a class the rewrite left alone (held back): nothing of it to verify.
    rewritten: bool = True

    def plain(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "report"}

    def details(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()
                if k not in ("path", "qualname", "status", "reason", "report")
                and (k not in ("curves", "checked") or v)}

    def to_json(self) -> dict[str, Any]:
        """A scan entry of the class with verify's status and reason, and the figures under "verify"."""
        entry = self.report.to_json() if self.report is not None else {"path": self.path, "qualname": self.qualname}
        entry.update(status=self.status, reason=self.reason, verify=self.details())
        return entry


def bits_differ(a: Any, b: Any) -> int:
    """Elements whose bits differ (signed zeros and NaN payloads count); all when the
    dtype, shape or device differ."""
    import torch

    if a.dtype != b.dtype or a.shape != b.shape or a.device != b.device:
        return max(a.numel(), b.numel(), 1)
    width = {8: torch.int64, 4: torch.int32, 2: torch.int16, 1: torch.int8}[a.element_size()]
    return int((a.contiguous().view(width) != b.contiguous().view(width)).sum())


def _bits_equal(a: Any, b: Any) -> bool:
    return bits_differ(a, b) == 0


def ulps_apart(a: Any, b: Any, precision: Any) -> float:
    import torch

    a64, b64 = a.double(), b.double()
    scale = torch.maximum(a64.abs(), b64.abs())
    finfo = torch.finfo(precision)
    # Below the normal range the spacing between numbers stops shrinking (it is the smallest
    # subnormal): scale * eps underflowed to 0 there, an exact match became 0/0 = NaN, and one
    # NaN made .max() hide every other element's difference (found by
    # tests/test_fuzz_equivalence.py on a Gaussian surrogate's far tail).
    ulp = torch.clamp_min(scale * finfo.eps, finfo.smallest_normal * finfo.eps)
    return float(((a64 - b64).abs() / ulp).max()) if a.numel() else 0.0


def _curves(original: dict[str, Any], twin: dict[str, Any]) -> dict[str, Any]:
    """Both sides' curves as plain lists (the verdicts travel as JSON)."""
    errors = [f"{side}: {r['curves_error']}" for side, r in (("original", original), ("FGI", twin))
              if "curves_error" in r]
    if errors:
        return {"error": "; ".join(errors)}
    a, b = original.get("curves"), twin.get("curves")
    if a is None or b is None:
        return {}
    return {"input": a["input"], "x": a["x"].tolist(), "original_value": a["value"].tolist(),
            "fgi_value": b["value"].tolist(), "original_derivative": a["derivative"].tolist(),
            "fgi_derivative": b["derivative"].tolist()}


def _failure(original: dict[str, Any], twin: dict[str, Any]) -> tuple[Status, str]:
    """Status and reason when a side failed: which side, at which stage (the side process
    records "import", "arguments" or "run"), and the error itself."""
    a, b = original.get("error"), twin.get("error")
    stage_a, stage_b = original.get("stage", "run"), twin.get("stage", "run")
    where_a = f" ({original['at']})" if original.get("at") else ""
    if a is not None and stage_a == "device":  # nothing ran: a setup error, not a finding about the class
        return "error", a
    if a is not None and stage_a == "import":
        return "skipped", f"cannot import the original: {a}"
    if b is not None and stage_b == "import":
        return "error", f"cannot import the FGI side where the original imports: {b}"
    if a is not None and stage_a == "arguments":
        if b is not None:
            return "skipped", f"the inferred arguments fail on the original too: {a}"
        return "skipped", f"the inferred arguments fail on the original (the FGI side runs on them): {a}"
    if a is None:
        return "error", f"the FGI side fails where the original runs{where_a or _at(twin)}: {b}"
    if b is None:
        return "error", f"the original fails where the FGI side runs{where_a}: {a}"
    if a == b:
        return "skipped", f"the original fails{where_a} too: {a}"
    return "error", f"the original fails{where_a}: {a}; the FGI side fails{_at(twin)}: {b}"


def _at(result: dict[str, Any]) -> str:
    return f" ({result['at']})" if result.get("at") else ""


def _tensor_words(output: dict[str, Any]) -> str:
    return f"{output['tensor'].dtype} {tuple(output['tensor'].shape)}"


def _output_problems(run: str, a: dict[str, Any], b: dict[str, Any], verdict: Verdict) -> list[str]:
    """Every difference a caller can see in the outputs: their number, kind, shape, dtype,
    device, requires_grad, grad_fn and bits. The first tensor output's elements where the
    original's gradient is not finite are hazards (FGI's value is NaN there), not differences."""
    import torch

    outputs_a, outputs_b = a["outputs"], b["outputs"]
    if len(outputs_a) != len(outputs_b) or a["single"] != b["single"]:
        count = {True: "one output", False: "a tuple of {}"}
        return [f"{run}: forward returns {count[a['single']].format(len(outputs_a))} vs FGI "
                f"{count[b['single']].format(len(outputs_b))}"]
    problems: list[str] = []
    first = True
    for position, (oa, ob) in enumerate(zip(outputs_a, outputs_b, strict=True)):
        name = "output" if a["single"] else f"output {position}"
        if ("tensor" in oa) != ("tensor" in ob) or oa.get("type") != ob.get("type") or oa.get("repr") != ob.get("repr"):
            words = [_tensor_words(o) if "tensor" in o else f"{o['type']} {o['repr']}" for o in (oa, ob)]
            problems.append(f"{run}: {name} is {words[0]} vs FGI {words[1]}")
            continue
        if "tensor" not in oa:
            continue
        if oa["shape"] != ob["shape"] or oa["dtype"] != ob["dtype"]:
            which = " and ".join(p for p in ("shape", "dtype") if oa[p] != ob[p])
            problems.append(f"{run}: forward differs ({_tensor_words(oa)} vs {_tensor_words(ob)}): {name} {which}")
            continue
        for prop in ("device", "requires_grad"):
            if oa[prop] != ob[prop]:
                problems.append(f"{run}: {name} {prop} {oa[prop]} vs FGI {ob[prop]}")
        if oa["grad_fn"] != ob["grad_fn"]:
            has = {True: ("has a grad_fn", "one"), False: ("has no grad_fn", "none")}
            problems.append(f"{run}: {name} {has[oa['grad_fn']][0]}, FGI's has {has[ob['grad_fn']][1]}")
        x, y = oa["tensor"], ob["tensor"]
        if first:
            first = False
            finite = torch.ones(x.shape, dtype=torch.bool)
            for g in a["grads"]:
                if g is not None and g.shape == x.shape:
                    finite &= torch.isfinite(g)
            same = _bits_equal(x[finite], y[finite]) if finite.any() else True
            overflow = int((~finite).sum()) if not _bits_equal(x, y) else 0
            if overflow:
                verdict.hazards.append(f"{run}: {overflow} elements where the surrogate is not finite: "
                                       "FGI's value is NaN")
        else:
            same = _bits_equal(x, y)
        if not same:
            problems.append(f"{run}: forward differs ({_tensor_words(oa)} vs {_tensor_words(ob)}): "
                            f"{bits_differ(x, y)} elements of {name}")
    return problems


def _gradient_problems(run: str, a: dict[str, Any], b: dict[str, Any], case: Case, verdict: Verdict) -> list[str]:
    """Gradients within the tolerance, in ulps of the coarser of the gradient's and the
    outputs' dtypes; a gradient on one side only is a difference (a dropped or leaked one)."""
    import torch

    problems: list[str] = []
    out = a["out"]
    dtypes = [o["tensor"].dtype for o in a["outputs"] if "tensor" in o and o["tensor"].is_floating_point()]
    for position, (ga, gb) in enumerate(zip(a["grads"], b["grads"], strict=True)):
        if (ga is None) != (gb is None):
            side = "FGI" if gb is None else "original"
            problems.append(f"{run}: gradient {position} is None on the {side} side only")
            continue
        if ga is None:
            continue
        if ga.shape != gb.shape or ga.dtype != gb.dtype:
            problems.append(f"{run}: gradient {position} shape/dtype differs ({ga.dtype} {tuple(ga.shape)} vs "
                            f"{gb.dtype} {tuple(gb.shape)})")
            continue
        mask = torch.isfinite(ga) & torch.isfinite(gb)
        precision = max((ga.dtype, *dtypes), key=lambda d: torch.finfo(d).eps)
        ulps = ulps_apart(ga[mask], gb[mask], precision)
        tolerance = case.tolerance if out is not None and ga.shape == out.shape else max(case.tolerance, 4)
        verdict.max_ulps = max(verdict.max_ulps, ulps)
        if ulps > tolerance:
            problems.append(f"{run}: gradient {position} differs by {ulps:.3g} ulps (tolerance {tolerance})")
    return problems


def _rng_problems(run: str, a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Both sides are seeded alike before each call: another generator state afterwards means
    another number of random values drawn (the next layer's dropout sees other numbers)."""
    for when, state_a, state_b in zip(("forward", "backward"), a["rng"], b["rng"], strict=True):
        if state_a != state_b:
            return [f"{run}: draws a different number of random values than the original (after {when})"]
    return []


def _member_problems(case: Case, original: dict[str, Any], twin: dict[str, Any], verdict: Verdict) -> list[str]:
    """Each member of the original class body must be reachable on the object that keeps the
    class's name (the shim), callable where it was, equal where it is a plain value."""
    members, reachable = original.get("members") or {}, twin.get("members")
    name = case.qualname.split(".")[-1]
    if not members or not isinstance(members, dict):
        return []
    if isinstance(reachable, str):  # the module that would keep it is not importable here
        verdict.notes.append(f"members of {name} not checked on the FGI side: {reachable}")
        return []
    if reachable is None:
        listed = ", ".join(sorted(members))
        if case.qualname in case.mapped:
            verdict.notes.append(f"the migration keeps no {name} (no compatibility object): its members "
                                 f"({listed}) are not checked")
            return []
        return [f"{name} has no compatibility object on the FGI side: its members ({listed}) are unreachable"]
    problems = []
    for member, (kind, value) in sorted(members.items()):
        if member not in reachable:
            problems.append(f"{name}.{member} is missing on the compatibility object")
        elif kind == "callable" and reachable[member][0] != "callable":
            problems.append(f"{name}.{member} is not callable on the compatibility object")
        elif kind != "callable" and reachable[member] != [kind, value]:
            got = reachable[member]
            problems.append(f"{name}.{member} is {got[1] or got[0]} on the compatibility object, "
                            f"{value or kind} on the original")
    return problems


def _namespace_problems(case: Case, original: dict[str, Any], twin: dict[str, Any], verdict: Verdict) -> list[str]:
    """The public namespace of the rewritten module and of each module that star-imports it
    must be the same but for the names the rewrite adds (its FGI functions, `import torch`),
    and those must not replace a name a star-importer had."""
    problems: list[str] = []
    spaces_a, spaces_b = original.get("namespaces", {}), twin.get("namespaces", {})
    replaced = {q.split(".")[0] for q in case.mapped}
    home = case.module or next(iter(spaces_a), "")
    new = {where.rpartition(".")[2] for where in case.replacements.values() if where.rpartition(".")[0] == home}
    # `spike_fn = Spike.apply` becomes `spike_fn = spike`: the same name, now the replacement.
    rebound = {f"apply of {home}.{qualname}": f"function {where}" for qualname, where in case.replacements.items()}
    for position, (module, space_a) in enumerate(spaces_a.items()):
        space_b = spaces_b.get(module, "not recorded")
        if isinstance(space_a, str) or isinstance(space_b, str):
            if isinstance(space_a, str):  # nothing to compare with
                verdict.notes.append(f"namespace of {module} not compared: {space_a}")
            elif case.mapped:
                verdict.notes.append(f"namespace of {module} not compared on the migration: {space_b}")
            else:
                problems.append(f"namespace of {module}: {space_b} on the FGI side, where the original imports")
            continue
        added = sorted(n for n in set(space_b) - set(space_a)
                       if not (n in new or (n == "torch" and space_b[n] == "module torch")))
        removed = sorted(set(space_a) - set(space_b) - replaced)
        changed = sorted(n for n in set(space_a) & set(space_b) if space_a[n] != space_b[n] and n not in replaced
                         and rebound.get(space_a[n]) != space_b[n])
        if position == 0:  # the rewritten module itself; the others star-import it
            # rewrite drops imports that became unused, except from a module some given file
            # star-imports (the importer may use them); only a star-importer can see them.
            dropped = [n for n in removed if _imported_into(space_a[n], module)]
            removed = [n for n in removed if n not in dropped]
            if dropped:
                verdict.notes.append(f"{module} no longer imports {', '.join(dropped)} (unused after the rewrite)")
        what = "" if position == 0 else f" (it star-imports {home})"
        if added and position == 0:
            # A migration's own new functions: harmless to the module, and a star-importer that
            # would receive them is compared below.
            verdict.notes.append(f"namespace of {module} gains {', '.join(added)}")
        elif added:
            problems.append(f"namespace of {module}{what} gains {', '.join(added)}")
        if removed:
            problems.append(f"namespace of {module}{what} loses {', '.join(removed)}")
        for n in changed:
            problems.append(f"namespace of {module}{what}: {n} is {space_b[n]} on the FGI side, {space_a[n]} "
                            f"on the original")
    return problems


def _imported_into(kind: str, module: str) -> bool:
    """A name bound by an import: a module, or a function or class defined in another module."""
    word, _, where = kind.partition(" ")
    return word == "module" or (word in ("function", "class") and not where.startswith(f"{module}."))


def _loaded(original: dict[str, Any], twin: dict[str, Any]) -> str:
    """How the original was loaded, and the FGI side too where it was loaded otherwise."""
    first, second = original.get("loaded", ""), twin.get("loaded", "")
    kind = "closure" if first.startswith("dependency closure") else "import"
    if second and second != first and not second.startswith("dependency closure" if kind == "closure" else "import"):
        return f"{first}; FGI side: {second}" if first else f"FGI side: {second}"
    return first


def compare(case: Case, original: dict[str, Any], twin: dict[str, Any]) -> Verdict:
    verdict = Verdict(case.path, case.qualname, "equivalent", "", tolerance_ulps=case.tolerance, report=case.report)
    verdict.loaded = _loaded(original, twin)
    failed = "dependency closure: import failed: "
    if original.get("loaded", "").startswith("import ") and twin.get("loaded", "").startswith(failed):
        # A rewrite (or copy) that breaks the module's import is no equivalent, closure or not.
        verdict.status = "error"
        verdict.reason = f"the FGI side's module fails to import where the original's does not: " \
                         f"{twin['loaded'][len(failed):]}"
        return verdict
    if "error" in original or "error" in twin:
        verdict.status, verdict.reason = _failure(original, twin)
        return verdict
    verdict.arguments = original.get("arguments", [])
    verdict.compat = {"original": original.get("compat", {}), "fgi": twin.get("compat", {})}
    verdict.curves = _curves(original, twin)
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
        if a.get("arguments") != b.get("arguments"):
            # Each side picks the argument forms the original accepts on its own (a shape, a
            # tensor or a float): where they part, the FGI side fell back from what failed.
            problems.append(f"{run}: the sides ran on different arguments: {a.get('arguments')} vs FGI "
                            f"{b.get('arguments')}")
            continue
        found = _output_problems(run, a, b, verdict)
        problems += found
        if not found:  # gradients of other outputs compare nothing meaningful
            problems += _gradient_problems(run, a, b, case, verdict)
        problems += _rng_problems(run, a, b)
    problems += [f"{name} lost @torch.jit.ignore but TorchScript cannot compile it: {error}"
                 for name, error in twin.get("unignored", {}).items() if error]
    problems += _member_problems(case, original, twin, verdict)
    problems += _namespace_problems(case, original, twin, verdict)
    first_run: dict[str, Any] = next(iter(original["runs"].values()), {})
    verdict.checked = {"outputs": len(first_run.get("outputs", [])),
                       "members": sorted(original.get("members") or {}) if isinstance(twin.get("members"), dict)
                       else [],
                       "namespaces": sorted(m for m, space in original.get("namespaces", {}).items()
                                            if isinstance(space, dict) and isinstance(
                                                twin.get("namespaces", {}).get(m), dict))}
    _hazards(original, twin, verdict)
    if problems:
        verdict.status = "different"
        verdict.reason = problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
    else:
        verdict.reason = (f"{verdict.runs} runs: forward bitwise identical, gradients within "
                          f"{verdict.max_ulps:.3g} ulps (tolerance {case.tolerance})")
    return verdict


def _hazards(original: dict[str, Any], twin: dict[str, Any], verdict: Verdict) -> None:
    hazard_a, hazard_b = original.get("hazard"), twin.get("hazard")
    if hazard_a is not None and hazard_b is not None and hazard_a["out"] is not None and hazard_b["out"] is not None \
            and not _bits_equal(hazard_a["out"], hazard_b["out"]):
        count = bits_differ(hazard_a["out"], hazard_b["out"])
        verdict.hazards.append(f"±inf/NaN inputs: FGI's value differs in {count} elements (the cancel pair is NaN)")
    if original.get("hazard_error") or twin.get("hazard_error"):
        verdict.hazards.append(f"±inf/NaN inputs raise: original {original.get('hazard_error', 'runs')}; "
                               f"FGI {twin.get('hazard_error', 'runs')}")
    compat_original, compat_fgi = verdict.compat.get("original", {}), verdict.compat.get("fgi", {})
    if "double backward" in compat_fgi and compat_fgi["double backward"][0] == "ok" and \
            compat_original.get("double backward", ["", ""])[0] == "ok" and \
            compat_fgi["double backward"][1] != compat_original["double backward"][1]:
        verdict.hazards.append("second derivatives differ: FGI's is 0 through the spike")

"""Comparing the two sides of `verify` (runs in the FGI side's process; needs torch, not libcst).

Forward values must be bitwise identical (signed zeros, NaN class, dtype, shape, device);
gradients agree within k ulps of max(|a|, |b|), k = 0 for symbolic rewrites. Non-finite
inputs and overflowing surrogates are hazards, reported apart.
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
    report: Any = None  # the class's scan report (FunctionReport), for the shared JSON schema
    # False for a class the rewrite left alone (held back): nothing of it to verify.
    rewritten: bool = True

    def plain(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "report"}

    def details(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()
                if k not in ("path", "qualname", "status", "reason", "report") and (k != "curves" or v)}

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
    errors = [f"{side}: {r['curves_error']}" for side, r in (("original", original), ("FGI", twin)) if "curves_error" in r]
    if errors:
        return {"error": "; ".join(errors)}
    a, b = original.get("curves"), twin.get("curves")
    if a is None or b is None:
        return {}
    return {"input": a["input"], "x": a["x"].tolist(), "original_value": a["value"].tolist(),
            "fgi_value": b["value"].tolist(), "original_derivative": a["derivative"].tolist(),
            "fgi_derivative": b["derivative"].tolist()}


def compare(case: Case, original: dict[str, Any], twin: dict[str, Any]) -> Verdict:
    import torch

    verdict = Verdict(case.path, case.qualname, "equivalent", "", tolerance_ulps=case.tolerance, report=case.report)
    if "error" in original or "error" in twin:
        if original.get("stage") == "device":  # nothing ran: a setup error, not a finding about the class
            verdict.status, verdict.reason = "error", original["error"]
        elif "error" in original and original.get("error") == twin.get("error"):
            verdict.status, verdict.reason = "skipped", f"the original fails on the inferred arguments too: {original['error']}"
        else:
            verdict.status = "error"
            verdict.reason = "; ".join(f"{side}: {r['error']}" for side, r in (("original", original), ("FGI", twin))
                                       if "error" in r)
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
            ulps = ulps_apart(ga[mask], gb[mask], precision)
            tolerance = case.tolerance if ga.shape == a["out"].shape else max(case.tolerance, 4)
            verdict.max_ulps = max(verdict.max_ulps, ulps)
            if ulps > tolerance:
                problems.append(f"{run}: gradient {position} differs by {ulps:.3g} ulps (tolerance {tolerance})")
    hazard_a, hazard_b = original.get("hazard"), twin.get("hazard")
    if hazard_a is not None and hazard_b is not None and not _bits_equal(hazard_a["out"], hazard_b["out"]):
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
    if problems:
        verdict.status = "different"
        verdict.reason = problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
    else:
        verdict.reason = (f"{verdict.runs} runs: forward bitwise identical, gradients within "
                          f"{verdict.max_ulps:.3g} ulps (tolerance {case.tolerance})")
    return verdict

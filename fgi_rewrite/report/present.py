"""What a reader sees, as text: shared by the HTML and Markdown renderers so both say the
same thing; they differ only in markup."""

from __future__ import annotations

import math
from typing import Any

from fgi_rewrite.report.collect import ClassEntry, Report

NEEDS_VERIFY = "needs `verify`: run without --report-only"

# Badge tone of every status word the report prints.
TONES = {
    "convertible": "info", "refused": "warn", "ignored": "muted",
    "rewritten": "good", "held-back": "warn", "not rewritten": "muted",
    "equivalent": "good", "different": "bad", "skipped": "muted", "error": "bad",
    "ok": "good", "fails": "bad", "differs": "warn",
}

BENCH_COLUMNS = ("function", "mode", "phase", "size", "variant", "median", "IQR", "speedup", "warm-up", "note")


def scope(report: Report) -> str:
    """The paths reported on; a relative one also by its absolute name, so that a report
    passed around a team says which checkout `.` was."""
    from pathlib import Path

    shown = []
    for given in report.paths:
        absolute = str(Path(given).resolve())
        shown.append(given if given == absolute else f"{given} ({absolute})")
    return " ".join(shown)


def summary_cards(report: Report) -> list[tuple[str, str, str, str]]:
    """(label, figure, detail, tone) for the summary at the top."""
    s = report.summary()
    cards = [
        ("Files scanned", str(s["files"]), f"{s['skipped_files']} skipped" if s["skipped_files"] else "", "info"),
        ("Classes found", str(s["classes"]), "torch.autograd.Function subclasses", "info"),
        ("Convertible", str(s["convertible"]), f"{s['safe']} safe, {s['unsafe']} unsafe", "info"),
        ("Rewritten", str(s["rewritten"]), f"{s['held_back']} held back", "good" if s["rewritten"] else "muted"),
        ("Refused", str(s["refused"]), f"{len(s['refused_by_code'])} codes", "warn" if s["refused"] else "muted"),
        ("Ignored", str(s["ignored"]), "# fgi: ignore", "muted"),
    ]
    if "verification" in s:
        v = s["verification"]
        cards += [
            ("Equivalent", str(v["equivalent"]), "verified", "good" if v["equivalent"] else "muted"),
            ("Different", str(v["different"]), "verified", "bad" if v["different"] else "muted"),
            ("Skipped", str(v["skipped"]), "not verified", "muted"),
            ("Verify errors", str(v["error"]), "", "bad" if v["error"] else "muted"),
            ("Hazards", str(s["hazards"]),
             f"in {s['classes_with_hazards']} classes: non-finite values, second derivatives",
             "warn" if s["hazards"] else "muted"),
        ]
    else:
        cards.append(("Verification", "–", NEEDS_VERIFY, "muted"))
    cards.append(("File errors", str(s["errors"]), "unreadable or unparsable", "bad" if s["errors"] else "muted"))
    return cards


def options_line(report: Report) -> str:
    o = report.options
    parts = [f"style {o.style}", "fast path" if o.fast_path else "no fast path",
             "unsafe fixes applied" if o.unsafe_fixes else "safe fixes only"]
    if report.verified:
        parts += [f"seed {o.seed}", f"dtypes {', '.join(o.dtypes)}", f"compatibility matrix {o.compat}"]
    else:
        parts.append("static (--report-only): no code imported or run")
    return "; ".join(parts)


def location(entry: ClassEntry) -> str:
    r = entry.report
    return f"{r.path}:{r.line}:{r.column}"


def scan_status(entry: ClassEntry) -> str:
    """The scan's verdict in one line: code, its meaning and the class's own reason."""
    from fgi_rewrite.codes import CODES

    r = entry.report
    meaning = CODES[r.code].summary
    if not r.reason or r.reason.startswith(meaning):
        return f"{r.code}: {r.reason or meaning}"
    return f"{r.code} ({meaning}): {r.reason}"


def inputs_line(entry: ClassEntry) -> str:
    return ", ".join(f"{i.name} ({i.role}{', ' + i.gradient if i.gradient else ''})" for i in entry.report.inputs)


def rewrite_line(entry: ClassEntry) -> str:
    return entry.outcome_reason or entry.outcome


def verify_status(entry: ClassEntry, report: Report) -> str:
    """The verification column of the contents table."""
    if entry.verdict is not None:
        return entry.verdict.status
    if not report.verified:
        return "needs verify" if entry.outcome == "rewritten" else "–"
    return "–"


def unverified_reason(entry: ClassEntry, report: Report) -> str:
    """Why a class section has no verification figures."""
    if not report.verified and entry.outcome == "rewritten":
        return NEEDS_VERIFY
    if entry.outcome in ("refused", "ignored"):
        return f"not verified: the class is {entry.outcome} and stays as it is"
    if entry.outcome == "held-back":
        return f"not verified: held back ({entry.outcome_reason})"
    return "not verified"


def plot_note(entry: ClassEntry, report: Report) -> str | None:
    """What stands where the plot would be when there is none; None: no plot section at all
    (a class that is not rewritten has nothing to compare)."""
    verdict = entry.verdict
    if verdict is None:
        return NEEDS_VERIFY if not report.verified and entry.outcome == "rewritten" else None
    if verdict.curves.get("error"):
        return f"no plot: {verdict.curves['error']}"
    if verdict.status in ("skipped", "error"):
        return None
    return "no plot: the class has no differentiable input of the output's shape"


def verification_rows(verdict: Any) -> list[tuple[str, str]]:
    rows = [("result", f"{verdict.status}: {verdict.reason}")]
    if verdict.runs:
        rows.append(("runs", str(verdict.runs)))
        rows.append(("largest gradient difference",
                     f"{verdict.max_ulps:.3g} ulps (tolerance {verdict.tolerance_ulps})"))
    if verdict.arguments:
        rows.append(("arguments", "; ".join(verdict.arguments)))
    rows += [("note", note) for note in verdict.notes]
    rows += [("hazard", hazard) for hazard in verdict.hazards]
    return rows


def compat_rows(verdict: Any) -> list[tuple[str, list[str] | None, list[str] | None]]:
    """(cell, original's [status, detail], FGI's) in the order the sides report them."""
    original, fgi = verdict.compat.get("original", {}), verdict.compat.get("fgi", {})
    names = list(original) + [name for name in fgi if name not in original]
    return [(name, original.get(name), fgi.get(name)) for name in names]


def plot_caption(curves: dict[str, Any], arguments: list[str]) -> str:
    from fgi_rewrite.report.plot import largest_differences

    value, derivative = largest_differences(curves)
    others = [a for a in arguments if not a.startswith(f"{curves['input']}=")]
    held = f"; other inputs: {'; '.join(others)}, tensors held at their first element" if others else ""
    return (f"{curves['input']} from {curves['x'][0]:g} to {curves['x'][-1]:g} in float64{held}. "
            f"Largest |original − FGI|: value {number(value)}, derivative {number(derivative)}.")


def number(value: float) -> str:
    return "NaN on one side only" if math.isnan(value) else f"{value:.3g}"


def seconds(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def _pair(values: Any, format_one: Any) -> str:
    if isinstance(values, (list, tuple)) and len(values) == 2:
        return f"{format_one(values[0])} – {format_one(values[1])}"
    return "–"


def bench_cells(row: dict[str, Any]) -> list[str]:
    speedup = row.get("speedup")

    def ratio(value: Any) -> str:
        return f"{value:.3g}×" if isinstance(value, (int, float)) else "–"

    return [str(row.get("function", "")), str(row.get("mode", "")), str(row.get("phase", "")),
            str(row.get("size", "")), str(row.get("variant", "")), seconds(row.get("median_s")),
            _pair(row.get("iqr_s"), seconds),
            ratio(speedup) + (f" ({_pair(row.get('speedup_iqr'), ratio)})" if row.get("speedup_iqr") else ""),
            seconds(row.get("warmup_s")), str(row.get("note") or "")]


def bench_facts(document: dict[str, Any]) -> list[tuple[str, str]]:
    facts = [(key, str(document[key])) for key in ("kind", "command", "torch", "device", "dtype", "threads")
             if document.get(key) is not None]
    machine = document.get("machine")
    if isinstance(machine, dict) and machine:
        facts.append(("machine", ", ".join(f"{k} {v}" for k, v in machine.items())))
    return facts

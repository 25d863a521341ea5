"""The report as one JSON document in the shared schema (schema/fgi-rewrite.schema.json,
command "report"): scan entries in their usual shape with what rewrite, verify and bench
found for each, plus a "report" object with the options, the diffs and the bench file."""

from __future__ import annotations

import json
import math
from typing import Any

from fgi_rewrite import __version__
from fgi_rewrite.output import SCHEMA_VERSION
from fgi_rewrite.report.collect import ClassEntry, Report

# The sections a --report-only document leaves out.
NEEDS_VERIFY_SECTIONS = ["verification", "compatibility matrix", "hazards", "plot"]


def _finite(value: Any) -> Any:
    """NaN and ±inf become null: strict JSON has no spelling for them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _entry(entry: ClassEntry, report: Report) -> dict[str, Any]:
    data = entry.report.to_json()
    data["rewrite"] = {"outcome": entry.outcome, "reason": entry.outcome_reason, "function": entry.function,
                       "diff": entry.diff_text()}
    if entry.verdict is not None:
        data["verify"] = {"status": entry.verdict.status, "reason": entry.verdict.reason, **entry.verdict.details()}
    if report.bench is not None:
        data["bench"] = entry.bench_rows
    return data


def to_document(report: Report) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "paths": report.paths, "options": report.options.to_json(),
        "diffs": [{"path": d.path, "diff": d.text(), "other_changes": d.text(d.others) if d.others else ""}
                  for d in report.diffs],
        "bench": {"source": report.bench_source, "document": report.bench} if report.bench is not None else None,
    }
    if not report.verified:
        extra["needs_verify"] = NEEDS_VERIFY_SECTIONS
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "tool": {"name": "fgi-rewrite", "version": __version__},
        "command": "report", "summary": report.summary(),
        "functions": [_entry(e, report) for e in report.classes],
        "errors": [e.to_json() for e in report.errors],
        "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
    }
    if report.verified:
        document.update(seed=report.options.seed, dtypes=list(report.options.dtypes))
    document["report"] = extra
    return _finite(document)


def render_json(report: Report) -> str:
    return json.dumps(to_document(report), indent=2, allow_nan=False) + "\n"

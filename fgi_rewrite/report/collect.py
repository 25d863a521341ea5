"""Everything a report shows, gathered into one typed document before anything is rendered.

The static part reads the files only: each is parsed once and shared by scan and rewrite
(as `verify` does), call sites in other files are patched as `rewrite` would, and each
file's diff is cut into per-class hunks. Verification verdicts and bench rows are attached
afterwards by the command, which alone decides whether user code runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fgi_rewrite.model import FileError, FunctionReport, SkippedFile
from fgi_rewrite.report.hunks import Hunk

VERIFY_STATUSES = ("equivalent", "different", "skipped", "error")


@dataclass(frozen=True)
class ReportOptions:
    report_only: bool = False
    unsafe_fixes: bool = False
    style: str = "signed-zero"
    fast_path: bool = True
    seed: int = 0
    dtypes: tuple[str, ...] = ()
    compat: Literal["none", "default", "full"] = "default"
    arguments: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)  # [tool.fgi-rewrite.verify] inputs, as verify takes them

    def to_json(self) -> dict[str, Any]:
        return {"report_only": self.report_only, "unsafe_fixes": self.unsafe_fixes, "style": self.style,
                "fast_path": self.fast_path, "seed": self.seed, "dtypes": list(self.dtypes),
                "compat": self.compat, "arguments": dict(self.arguments)}


@dataclass
class FileDiff:
    path: str
    header: str  # the ---/+++ lines
    old_text: str
    new_text: str
    hunks: list[Hunk]
    others: list[Hunk] = field(default_factory=list)  # call sites, imports: no class's own change

    def text(self, hunks: Sequence[Hunk] | None = None) -> str:
        return self.header + "".join(h.text for h in (self.hunks if hunks is None else hunks))


@dataclass
class ClassEntry:
    report: FunctionReport
    anchor: str
    outcome: str  # rewrite's: rewritten, held-back, refused, ignored
    outcome_reason: str
    function: str | None = None
    diff: FileDiff | None = None
    hunks: list[Hunk] = field(default_factory=list)
    verdict: Any = None  # verify.compare.Verdict, when verified
    bench_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return self.report.path, self.report.qualname

    def diff_text(self) -> str:
        return self.diff.text(self.hunks) if self.diff is not None and self.hunks else ""


@dataclass
class Report:
    paths: list[str]
    options: ReportOptions
    files: int = 0
    classes: list[ClassEntry] = field(default_factory=list)
    diffs: list[FileDiff] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    bench: dict[str, Any] | None = None
    bench_source: str | None = None

    @property
    def verified(self) -> bool:
        return not self.options.report_only

    def summary(self) -> dict[str, Any]:
        """Counts a reader decides on; verification totals only when verification ran."""
        from fgi_rewrite.codes import CODES

        reports = [c.report for c in self.classes]
        outcomes = [c.outcome for c in self.classes]
        refused: dict[str, dict[str, Any]] = {}
        for report in sorted((r for r in reports if r.status == "refused"), key=lambda r: r.code):
            entry = refused.setdefault(report.code, {"count": 0, "meaning": CODES[report.code].summary})
            entry["count"] += 1
        result: dict[str, Any] = {
            "files": self.files, "classes": len(reports),
            "convertible": sum(r.status == "convertible" for r in reports),
            "safe": sum(r.status == "convertible" and r.fix == "safe" for r in reports),
            "unsafe": sum(r.status == "convertible" and r.fix == "unsafe" for r in reports),
            "rewritten": outcomes.count("rewritten"), "held_back": outcomes.count("held-back"),
            "refused": sum(r.status == "refused" for r in reports), "refused_by_code": refused,
            "ignored": sum(r.status == "ignored" for r in reports),
            "errors": len(self.errors), "skipped_files": len(self.skipped),
        }
        if self.verified:
            verdicts = [c.verdict for c in self.classes if c.verdict is not None]
            result["verification"] = {s: sum(v.status == s for v in verdicts) for s in VERIFY_STATUSES}
            result["hazards"] = sum(len(v.hazards) for v in verdicts)
            result["classes_with_hazards"] = sum(bool(v.hazards) for v in verdicts)
        return result


def _anchor(path: str, qualname: str, taken: set[str]) -> str:
    base = "class-" + re.sub(r"[^A-Za-z0-9]+", "-", f"{path}-{qualname}").strip("-").lower()
    anchor, number = base, 2
    while anchor in taken:
        anchor, number = f"{base}-{number}", number + 1
    taken.add(anchor)
    return anchor


@dataclass
class _File:
    path: Path
    shown: str
    data: bytes
    new: bytes
    reports: list[FunctionReport]
    outcomes: list[Any]  # rewrite.ClassOutcome


def _analyse(path: Path, shown: str, rewrite_options: Any) -> tuple[_File | None, list[FileError]]:
    """Scan and rewrite one file from a single parse; nothing is imported or executed."""
    import libcst as cst

    from fgi_rewrite.rewrite import rewrite_module
    from fgi_rewrite.scan import could_define_function, scan_module, scan_source

    try:
        data = path.read_bytes()
    except OSError as error:
        return None, [FileError(shown, None, None, "FGI901", f"cannot read: {error.strerror or error}")]
    if not could_define_function(data):
        return _File(path, shown, data, data, [], []), []
    try:
        parsed = cst.parse_module(data)
    except (cst.ParserSyntaxError, UnicodeDecodeError, LookupError, SyntaxError, RecursionError):
        return None, scan_source(data, shown)[1] or [FileError(shown, None, None, "FGI902", "cannot parse")]
    reports, errors = scan_module(parsed, data, shown)
    try:
        rewritten = rewrite_module(data, rewrite_options, parsed)
    except Exception as error:  # noqa: BLE001 - a bug of ours: the file is shown unchanged, the error listed
        errors.append(FileError(shown, None, None, "FGI903",
                                f"internal error rewriting: {type(error).__name__}: {error}"))
        return _File(path, shown, data, data, reports, []), errors
    return _File(path, shown, data, rewritten.source, reports, rewritten.outcomes), errors


def collect(files: Sequence[tuple[Path, str]], paths: Sequence[str], options: ReportOptions) -> Report:
    from fgi_rewrite.emit.call_sites import patch_call_sites
    from fgi_rewrite.report.hunks import assign, class_spans, split
    from fgi_rewrite.rewrite import RewriteOptions
    from fgi_rewrite.writer import unified_diff

    report = Report(list(paths), options, files=len(files))
    rewrite_options = RewriteOptions(unsafe_fixes=options.unsafe_fixes, style=options.style,
                                     fast_path=options.fast_path)
    analysed: list[_File] = []
    for path, shown in files:
        done, errors = _analyse(path, shown, rewrite_options)
        report.errors.extend(errors)
        if done is not None:
            analysed.append(done)
    # Call sites in other files, as `rewrite` patches them (module-level classes only).
    converted = {f.path: {o.qualname: o.function for o in f.outcomes
                          if o.outcome == "rewritten" and o.function and "." not in o.qualname}
                 for f in analysed}
    for path, data in patch_call_sites({f.path: f.new for f in analysed},
                                       {p: c for p, c in converted.items() if c}).items():
        next(f for f in analysed if f.path == path).new = data
    taken: set[str] = set()
    for file in analysed:
        outcomes: dict[str, list[Any]] = {}
        for outcome in file.outcomes:
            outcomes.setdefault(outcome.qualname, []).append(outcome)
        entries = []
        for function_report in file.reports:
            found = outcomes.get(function_report.qualname) or [None]
            outcome = found.pop(0)
            entries.append(ClassEntry(
                function_report, _anchor(file.shown, function_report.qualname, taken),
                outcome.outcome if outcome is not None else "not rewritten",
                outcome.reason if outcome is not None else "",
                outcome.function if outcome is not None else None))
        report.classes.extend(entries)
        if file.new == file.data:
            continue
        header, hunks = split(unified_diff(file.shown, file.data, file.new))
        diff = FileDiff(file.shown, header, file.data.decode("utf-8", "replace"),
                        file.new.decode("utf-8", "replace"), hunks)
        spans = class_spans(file.data)
        owned, diff.others = assign(hunks, {e.anchor: (spans.get(e.report.line), e.function) for e in entries})
        for entry in entries:
            entry.diff, entry.hunks = diff, owned[entry.anchor]
        report.diffs.append(diff)
    return report


def attach_verdicts(report: Report, verdicts: Sequence[Any]) -> None:
    by_key = {(v.path, v.qualname): v for v in verdicts}
    for entry in report.classes:
        entry.verdict = by_key.get(entry.key)


def attach_bench(report: Report, document: dict[str, Any], source: str) -> None:
    from fgi_rewrite.report.bench import rows_for

    report.bench, report.bench_source = document, source
    for entry in report.classes:
        entry.bench_rows = rows_for(document, *entry.key)

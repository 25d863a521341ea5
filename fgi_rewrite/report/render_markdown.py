"""The report as Markdown (GitHub-flavoured tables, diffs in ```diff fences); the plots are
PNG files beside it, in `<stem>_files/`, referenced by relative paths."""

from __future__ import annotations

from fgi_rewrite import __version__
from fgi_rewrite.report.collect import ClassEntry, Report
from fgi_rewrite.report.present import (
    BENCH_COLUMNS,
    NEEDS_VERIFY,
    bench_cells,
    bench_facts,
    compat_rows,
    inputs_line,
    location,
    options_line,
    plot_caption,
    plot_note,
    rewrite_line,
    scan_status,
    scope,
    summary_cards,
    unverified_reason,
    verification_rows,
    verify_status,
)


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") or " "


def _table(columns: tuple[str, ...] | list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _fence(text: str, language: str) -> list[str]:
    fence = "```"
    while fence in text:
        fence += "`"
    return [fence + language, text.rstrip("\n"), fence, ""]


def _summary(report: Report) -> list[str]:
    lines = ["## Summary", ""]
    lines += _table(("", "count", ""), [[label, figure, detail] for label, figure, detail, _ in summary_cards(report)])
    refused = report.summary()["refused_by_code"]
    if refused:
        lines += ["### Refused, by code", ""]
        lines += _table(("code", "classes", "meaning"),
                        [[code, str(entry["count"]), entry["meaning"]] for code, entry in refused.items()])
    if report.errors:
        lines += ["### Files that could not be analysed", ""]
        lines += _table(("file", "code", "problem"), [[e.path + (f":{e.line}" if e.line else ""), e.code, e.message]
                                                      for e in report.errors])
    if report.skipped:
        lines += ["### Skipped files", ""]
        lines += _table(("file", "reason"), [[s.path, s.reason] for s in report.skipped])
    return lines


def _class_section(entry: ClassEntry, report: Report, plots: dict[str, str]) -> list[str]:
    r = entry.report
    facts = [["location", f"`{location(entry)}`"], ["scan", f"**{r.status}** {scan_status(entry)}"]]
    if r.kind:
        facts.append(["kind", r.kind + (f" ({r.fix} fix)" if r.fix else "")])
    if r.inputs:
        facts.append(["inputs", inputs_line(entry)])
    facts += [["note", note] for note in r.notes]
    facts.append(["rewrite", f"**{entry.outcome}** {rewrite_line(entry)}"])
    lines = [f'<a id="{entry.anchor}"></a>', "", f"## {r.qualname}", ""]
    lines += _table(("", ""), facts)
    lines += ["### Diff", ""]
    lines += _fence(entry.diff_text(), "diff") if entry.hunks else ["No change: the class stays as it is.", ""]
    lines += ["### Verification", ""]
    verdict = entry.verdict
    if verdict is None:
        lines += [f"_{unverified_reason(entry, report)}_", ""]
    else:
        lines += _table(("", ""), [[label, value] for label, value in verification_rows(verdict)])
        matrix = compat_rows(verdict)
        if matrix:
            lines += ["### Compatibility matrix", ""]
            lines += _table(("check", "original", "FGI"),
                            [[name] + [f"**{v[0]}** {v[1]}" if v is not None else "not run" for v in (a, b)]
                             for name, a, b in matrix])
    if entry.bench_rows:
        lines += ["### Speed", ""]
        lines += _table(BENCH_COLUMNS, [bench_cells(row) for row in entry.bench_rows])
    if entry.anchor in plots:
        lines += ["### Value and surrogate derivative", "",
                  f"![forward value and surrogate derivative of {r.qualname}, original and FGI]({plots[entry.anchor]})",
                  "", "Original: wide pale line; FGI: dashed line. " + plot_caption(verdict.curves, verdict.arguments),
                  ""]
    elif (note := plot_note(entry, report)) is not None:
        lines += ["### Value and surrogate derivative", "", f"_{note}_", ""]
    return lines


def render_markdown(report: Report, plots: dict[str, str]) -> str:
    """plots: class anchor -> the PNG's path relative to the Markdown file."""
    lines = ["# FGI migration report", "", f"{scope(report)} · fgi-rewrite {__version__}", "",
             options_line(report), ""]
    if not report.verified:
        lines += [(f"> **Static report (--report-only).** Scan results and diffs only: no code was imported or run. "
                   f"Verification figures, compatibility matrices and plots {NEEDS_VERIFY}."), ""]
    lines += _summary(report)
    lines += ["## Classes", ""]
    lines += _table(("#", "class", "location", "scan", "rewrite", "verification"),
                    [[str(n), f"[{e.report.qualname}](#{e.anchor})", f"`{location(e)}`",
                      f"{e.report.status} {e.report.code}", e.outcome, verify_status(e, report)]
                     for n, e in enumerate(report.classes, 1)])
    for entry in report.classes:
        lines += _class_section(entry, report, plots)
    others = [d for d in report.diffs if d.others]
    if others:
        lines += ["## Other changes", "",
                  "Call sites that now call the new functions directly, and imports added or dropped.", ""]
        for diff in others:
            lines += _fence(diff.text(diff.others), "diff")
    if report.bench is not None:
        lines += ["## Speed", "", (f"From `{report.bench_source}`. Medians with their interquartile range; "
                                   "speed-ups measured side by side in one run."), ""]
        lines += _table(("", ""), [[k, v] for k, v in bench_facts(report.bench)])
        lines += _table(BENCH_COLUMNS, [bench_cells(row) for row in report.bench["rows"]])
    return "\n".join(lines).rstrip("\n") + "\n"

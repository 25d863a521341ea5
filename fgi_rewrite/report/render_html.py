"""The report as one self-contained HTML page: inline CSS, plots as data: URIs, no script, no
external resource, so it opens offline and can be mailed or attached as it is."""

from __future__ import annotations

import base64
import re
from html import escape

from fgi_rewrite import __version__
from fgi_rewrite.report.collect import ClassEntry, FileDiff, Report
from fgi_rewrite.report.hunks import Hunk
from fgi_rewrite.report.present import (
    BENCH_COLUMNS,
    NEEDS_VERIFY,
    TONES,
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

_CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d8dee4; --panel: #f6f8fa;
  --good: #1a7f37; --good-bg: #dafbe1; --bad: #cf222e; --bad-bg: #ffebe9; --warn: #9a6700; --warn-bg: #fff8c5;
  --info: #0969da; --info-bg: #ddf4ff; --muted-c: #6e7781; --muted-bg: #eaeef2; }
* { box-sizing: border-box; }
body { margin: 0; background: #f3f4f6; color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 28px 36px 72px; background: #fff; min-height: 100vh; }
h1 { font-size: 28px; margin: 0 0 6px; }
h2 { font-size: 21px; margin: 44px 0 14px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 13px; margin: 24px 0 8px; color: var(--muted); text-transform: uppercase; letter-spacing: .06em; }
a { color: var(--info); text-decoration: none; } a:hover { text-decoration: underline; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: 13px; }
.meta { color: var(--muted); margin: 2px 0; }
.notice { background: var(--info-bg); border-left: 4px solid var(--info); padding: 10px 14px; margin: 16px 0;
  border-radius: 4px; }
.needs { color: var(--muted); background: var(--panel); border: 1px dashed var(--line); padding: 8px 12px;
  border-radius: 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(165px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-left: 5px solid var(--tone); border-radius: 6px; padding: 10px 14px; }
.card .figure { font-size: 28px; font-weight: 650; line-height: 1.2; }
.card .label { font-weight: 600; }
.card .detail { font-size: 12.5px; color: var(--muted); }
.good { --tone: var(--good); --tone-bg: var(--good-bg); } .bad { --tone: var(--bad); --tone-bg: var(--bad-bg); }
.warn { --tone: var(--warn); --tone-bg: var(--warn-bg); } .info { --tone: var(--info); --tone-bg: var(--info-bg); }
.muted { --tone: var(--muted-c); --tone-bg: var(--muted-bg); }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600;
  color: var(--tone); background: var(--tone-bg); white-space: nowrap; vertical-align: middle; }
table { border-collapse: collapse; }
table.grid { width: 100%; }
table.grid th, table.grid td { border-bottom: 1px solid var(--line); padding: 6px 10px; text-align: left;
  vertical-align: top; }
table.grid thead th { background: var(--panel); font-size: 13px; color: var(--muted); font-weight: 600; }
table.facts th { width: 200px; color: var(--muted); font-weight: 500; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.grid td:first-child { white-space: nowrap; }
.small { font-size: 12.5px; color: var(--muted); }
section.class { margin-top: 56px; }
section.class > h2 { border-bottom: 2px solid var(--fg); }
section.class > h2 .where { font-size: 14px; font-weight: 400; color: var(--muted); margin-left: 8px; }
.diff { border: 1px solid var(--line); border-radius: 6px; overflow-x: auto; }
.diff table { width: 100%;
  font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
.diff td { padding: 0 8px; }
.diff td.n { color: #8c959f; text-align: right; width: 1%; white-space: nowrap; user-select: none; }
.diff td.s { width: 1%; color: #8c959f; user-select: none; }
.diff td.c { white-space: pre; }
.diff tr.add { background: #e6ffec; } .diff tr.add td.n, .diff tr.add td.s { background: #ccffd8; color: #1a7f37; }
.diff tr.del { background: #ffebe9; } .diff tr.del td.n, .diff tr.del td.s { background: #ffd7d5; color: #cf222e; }
.diff tr.hunk td { background: var(--info-bg); color: var(--muted); padding: 3px 8px; }
.diff tr.file td { background: var(--panel); color: var(--muted); padding: 4px 8px; font-weight: 600; }
figure { margin: 0; } img.plot { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; }
footer { margin-top: 56px; color: var(--muted); font-size: 13px; }
@media print { body { background: #fff; } main { padding: 0; } section.class { break-before: page; } }
"""


def _text(words: str) -> str:
    """Escaped, with `quoted` spans as code (the notes say `verify`, `--unsafe-fixes`)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(words))


def _badge(word: str, text: str | None = None) -> str:
    return f'<span class="badge {TONES.get(word, "muted")}">{escape(text or word)}</span>'


def _code_lines(text: str) -> list[str]:
    """The file as highlighted HTML, one entry per line (as difflib numbers them). Falls back
    to plain escaped lines where the highlighter would count lines differently (form feeds,
    lone carriage returns)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    lines = text.splitlines()
    highlighted = highlight(text, PythonLexer(stripnl=False, ensurenl=True), HtmlFormatter(nowrap=True))
    split = highlighted.split("\n")[:-1]
    return split if len(split) == len(lines) else [escape(line) for line in lines]


class _Highlighter:
    def __init__(self) -> None:
        self._cache: dict[int, tuple[list[str], list[str]]] = {}

    def lines(self, diff: FileDiff) -> tuple[list[str], list[str]]:
        if id(diff) not in self._cache:
            self._cache[id(diff)] = (_code_lines(diff.old_text), _code_lines(diff.new_text))
        return self._cache[id(diff)]


def _diff_table(diff: FileDiff, hunks: list[Hunk], highlighter: _Highlighter) -> str:
    old_lines, new_lines = highlighter.lines(diff)
    rows = [f'<tr class="file"><td colspan="4">{escape(diff.path)}</td></tr>']
    for hunk in hunks:
        rows.append(f'<tr class="hunk"><td colspan="4">{escape(hunk.lines[0].rstrip())}</td></tr>')
        old, new = hunk.old_start, hunk.new_start
        for line in hunk.lines[1:]:
            sign = line[:1]
            if sign == "+":
                code = new_lines[new - 1] if new - 1 < len(new_lines) else escape(line[1:].rstrip("\r\n"))
                rows.append(f'<tr class="add"><td class="n"></td><td class="n">{new}</td><td class="s">+</td>'
                            f'<td class="c">{code}</td></tr>')
                new += 1
            elif sign == "-":
                code = old_lines[old - 1] if old - 1 < len(old_lines) else escape(line[1:].rstrip("\r\n"))
                rows.append(f'<tr class="del"><td class="n">{old}</td><td class="n"></td><td class="s">−</td>'
                            f'<td class="c">{code}</td></tr>')
                old += 1
            else:
                code = new_lines[new - 1] if new - 1 < len(new_lines) else escape(line[1:].rstrip("\r\n"))
                rows.append(f'<tr><td class="n">{old}</td><td class="n">{new}</td><td class="s"></td>'
                            f'<td class="c">{code}</td></tr>')
                old, new = old + 1, new + 1
    return f'<div class="diff"><table>{"".join(rows)}</table></div>'


def _facts(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{escape(label)}</th><td>{value}</td></tr>" for label, value in rows)
    return f'<table class="grid facts">{body}</table>'


def _table(columns: tuple[str, ...] | list[str], rows: list[list[str]], numeric: tuple[int, ...] = ()) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f'<td{" class=num" if n in numeric else ""}>{cell}</td>'
                                    for n, cell in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _summary(report: Report) -> str:
    cards = "".join(f'<div class="card {tone}"><div class="label">{escape(label)}</div>'
                    f'<div class="figure">{escape(figure)}</div><div class="detail">{_text(detail)}</div></div>'
                    for label, figure, detail, tone in summary_cards(report))
    parts = [f'<section id="summary" class="summary"><h2>Summary</h2><div class="cards">{cards}</div>']
    refused = report.summary()["refused_by_code"]
    if refused:
        rows = [[f"<code>{escape(code)}</code>", str(entry["count"]), escape(entry["meaning"])]
                for code, entry in refused.items()]
        parts.append("<h3>Refused, by code</h3>" + _table(("code", "classes", "meaning"), rows, numeric=(1,)))
    if report.errors:
        rows = [[escape(e.path + (f":{e.line}" if e.line else "")), f"<code>{escape(e.code)}</code>", escape(e.message)]
                for e in report.errors]
        parts.append("<h3>Files that could not be analysed</h3>" + _table(("file", "code", "problem"), rows))
    if report.skipped:
        rows = [[escape(s.path), escape(s.reason)] for s in report.skipped]
        parts.append("<h3>Skipped files</h3>" + _table(("file", "reason"), rows))
    return "".join(parts) + "</section>"


def _contents(report: Report) -> str:
    rows = [[str(n), f'<a href="#{e.anchor}">{escape(e.report.qualname)}</a>',
             f'<span class="mono">{escape(location(e))}</span>',
             _badge(e.report.status) + f' <code>{escape(e.report.code)}</code>', _badge(e.outcome),
             _badge(verify_status(e, report))]
            for n, e in enumerate(report.classes, 1)]
    table = _table(("#", "class", "location", "scan", "rewrite", "verification"), rows) if rows else \
        "<p>No torch.autograd.Function classes were found.</p>"
    return f'<nav id="contents"><h2>Classes</h2>{table}</nav>'


def _verification(entry: ClassEntry, report: Report) -> str:
    verdict = entry.verdict
    if verdict is None:
        return f'<h3>Verification</h3><p class="needs">{_text(unverified_reason(entry, report))}</p>'
    rows = [(label, (_badge(verdict.status) + " " + escape(value.split(": ", 1)[1])) if label == "result"
             else escape(value)) for label, value in verification_rows(verdict)]
    parts = ["<h3>Verification</h3>", _facts(rows)]
    matrix = compat_rows(verdict)
    if matrix:
        def cell(value: list[str] | None) -> str:
            if value is None:
                return '<span class="small">not run</span>'
            return _badge(value[0]) + (f'<div class="small">{escape(value[1])}</div>' if value[1] else "")

        parts.append("<h3>Compatibility matrix</h3>"
                     + _table(("check", "original", "FGI"), [[escape(n), cell(a), cell(b)] for n, a, b in matrix]))
    return "".join(parts)


def _plot(entry: ClassEntry, report: Report, pngs: dict[str, bytes]) -> str:
    heading = "<h3>Value and surrogate derivative</h3>"
    if entry.anchor not in pngs:
        note = plot_note(entry, report)
        return "" if note is None else f'{heading}<p class="needs">{_text(note)}</p>'
    verdict = entry.verdict
    data = base64.b64encode(pngs[entry.anchor]).decode("ascii")
    caption = escape(plot_caption(verdict.curves, verdict.arguments))
    return (f"{heading}<figure>"
            f'<img class="plot" alt="forward value and surrogate derivative of {escape(entry.report.qualname)}, '
            f'original and FGI" src="data:image/png;base64,{data}">'
            f"<figcaption>Original: wide pale line; FGI: dashed line. {caption}</figcaption></figure>")


def _class_section(entry: ClassEntry, report: Report, pngs: dict[str, bytes], highlighter: _Highlighter) -> str:
    r = entry.report
    facts = [("location", f'<span class="mono">{escape(location(entry))}</span>'),
             ("scan", _badge(r.status) + " " + escape(scan_status(entry)))]
    if r.kind:
        facts.append(("kind", escape(r.kind) + (f" ({escape(r.fix)} fix)" if r.fix else "")))
    if r.inputs:
        facts.append(("inputs", escape(inputs_line(entry))))
    facts += [("note", escape(note)) for note in r.notes]
    facts.append(("rewrite", _badge(entry.outcome) + " " + escape(rewrite_line(entry))))
    parts = [f'<section class="class" id="{entry.anchor}">',
             f'<h2>{escape(r.qualname)} <span class="where">{escape(r.path)}</span></h2>', _facts(facts),
             "<h3>Diff</h3>"]
    if entry.hunks and entry.diff is not None:
        parts.append(_diff_table(entry.diff, entry.hunks, highlighter))
    else:
        parts.append('<p class="needs">No change: the class stays as it is.</p>')
    parts.append(_verification(entry, report))
    if entry.bench_rows:
        parts.append("<h3>Speed</h3>" + _table(BENCH_COLUMNS, [[escape(c) for c in bench_cells(row)]
                                                            for row in entry.bench_rows], numeric=(5, 6, 7, 8)))
    parts.append(_plot(entry, report, pngs))
    return "".join(parts) + "</section>"


def _other_changes(report: Report, highlighter: _Highlighter) -> str:
    diffs = [d for d in report.diffs if d.others]
    if not diffs:
        return ""
    tables = "".join(_diff_table(d, d.others, highlighter) + "<br>" for d in diffs)
    return ('<section id="other-changes"><h2>Other changes</h2><p>Call sites that now call the new functions '
            f"directly, and imports added or dropped.</p>{tables}</section>")


def _speed(report: Report) -> str:
    if report.bench is None:
        return ""
    facts = _facts([(k, escape(v)) for k, v in bench_facts(report.bench)])
    rows = [[escape(c) for c in bench_cells(row)] for row in report.bench["rows"]]
    return (f'<section id="speed"><h2>Speed</h2><p class="meta">From <code>{escape(report.bench_source or "")}</code>. '
            "Medians with their interquartile range; speed-ups measured side by side in one run.</p>"
            f"{facts}<h3>Measurements</h3>{_table(BENCH_COLUMNS, rows, numeric=(5, 6, 7, 8))}</section>")


def render_html(report: Report, pngs: dict[str, bytes]) -> str:
    from pygments.formatters import HtmlFormatter

    highlighter = _Highlighter()
    # Token colours only: the formatter's background would hide the added/removed line colours.
    token_css = "\n".join(HtmlFormatter(style="default").get_token_style_defs(".diff td.c"))
    notice = "" if report.verified else (
        f'<div class="notice"><strong>Static report (--report-only).</strong> Scan results and diffs only: no code '
        f"was imported or run. Verification figures, compatibility matrices and plots {_text(NEEDS_VERIFY)}.</div>")
    body = [
        "<header><h1>FGI migration report</h1>",
        f'<p class="meta">{escape(scope(report))} · fgi-rewrite {escape(__version__)}</p>',
        f'<p class="meta">{escape(options_line(report))}</p>{notice}</header>',
        _summary(report), _contents(report),
        *(_class_section(e, report, pngs, highlighter) for e in report.classes),
        _other_changes(report, highlighter), _speed(report),
        ("<footer>Written by <code>fgi-rewrite report</code>. Forward gradient injection: "
         "<code>y = f(x).detach() - (inj.detach() - inj)</code> with <code>inj = x * g(x).detach()</code>.</footer>"),
    ]
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>FGI migration report</title><style>{_CSS}{token_css}</style></head>"
            f'<body><main>{"".join(body)}</main></body></html>\n')


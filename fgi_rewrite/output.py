"""Render a ScanResult: JSON, SARIF or annotations on stdout (data), findings as text lines on
stdout, messages on stderr."""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Any

from fgi_rewrite import __version__
from fgi_rewrite.model import FunctionReport, ScanResult, location

SCHEMA_VERSION = 1


def to_document(result: ScanResult, command: str) -> dict[str, Any]:
    from fgi_rewrite.scan import summary

    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "fgi-rewrite", "version": __version__},
        "command": command,
        "summary": summary(result),
        "functions": [f.to_json() for f in result.functions],
        "errors": [e.to_json() for e in result.errors],
        "skipped": [{"path": s.path, "reason": s.reason} for s in result.skipped],
    }


def write_json(result: ScanResult, command: str, stream: IO[str]) -> None:
    json.dump(to_document(result, command), stream, indent=2)
    stream.write("\n")


_STATUS_STYLE: dict[str, dict[str, Any]] = {"convertible": {"fg": "green"}, "refused": {"fg": "yellow"},
                                             "ignored": {"dim": True}}


def finding_lines(f: FunctionReport, width: int | None) -> list[str]:
    """`path:line:col: CODE status [fix] qualname: reason`, wrapped by words at width.

    One finding per line (as ruff's concise output), not a table: a table of six columns
    cannot fit 80 columns without folding the location or cutting the reason."""
    from fgi_rewrite.terminal import wrap

    status = f"{f.status} {f.fix}" if f.fix else f.status
    where = location(f.path, f.line, f.column, f.cell)
    return wrap(f"{where}:", f"{f.code} {status} {f.qualname}: {f.reason}", width)


def write_text(result: ScanResult) -> None:
    """Findings on stdout, wrapped at the terminal's width (or COLUMNS), one line each when
    piped; skipped files, errors and the summary on stderr, one line each."""
    import click

    from fgi_rewrite.scan import summary
    from fgi_rewrite.terminal import width_of

    for skipped in result.skipped:
        click.echo(f"{click.style('skipped', dim=True)} {skipped.path}: {skipped.reason}", err=True)
    for error in result.errors:
        click.echo(f"{click.style('error', fg='red')} {location(error.path, error.line, error.column, error.cell)}: "
                   f"{error.code} {error.message}", err=True)
    width = width_of(sys.stdout)
    for f in result.functions:
        first, *rest = finding_lines(f, width)
        # Colour the status word where it stands after the location and code (wrapping never moves
        # it: it is the second word after the location, or starts the next line, left plain).
        head = f"{location(f.path, f.line, f.column, f.cell)}: {f.code} "
        if first.startswith(head + f.status):
            first = head + click.style(f.status, **_STATUS_STYLE[f.status]) + first[len(head) + len(f.status):]
        click.echo("\n".join([first, *rest]))
    s = summary(result)
    click.echo(
        f"{s['files']} files, {s['functions']} Function classes: {s['convertible']} convertible "
        f"({s['safe']} safe, {s['unsafe']} unsafe), {s['refused']} refused, {s['ignored']} ignored, "
        f"{s['errors']} errors", err=True
    )


_LEVELS = {"convertible": "warning", "refused": "note", "ignored": "note"}


def to_sarif(result: ScanResult) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per code with its documentation (`explain`'s page, as text and
    Markdown, for help), 1-based columns, the paths as shown (relative to the working
    directory, forward slashes), suppressed classes marked."""
    from fgi_rewrite.codes import CODES, full_description, render_markdown, render_text

    rules = [
        {
            "id": code.code,
            "name": code.name,
            "shortDescription": {"text": code.summary},
            "fullDescription": {"text": full_description(code)},
            # The whole `fgi-rewrite explain` page: code scanning shows help.markdown beside a result.
            "help": {"text": render_text(code), "markdown": render_markdown(code)},
            "defaultConfiguration": {"level": "error" if code.status == "error" else _LEVELS[code.status]},
            "properties": {"status": code.status},
        }
        for code in CODES.values()
    ]
    index = {rule["id"]: n for n, rule in enumerate(rules)}

    def place(path: str, line: int | None, column: int | None, cell: int | None) -> dict[str, Any]:
        # SARIF has no cells: a notebook's line and column are the cell's, and the cell is a
        # property of the location (and leads the message), as ruff does.
        region = {"startLine": line or 1, **({"startColumn": column} if column else {})}
        found: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": path.replace(os.sep, "/")},
                                                      "region": region}}
        if cell is not None:
            found["properties"] = {"cell": cell}
        return found

    def cell_prefix(line: int | None, column: int | None, cell: int | None) -> str:
        return "" if cell is None else location("", line, column, cell).lstrip(":") + ": "

    results = []
    for f in result.functions:
        entry: dict[str, Any] = {
            "ruleId": f.code, "ruleIndex": index[f.code], "level": _LEVELS[f.status],
            "message": {"text": f"{cell_prefix(f.line, f.column, f.cell)}{f.qualname}: {f.reason}"},
            "locations": [place(f.path, f.line, f.column, f.cell)],
            "properties": {"qualname": f.qualname, "status": f.status, "fix": f.fix, "kind": f.kind},
        }
        if f.status == "ignored":
            entry["suppressions"] = [{"kind": "inSource", "justification": "# fgi: ignore"}]
        results.append(entry)
    for e in result.errors:
        results.append({"ruleId": e.code, "ruleIndex": index[e.code], "level": "error",
                        "message": {"text": cell_prefix(e.line, e.column, e.cell) + e.message},
                        "locations": [place(e.path, e.line, e.column, e.cell)]})
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "fgi-rewrite", "version": __version__, "rules": rules}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def write_sarif(result: ScanResult, stream: IO[str]) -> None:
    json.dump(to_sarif(result), stream, indent=2)
    stream.write("\n")


def _escape_property(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(":", "%3A").replace(",", "%2C")


def write_github(result: ScanResult, stream: IO[str]) -> None:
    """GitHub Actions workflow commands: one annotation per class and per file error."""
    for f in result.functions:
        if f.status == "ignored":
            continue
        level = "warning" if f.status == "convertible" else "notice"
        # A notebook's line and column are the cell's: the cell leads the message, as in ruff.
        where = location("", f.line, f.column, f.cell).lstrip(":") + ": " if f.cell is not None else ""
        message = f"{where}{f.qualname}: {f.reason}".replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        stream.write(f"::{level} file={_escape_property(f.path)},line={f.line},col={f.column},"
                     f"title={f.code}::{message}\n")
    for e in result.errors:
        where = f",line={e.line}" if e.line else ""
        cell = location("", e.line, e.column, e.cell).lstrip(":") + ": " if e.cell is not None else ""
        stream.write(f"::error file={_escape_property(e.path)}{where},title={e.code}::{cell}{e.message}\n")

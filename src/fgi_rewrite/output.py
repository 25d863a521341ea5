"""Render a ScanResult: JSON on stdout (data), rich table on stdout, messages on stderr."""

from __future__ import annotations

import json
from typing import IO, Any

from . import __version__
from .model import ScanResult

SCHEMA_VERSION = 1


def to_document(result: ScanResult, command: str) -> dict[str, Any]:
    from .engine import summary

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


_STATUS_STYLE = {"convertible": "green", "refused": "yellow", "ignored": "dim"}


def write_text(result: ScanResult) -> None:
    from rich.console import Console
    from rich.table import Table

    from .engine import summary

    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=max(out.width, 200))  # piped: do not fold paths
    err = Console(stderr=True, highlight=False)
    for skipped in result.skipped:
        err.print(f"[dim]skipped[/] {skipped.path}: {skipped.reason}")
    for error in result.errors:
        where = error.path + (f":{error.line}:{error.column}" if error.line else "")
        err.print(f"[red]error[/] {where}: {error.code} {error.message}")
    if result.functions:
        table = Table(show_lines=False, pad_edge=False)
        for column in ("location", "class", "status", "code", "fix", "reason"):
            table.add_column(column, overflow="fold")
        for f in result.functions:
            style = _STATUS_STYLE[f.status]
            table.add_row(f"{f.path}:{f.line}:{f.column}", f.qualname, f"[{style}]{f.status}[/]", f.code,
                          f.fix or "", f.reason)
        out.print(table)
    s = summary(result)
    err.print(
        f"{s['files']} files, {s['functions']} Function classes: {s['convertible']} convertible "
        f"({s['safe']} safe, {s['unsafe']} unsafe), {s['refused']} refused, {s['ignored']} ignored, "
        f"{s['errors']} errors"
    )

"""The `bench --json` document a report shows: read, check its schema, find each class's rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BENCH_SCHEMA = "fgi-rewrite-bench/1"


class BenchError(Exception):
    """The file cannot be shown; the message names it."""


def load_bench(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BenchError(f"{path}: cannot read: {error.strerror or error}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BenchError(f"{path}: not a JSON file: {error}") from error
    schema = document.get("schema") if isinstance(document, dict) else None
    if schema != BENCH_SCHEMA:
        raise BenchError(f"{path}: schema is {schema!r}, expected {BENCH_SCHEMA!r} "
                         "(the file `fgi-rewrite bench --json` writes)")
    rows = document.get("rows")
    if not isinstance(rows, list) or not all(isinstance(row, dict) and isinstance(row.get("function"), str)
                                             for row in rows):
        raise BenchError(f"{path}: \"rows\" must be a list of objects, each with a \"function\"")
    return document


def rows_for(document: dict[str, Any], path: str, qualname: str) -> list[dict[str, Any]]:
    """Rows measured for path::qualname. The bench may have been run from another directory,
    so a path that ends with the other at a "/" boundary matches too."""

    def same(measured: str) -> bool:
        where, _, name = measured.rpartition("::")
        if name != qualname or not where:
            return False
        return where == path or where.endswith("/" + path) or path.endswith("/" + where)

    return [row for row in document["rows"] if same(row["function"])]

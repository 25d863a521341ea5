"""What a benchmark reports: rows of timings, differences between variants, the JSON document
(schema "fgi-rewrite-bench/1") and the closing table."""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCHEMA = "fgi-rewrite-bench/1"


@dataclass
class Row:
    function: str
    mode: str  # eager | script | compile | compile-cell
    phase: str  # train | inference
    size: str  # "T=28" or "128x128"
    variant: str  # custom | fgi | fgi-no-fast-path | paper
    median_s: float | None = None
    iqr_s: list[float] | None = None
    speedup: float | None = None  # against the custom Function in eager mode, same size and phase
    speedup_iqr: list[float] | None = None
    warmup_s: float | None = None  # warm-up (scripting, compiling) beyond the steady-state step time
    note: str | None = None  # why there is no figure, or what to know about it


@dataclass
class Difference:
    """Max |a - b| against the custom Function in eager mode, on identical weights and inputs."""
    function: str
    mode: str
    phase: str
    size: str
    variant: str
    output_max_abs: float | None
    gradient_max_abs: float | None  # over every parameter (alif) or input (spike); None in inference
    note: str | None = None


def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "python": platform.python_version()}


def document(kind: str, command: str, device: str, dtype: str, threads: int, rows: list[Row],
             differences: list[Difference], train: dict[str, Any] | None = None,
             settings: dict[str, Any] | None = None) -> dict[str, Any]:
    import torch

    return {"schema": SCHEMA, "kind": kind, "command": command, "machine": machine(), "torch": torch.__version__,
            "device": device, "dtype": dtype, "threads": threads, "settings": settings or {},
            "rows": [asdict(r) for r in rows], "differences": [asdict(d) for d in differences], "train": train}


def write_atomic(path: Path, data: bytes) -> None:
    """Temporary file in the target's directory, then rename: never a half-written file."""
    folder = path.resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _finite(value: Any) -> Any:
    """NaN and infinities are not JSON: written as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write_json(path: Path, content: dict[str, Any]) -> None:
    write_atomic(path, (json.dumps(_finite(content), indent=2, allow_nan=False) + "\n").encode())


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _ratio(row: Row) -> str:
    if row.speedup is None or row.speedup_iqr is None:
        return ""
    return f"{row.speedup:.2f}x [{row.speedup_iqr[0]:.2f}-{row.speedup_iqr[1]:.2f}]"


def print_table(rows: list[Row], differences: list[Difference], title: str) -> None:
    """One line per (size, mode, variant, phase) on stdout; n/a rows carry their reason."""
    from rich.console import Console
    from rich.table import Table

    diff = {(d.size, d.mode, d.variant, d.phase): d for d in differences}
    table = Table(title=title, title_justify="left")
    for column, justify in (("size", "left"), ("mode", "left"), ("phase", "left"), ("variant", "left"),
                            ("median", "right"), ("IQR", "right"), ("speedup [IQR]", "right"),
                            ("warm-up", "right"), ("max diff out / grad", "right"), ("note", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        spread = f"{_time(row.iqr_s[0])}-{_time(row.iqr_s[1])}" if row.iqr_s else ""
        found = diff.get((row.size, row.mode, row.variant, row.phase))
        difference = ""
        if found is not None and found.output_max_abs is not None:
            difference = f"{found.output_max_abs:.2g}"
            if found.gradient_max_abs is not None:
                difference += f" / {found.gradient_max_abs:.2g}"
        warm = _time(row.warmup_s) if row.warmup_s is not None and row.mode != "eager" else ""
        table.add_row(row.size, row.mode, row.phase, row.variant, _time(row.median_s), spread, _ratio(row),
                      warm, difference, row.note or "")
    Console(soft_wrap=False, width=200).print(table)

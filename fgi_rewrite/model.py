"""Typed results shared by every command; JSON output is a direct dump of these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["convertible", "refused", "ignored"]
Fix = Literal["safe", "unsafe"]
GradientSource = Literal["symbolic", "probe"]
# differentiable: gradient of the output's shape; broadcast: differentiable, reduced to the
# input's shape in backward (the reduction is dropped in FGI); constant: gradient is None.
Role = Literal["differentiable", "broadcast", "constant", "variadic"]


@dataclass(frozen=True)
class InputReport:
    name: str
    role: Role
    gradient: GradientSource | None
    default: str | None = None


@dataclass(frozen=True)
class FunctionReport:
    path: str
    qualname: str
    name: str
    line: int
    column: int
    status: Status
    code: str
    reason: str
    kind: str | None
    fix: Fix | None
    forward_style: Literal["ctx", "setup_context"] | None
    inputs: tuple[InputReport, ...] = ()
    notes: tuple[str, ...] = ()
    cell: int | None = None  # a notebook's cell (1-based, every cell counted); line is then in the cell

    def to_json(self) -> dict[str, Any]:
        data = _without_cell(asdict(self))
        data["inputs"] = [asdict(i) for i in self.inputs]
        data["notes"] = list(self.notes)
        return data


@dataclass(frozen=True)
class FileError:
    path: str
    line: int | None
    column: int | None
    code: str
    message: str
    cell: int | None = None

    def to_json(self) -> dict[str, Any]:
        return _without_cell(asdict(self))


def _without_cell(data: dict[str, Any]) -> dict[str, Any]:
    # `cell` is only there for notebooks: the output of .py files stays as it was.
    if data.get("cell") is None:
        data.pop("cell", None)
    return data


def location(path: str, line: int | None, column: int | None = None, cell: int | None = None) -> str:
    """`path:line:column`, or `nb.ipynb:cell_3:4:5` in a notebook: one token, as grep and
    editors read it (ruff writes `cell 3`, with a space)."""
    parts = [path] + ([f"cell_{cell}"] if cell is not None else [])
    if line:
        parts.append(str(line))
        if column:
            parts.append(str(column))
    return ":".join(parts)


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass
class ScanResult:
    functions: list[FunctionReport] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    files: int = 0

"""Settings under [tool.fgi-rewrite] in pyproject.toml, found by walking up from the paths.

    [tool.fgi-rewrite]
    exclude = ["legacy/*"]
    style = "signed-zero"          # or "paper", "guarded"
    fast-path = true
    unsafe-fixes = false

    [tool.fgi-rewrite.verify]
    seed = 0
    dtypes = ["float64", "float32"]
    compat = "default"             # "none", "default" or "full"
    arguments = { "Spike.alpha" = "2.0", "StateQuant.levels" = "torch.linspace(-1, 1, 5)" }
    inputs = { "Spike.x" = "shape:4,3,8", "BernoulliSpike.p" = "domain:probability" }

Command-line flags override settings. An unknown key is an error naming it, so a typo never
silently does nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # tomllib is new in Python 3.11; tomli is the same parser as a package
    import tomli as tomllib

_TOP = {"exclude": list, "style": str, "fast-path": bool, "unsafe-fixes": bool, "verify": dict}
_VERIFY = {"seed": int, "dtypes": list, "compat": str, "arguments": dict, "inputs": dict}
_CHOICES = {"style": ("signed-zero", "paper", "guarded"), "compat": ("none", "default", "full")}


class SettingsError(Exception):
    """Invalid settings: the message names the file and the key."""


@dataclass(frozen=True)
class Settings:
    source: Path | None = None
    exclude: tuple[str, ...] = ()
    style: str | None = None
    fast_path: bool | None = None
    unsafe_fixes: bool | None = None
    verify: dict[str, Any] = field(default_factory=dict)


def find_pyproject(paths: Sequence[str | Path]) -> Path | None:
    """The nearest pyproject.toml with a [tool.fgi-rewrite] table, from the first path up."""
    start = Path(paths[0]).resolve() if paths else Path.cwd()
    for folder in [start, *start.parents] if start.is_dir() else list(start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if "fgi-rewrite" in data.get("tool", {}):
                return candidate
    return None


def _check(table: dict[str, Any], schema: dict[str, type], where: str) -> None:
    for key, value in table.items():
        if key not in schema:
            raise SettingsError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(schema))})")
        if not isinstance(value, schema[key]):
            raise SettingsError(f"{where}: {key!r} must be a {schema[key].__name__}")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise SettingsError(f"{where}: {key!r} must be one of {', '.join(_CHOICES[key])}")


def load(paths: Sequence[str | Path]) -> Settings:
    source = find_pyproject(paths)
    if source is None:
        return Settings()
    try:
        table = tomllib.loads(source.read_text(encoding="utf-8"))["tool"]["fgi-rewrite"]
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{source}: {error}") from error
    _check(table, _TOP, f"{source} [tool.fgi-rewrite]")
    verify = table.get("verify", {})
    _check(verify, _VERIFY, f"{source} [tool.fgi-rewrite.verify]")
    for key, value in verify.get("arguments", {}).items():
        if "." not in key or not isinstance(value, str):
            raise SettingsError(f"{source} [tool.fgi-rewrite.verify] arguments: {key!r} must be "
                                '"Class.param" = "python expression"')
    for key, value in verify.get("inputs", {}).items():
        _check_input(source, key, value)
    return Settings(source, tuple(table.get("exclude", ())), table.get("style"), table.get("fast-path"),
                    table.get("unsafe-fixes"), verify)


def _check_input(source: Path, key: str, value: Any) -> None:
    from fgi_rewrite.verify.inputs import InputSpecError, parse_input_option

    where = f"{source} [tool.fgi-rewrite.verify] inputs"
    if not isinstance(value, str):
        raise SettingsError(f'{where}: {key!r} must be "Class.input" = "shape:...;dtype:...;domain:..."')
    try:
        parse_input_option(f"{key}={value}")
    except InputSpecError as error:
        raise SettingsError(f"{where}: {error}") from None

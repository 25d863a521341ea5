"""`--input Cls.x=SPEC` (and `inputs = {...}` in settings): a shape, dtype or value domain for one input.

    shape:4,3,8              a tensor of this shape (`shape:` or `shape:()` for a 0-d tensor)
    dtype:float64            this dtype in every run, whatever the run's dtype
    domain:probability       values in [0, 1]; also positive, spikes (0/1), normal, around:<value>
    shape:32,128;domain:positive

Plain Python (no torch, no libcst): settings and the command line check a spec before any run.
"""

from __future__ import annotations

from typing import Any

DOMAINS = ("probability", "positive", "spikes", "normal", "around:<value>")
DTYPES = ("float64", "float32", "bfloat16", "float16", "int64", "int32", "int16", "int8", "uint8", "bool")


class InputSpecError(ValueError):
    """A bad spec; the message names the bad part."""


def parse_input_spec(text: str) -> dict[str, Any]:
    """`shape:4,3,8;domain:positive` -> {"shape": [4, 3, 8], "domain": "positive"}."""
    result: dict[str, Any] = {}
    parts = [p.strip() for p in text.split(";")]
    if not any(parts):
        raise InputSpecError("empty spec: expected shape:..., dtype:... or domain:...")
    for part in parts:
        if not part:
            continue
        key, sep, value = part.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or key not in ("shape", "dtype", "domain"):
            raise InputSpecError(f"{part!r}: expected shape:N,N,..., dtype:NAME or domain:NAME")
        if key in result:
            raise InputSpecError(f"{part!r}: {key} given twice")
        if key == "shape":
            result["shape"] = _shape(part, value)
        elif key == "dtype":
            if value not in DTYPES:
                raise InputSpecError(f"{part!r}: unknown dtype (known: {', '.join(DTYPES)})")
            result["dtype"] = value
        else:
            result.update(_domain(part, value))
    return result


def _shape(part: str, value: str) -> list[int]:
    value = value.strip("()[] ")
    if not value or value == "scalar":
        return []
    sizes = []
    for size in value.split(","):
        size = size.strip()
        if not size.isdigit():
            raise InputSpecError(f"{part!r}: {size!r} is not a size (expected non-negative integers: shape:4,3,8)")
        sizes.append(int(size))
    return sizes


def _domain(part: str, value: str) -> dict[str, Any]:
    name, _, argument = value.partition(":")
    if name == "around":
        try:
            return {"domain": "around", "around": float(argument)}
        except ValueError:
            raise InputSpecError(f"{part!r}: around needs a number (domain:around:0.3)") from None
    if name not in DOMAINS or argument:
        raise InputSpecError(f"{part!r}: unknown domain (known: {', '.join(DOMAINS)})")
    return {"domain": name}


def parse_input_option(text: str) -> tuple[str, dict[str, Any]]:
    """`Spike.x=shape:4,3,8` -> ("Spike.x", {...}); the key must name a class and an input."""
    key, sep, spec = text.partition("=")
    key = key.strip()
    if not sep or "." not in key or not key.rsplit(".", 1)[1] or not key.rsplit(".", 1)[0]:
        raise InputSpecError(f"{text!r}: expected Cls.input=SPEC (e.g. Spike.x=shape:4,3,8)")
    return key, parse_input_spec(spec)


def inputs_for(given: dict[str, str], qualname: str) -> dict[str, dict[str, Any]]:
    """The parsed specs of one class's inputs, by input name ("Cls.x" or "Outer.Cls.x")."""
    found: dict[str, dict[str, Any]] = {}
    for key, spec in given.items():
        owner, _, name = key.rpartition(".")
        if owner in (qualname, qualname.split(".")[-1]):
            found[name] = parse_input_spec(spec)
    return found

"""Arguments for running a Function class and its FGI twin on the same inputs (imports torch).

Differentiable inputs get random values at several scales, with the first row set to the
threshold points 0, -0.0, 1, -1 and 0.5; broadcast inputs get a parameter of the reduced
shape; non-differentiable inputs take the signature default, a tensor when forward saves
them, or a caller-supplied value, else 2.7 (not a power of two, so rounding differences show). Which values were used is returned as text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from .discovery import code_of
from .ir import FunctionIR

SHAPE = (6, 5)
THRESHOLD_ROW = (0.0, -0.0, 1.0, -1.0, 0.5)
SCALES = (1e-3, 0.1, 1.0, 10.0, 1e3)
# Not a power of two: multiplying by 2.0 is exact in every dtype and would hide rounding
# differences between the original's arithmetic and the rewrite's.
SCALAR = 2.7


def make_arguments(
    ir: FunctionIR,
    namespace: Mapping[str, Any],
    dtype: torch.dtype,
    seed: int,
    overrides: Mapping[str, Callable[[torch.Tensor], Any]] | None = None,
) -> tuple[list[Any], list[torch.Tensor], list[str]]:
    """(arguments, the tensors gradients are taken for, a description of each argument)."""
    overrides = overrides or {}
    generator = torch.Generator().manual_seed(seed)
    base = torch.randn(SHAPE, generator=generator, dtype=torch.float64)
    base = base * torch.tensor(SCALES, dtype=torch.float64)
    base[0, :] = torch.tensor(THRESHOLD_ROW, dtype=torch.float64)
    arguments: list[Any] = []
    leaves: list[torch.Tensor] = []
    described: list[str] = []
    for item in ir.inputs:
        if item.role == "differentiable":
            x = base.to(dtype).clone().requires_grad_(True)
            arguments.append(x)
            leaves.append(x)
            described.append(f"{item.name}=random{list(SHAPE)}")
        elif item.role == "broadcast":
            assert item.gradient is not None and item.gradient.reduced is not None
            full = code_of(item.gradient.reduced).replace(" ", "").endswith(".sum()")
            size: tuple[int, ...] = () if full else SHAPE[1:]  # a full .sum() means a scalar parameter
            p = (torch.rand(size, generator=generator, dtype=torch.float64) + 0.5).to(dtype).requires_grad_(True)
            arguments.append(p)
            leaves.append(p)
            described.append(f"{item.name}=parameter{list(size)}")
        elif item.name in overrides:
            arguments.append(overrides[item.name](base.to(dtype)))
            origin = getattr(overrides[item.name], "origin", "given")
            described.append(f"{item.name}={origin}")
        elif item.name == ir.returns_input or _used_as_tensor(ir, item.name):
            arguments.append((base * 0.5).round().to(dtype))  # another tensor of the output's shape
            described.append(f"{item.name}=tensor{list(SHAPE)} (forward uses it as a tensor)")
        elif any(getattr(saved, "value", None) == item.name for saved in ir.saved):
            arguments.append(torch.tensor(SCALAR, dtype=dtype))
            described.append(f"{item.name}=tensor({SCALAR}) (saved for backward)")
        elif _annotation(ir, item.name) in ("int", "bool"):
            value = 3 if _annotation(ir, item.name) == "int" else True
            arguments.append(value)
            described.append(f"{item.name}={value} (annotated {_annotation(ir, item.name)})")
        elif item.default is not None:
            arguments.append(eval(item.default, dict(namespace)))  # the signature's own default
            described.append(f"{item.name}={item.default} (default)")
        else:
            arguments.append(SCALAR)
            described.append(f"{item.name}={SCALAR} (no default)")
    return arguments, leaves, described


def _annotation(ir: FunctionIR, name: str) -> str | None:
    for param in ir.params:
        if param.name.value == name and param.annotation is not None:
            return code_of(param.annotation.annotation)
    return None


def _used_as_tensor(ir: FunctionIR, name: str) -> bool:
    """Forward calls a tensor method on it (x2.clone(), x2.dtype is not a call)."""
    import re

    code = code_of(ir.forward_def) if ir.forward_def is not None else ""
    return bool(re.search(rf"\b{re.escape(name)}\.(?!item\()\w+\(", code))

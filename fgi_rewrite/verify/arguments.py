"""Arguments for running a Function class and its FGI twin on the same inputs (imports torch).

Differentiable inputs get random values at several scales, with the first row set to the
threshold points 0, -0.0, 1, -1 and 0.5; broadcast inputs get a parameter of the reduced
shape; non-differentiable inputs take the signature default, a tensor when forward saves
them, or a caller-supplied value, else 2.7 (not a power of two, so rounding differences show). Which values were used is returned as text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

SHAPE = (6, 5)
THRESHOLD_ROW = (0.0, -0.0, 1.0, -1.0, 0.5)
SCALES = (1e-3, 0.1, 1.0, 10.0, 1e3)
# Not a power of two: multiplying by 2.0 is exact in every dtype and would hide rounding
# differences between the original's arithmetic and the rewrite's.
SCALAR = 2.7

# One input, as verify's static side describes it (see verify.argument_spec): name, role,
# default (source), full_reduction, as_tensor, saved, annotation. Plain data, so the processes
# that run user code need neither libcst nor the analysis.
InputSpec = Mapping[str, Any]


def make_arguments(
    spec: Sequence[InputSpec],
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
    for item in spec:
        name = item["name"]
        if item["role"] == "differentiable":
            x = base.to(dtype).clone().requires_grad_(True)
            arguments.append(x)
            leaves.append(x)
            described.append(f"{name}=random{list(SHAPE)}")
        elif item["role"] == "broadcast":
            size: tuple[int, ...] = () if item["full_reduction"] else SHAPE[1:]  # .sum(): a scalar parameter
            p = (torch.rand(size, generator=generator, dtype=torch.float64) + 0.5).to(dtype).requires_grad_(True)
            arguments.append(p)
            leaves.append(p)
            described.append(f"{name}=parameter{list(size)}")
        elif name in overrides:
            arguments.append(overrides[name](base.to(dtype)))
            described.append(f"{name}={getattr(overrides[name], 'origin', 'given')}")
        elif item["as_tensor"]:
            arguments.append((base * 0.5).round().to(dtype))  # another tensor of the output's shape
            described.append(f"{name}=tensor{list(SHAPE)} (forward uses it as a tensor)")
        elif item["saved"]:
            arguments.append(torch.tensor(SCALAR, dtype=dtype))
            described.append(f"{name}=tensor({SCALAR}) (saved for backward)")
        elif item["annotation"] in ("int", "bool"):
            value = 3 if item["annotation"] == "int" else True
            arguments.append(value)
            described.append(f"{name}={value} (annotated {item['annotation']})")
        elif item["default"] is not None:
            arguments.append(eval(item["default"], dict(namespace)))  # the signature's own default
            described.append(f"{name}={item['default']} (default)")
        else:
            arguments.append(SCALAR)
            described.append(f"{name}={SCALAR} (no default)")
    return arguments, leaves, described

"""`bench alif --train`: the timing model trained for real, custom Function against FGI.

Both variants start from the same weights and see the same batches in the same order (one
seed); both train in eager mode with Adam (amsgrad). The demo reports how many steps the two
loss curves stay within `tolerance` of each other (the rewrite's gradients are bit-identical,
so they can stay equal throughout; a spike that flips on a rounding difference would make
them part later), the final losses and the test accuracy of each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from fgi_rewrite.bench.data import Dataset
from fgi_rewrite.bench.functions import CUSTOM, FGI, SpikeFunction
from fgi_rewrite.bench.model import make_model

TOLERANCE = 1e-5


@dataclass
class TrainSettings:
    steps: int = 300
    batch: int = 64
    hidden: int = 128
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"
    dtype: torch.dtype = torch.float32
    tolerance: float = TOLERANCE


def _batches(count: int, batch: int, steps: int, seed: int) -> list[torch.Tensor]:
    """The same sequence of index batches for every variant: epochs of seeded permutations."""
    generator = torch.Generator().manual_seed(seed)
    result: list[torch.Tensor] = []
    while len(result) < steps:
        order = torch.randperm(count, generator=generator)
        result += [order[i:i + batch] for i in range(0, count - batch + 1, batch)] or [order]
    return result[:steps]


def _accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int) -> float:
    correct = 0
    with torch.no_grad():
        for start in range(0, len(y), batch):
            logits = model(x[start:start + batch].transpose(0, 1))
            correct += int((logits.argmax(dim=1) == y[start:start + batch]).sum())
    return correct / max(1, len(y))


def train(function: SpikeFunction, data: Dataset, settings: TrainSettings,
          progress: Callable[[str, int], Callable[[], None]]) -> dict[str, Any]:
    """The `train` object of the JSON document."""
    torch.manual_seed(settings.seed)
    state = make_model(data.features, settings.hidden, function.variants[FGI].fn, custom=False).state_dict()
    batches = _batches(len(data.train_y), settings.batch, settings.steps, settings.seed)
    device, dtype = settings.device, settings.dtype
    train_x, test_x = data.train_x.to(device=device, dtype=dtype), data.test_x.to(device=device, dtype=dtype)
    train_y, test_y = data.train_y.to(settings.device), data.test_y.to(settings.device)
    curves: dict[str, list[float]] = {}
    accuracy: dict[str, float] = {}
    for name in (CUSTOM, FGI):
        variant = function.variants[name]
        model = make_model(data.features, settings.hidden, variant.fn, variant.custom)
        model.load_state_dict(state)
        model.to(device=device, dtype=dtype)
        optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, amsgrad=True)
        advance = progress(f"train {name}", len(batches))
        losses: list[float] = []
        for index in batches:
            index = index.to(settings.device)
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(train_x[index].transpose(0, 1)), train_y[index])
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            advance()
        curves[name] = losses
        accuracy[name] = _accuracy(model, test_x, test_y, 256)
    gaps = [abs(a - b) for a, b in zip(curves[CUSTOM], curves[FGI], strict=True)]
    equal = next((step for step, gap in enumerate(gaps) if not gap <= settings.tolerance), len(gaps))
    return {
        "data": data.name, "train_size": len(data.train_y), "test_size": len(data.test_y),
        "steps": len(batches), "batch": settings.batch, "hidden": settings.hidden, "lr": settings.lr,
        "seed": settings.seed, "tolerance": settings.tolerance,
        "steps_within_tolerance": equal,  # leading steps whose losses agree within the tolerance
        "max_loss_difference": max(gaps, default=0.0),
        "final_loss": {name: curve[-1] for name, curve in curves.items()},
        "test_accuracy": accuracy, "loss": curves,
    }

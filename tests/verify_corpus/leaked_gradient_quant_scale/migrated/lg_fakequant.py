"""Migrated by hand to forward gradient injection.

WRONG: the value is computed from the live `step`, so the step now receives
round(x / step) * grad_output, where the original gave it no gradient (None).
"""
import torch
from torch import nn


def round_pass(x, step):
    value = torch.round(x.detach() / step) * step
    return value - (x.detach() - x)


class RoundPass:
    apply = staticmethod(round_pass)


class FakeQuant(nn.Module):
    def __init__(self, init_step: float = 0.05):
        super().__init__()
        self.step = nn.Parameter(torch.tensor(init_step))

    def forward(self, x):
        return RoundPass.apply(x, self.step)

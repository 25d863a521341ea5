"""FGI form: the value is computed from detached inputs, only x carries the identity gradient."""
import torch
from torch import nn


def round_pass(x, step):
    step = step.detach() if isinstance(step, torch.Tensor) else step
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

"""The modules the benchmarks run: the FGI paper's ALIF model, and a scripted caller of a
custom Function.

The paper's timing model is one recurrent ALIF layer with a leaky-integrator readout. Input
and recurrent weights form one bias-free linear layer fed with [x_t, s_{t-1}]; the membrane
integrates with a trainable decay (a sigmoid of a parameter), the threshold adapts,
`theta_t = 0.1 + 0.8 a_t`, the spike is taken on `u - theta_t`, the reset is soft (theta is
subtracted), and ten leaky integrators with trainable decays read the spikes out; the logits
are their average over time. The spike is whatever function the benchmark passes in.

No `from __future__ import annotations` here: TorchScript reads these annotations.
"""

from collections.abc import Callable

import torch
from torch import Tensor, nn

N_CLASSES = 10


class ALIF(nn.Module):
    """Calls the spike function from a method that TorchScript compiles with the model."""

    def __init__(self, n_in: int, hidden: int, spike_fn: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        self.hidden = hidden
        self.classes = N_CLASSES  # an attribute: TorchScript cannot read an int global
        self.linear = nn.Linear(n_in + hidden, hidden, bias=False)
        self.readout = nn.Linear(hidden, N_CLASSES, bias=False)
        # Decays through a sigmoid: sigmoid(2) = 0.88 for the membrane, sigmoid(4) = 0.98 for the
        # slower adaptation, sigmoid(2) for the readout.
        self.decay_u = nn.Parameter(torch.full((hidden,), 2.0))
        self.decay_a = nn.Parameter(torch.full((hidden,), 4.0))
        self.decay_out = nn.Parameter(torch.full((N_CLASSES,), 2.0))
        self.spike_fn = spike_fn

    def spike(self, v: Tensor) -> Tensor:
        return self.spike_fn(v)

    def cell(self, x_t: Tensor, s: Tensor, u: Tensor, a: Tensor, y: Tensor, alpha: Tensor, rho: Tensor,
             kappa: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """One time step; `bench alif --modes compile-cell` compiles this method alone."""
        current = self.linear(torch.cat((x_t, s), dim=1))
        u = alpha * u + current
        theta = 0.1 + 0.8 * a
        s = self.spike(u - theta)
        u = u - s * theta
        a = rho * a + (1.0 - rho) * s
        y = kappa * y + self.readout(s)
        return s, u, a, y

    def forward(self, x: Tensor) -> Tensor:
        """x: (T, batch, inputs) -> logits (batch, 10), the readout averaged over time."""
        steps, batch = x.shape[0], x.shape[1]
        alpha = torch.sigmoid(self.decay_u)
        rho = torch.sigmoid(self.decay_a)
        kappa = torch.sigmoid(self.decay_out)
        s = x.new_zeros((batch, self.hidden))
        u = x.new_zeros((batch, self.hidden))
        a = x.new_zeros((batch, self.hidden))
        y = x.new_zeros((batch, self.classes))
        total = x.new_zeros((batch, self.classes))
        for t in range(steps):
            s, u, a, y = self.cell(x[t], s, u, a, y, alpha, rho, kappa)
            total = total + y
        return total / steps


def make_model(n_in: int, hidden: int, spike_fn: Callable[[Tensor], Tensor], custom: bool) -> ALIF:
    """`custom`: spike_fn is a custom Function's `apply`, which cannot be scripted. Users who
    script such a model mark the method that calls it `@torch.jit.ignore`, so the scripted model
    calls back into Python for each spike; so does this one. The ignored method reaches the
    Function through a closure: inside a scripted model, `self` holds no Python attributes."""
    if not custom:
        return ALIF(n_in, hidden, spike_fn)

    class IgnoredSpike(ALIF):
        @torch.jit.ignore
        def spike(self, v: Tensor) -> Tensor:
            return spike_fn(v)

    return IgnoredSpike(n_in, hidden, spike_fn)


def script_ignored_call(call: Callable[[Tensor], Tensor]) -> torch.jit.ScriptModule:
    """A scripted module whose forward calls `call` through `@torch.jit.ignore`: how a custom
    Function runs inside scripted code (`bench spike`'s script mode for the original)."""

    class IgnoredCall(nn.Module):
        @torch.jit.ignore
        def spike(self, x: Tensor) -> Tensor:
            return call(x)

        def forward(self, x: Tensor) -> Tensor:
            return self.spike(x)

    return torch.jit.script(IgnoredCall())

"""Time-to-first-spike readout, migrated by hand to forward gradient injection.

WRONG: the engineer injected the surrogate into the spike train and returned it, forgetting
the reduction to the first-spike time: the value has the input's shape [T, B, N].
"""
import torch


def fast_sigmoid_grad(mem: torch.Tensor, slope: float = 10.0) -> torch.Tensor:
    return 1.0 / (slope * mem.abs() + 1.0) ** 2


def first_spike_time(mem_rec: torch.Tensor) -> torch.Tensor:
    steps, batch, neurons = mem_rec.shape
    spikes = (mem_rec.detach() > 0).to(mem_rec.dtype)
    inj = -mem_rec * fast_sigmoid_grad(mem_rec.detach())
    return spikes - (inj.detach() - inj)


class FirstSpikeTime:
    apply = staticmethod(first_spike_time)


class LatencyReadout(torch.nn.Module):
    def forward(self, mem_rec):  # mem_rec: [T, B, N]
        return FirstSpikeTime.apply(mem_rec)

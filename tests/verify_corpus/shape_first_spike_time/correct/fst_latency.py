"""Time-to-first-spike readout in FGI form: the value keeps forward's reduction over T and the
carrier is summed over T, so its gradient is grad_output broadcast back over T."""
import torch


def fast_sigmoid_grad(mem: torch.Tensor, slope: float = 10.0) -> torch.Tensor:
    return 1.0 / (slope * mem.abs() + 1.0) ** 2


def first_spike_time(mem_rec: torch.Tensor) -> torch.Tensor:
    steps, batch, neurons = mem_rec.shape
    with torch.no_grad():
        fired = mem_rec > 0
        t = torch.arange(steps, dtype=mem_rec.dtype, device=mem_rec.device).view(-1, 1, 1)
        never = torch.full_like(mem_rec, float(steps))
        value = torch.where(fired, t.expand(steps, batch, neurons), never).amin(dim=0)
    if not torch.is_grad_enabled():
        return value
    factor = -fast_sigmoid_grad(mem_rec.detach())
    inj = (mem_rec * factor).sum(dim=0)
    return value - (inj.detach() - inj)


class FirstSpikeTime:
    apply = staticmethod(first_spike_time)


class LatencyReadout(torch.nn.Module):
    def forward(self, mem_rec):  # mem_rec: [T, B, N]
        return FirstSpikeTime.apply(mem_rec)

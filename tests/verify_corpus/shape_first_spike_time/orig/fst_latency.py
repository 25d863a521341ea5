"""Time-to-first-spike readout over a [T, B, N] membrane record (Norse/latency-coding style)."""
import torch


def fast_sigmoid_grad(mem: torch.Tensor, slope: float = 10.0) -> torch.Tensor:
    return 1.0 / (slope * mem.abs() + 1.0) ** 2


class FirstSpikeTime(torch.autograd.Function):
    """Index of the first step where the membrane crosses 0 (T where it never does)."""

    @staticmethod
    def forward(ctx, mem_rec):
        steps, batch, neurons = mem_rec.shape
        fired = mem_rec > 0
        t = torch.arange(steps, dtype=mem_rec.dtype, device=mem_rec.device).view(-1, 1, 1)
        never = torch.full_like(mem_rec, float(steps))
        ctx.save_for_backward(mem_rec)
        return torch.where(fired, t.expand(steps, batch, neurons), never).amin(dim=0)

    @staticmethod
    def backward(ctx, grad_output):
        (mem_rec,) = ctx.saved_tensors
        # An earlier crossing lowers the time: every step's membrane pushes it down.
        return -grad_output.unsqueeze(0) * fast_sigmoid_grad(mem_rec)


class LatencyReadout(torch.nn.Module):
    def forward(self, mem_rec):  # mem_rec: [T, B, N]
        return FirstSpikeTime.apply(mem_rec)

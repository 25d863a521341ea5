# fgi-case: class 2 - snntorch-FirstSpike-like: forward loops over the time dimension to build first-spike times (not elementwise)
# fgi-expect: FirstSpikeTime=refused
import torch


class FirstSpikeTime(torch.autograd.Function):
    """spk_rec [T x B x N] -> time of first spike [B x N] (T where none)."""

    @staticmethod
    def forward(ctx, spk_rec):
        num_steps = spk_rec.size(0)
        first = torch.full_like(spk_rec[0], float(num_steps))
        for t in range(num_steps - 1, -1, -1):
            first = torch.where(spk_rec[t] > 0, torch.full_like(first, float(t)), first)
        ctx.save_for_backward(spk_rec, first)
        return first

    @staticmethod
    def backward(ctx, grad_output):
        spk_rec, first = ctx.saved_tensors
        grad = torch.zeros_like(spk_rec)
        for t in range(spk_rec.size(0)):
            grad[t] = -grad_output * (first == t).to(grad.dtype)
        return grad


def fgi_inputs(torch):
    spk = (torch.rand(4, 2, 3) > 0.6).float()
    return [("FirstSpikeTime.apply", [spk])]

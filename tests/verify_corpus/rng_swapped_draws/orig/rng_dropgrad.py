"""Noisy threshold plus gradient dropout, both drawn in forward: first the membrane noise, then
the mask of neurons whose surrogate gradient is kept."""
import torch


class NoisyDropSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mem, sigma=0.1, p_drop=0.2):
        noise = sigma * torch.randn_like(mem)
        keep = (torch.rand_like(mem) > p_drop).to(mem.dtype)
        u = mem + noise
        ctx.save_for_backward(u, keep)
        return (u > 0).to(mem.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        u, keep = ctx.saved_tensors
        return grad_output * (keep / (1.0 + 4.0 * u.abs()) ** 2), None, None

"""FGI form: the draws happen in the original's order."""
import torch


def noisy_drop_spike(mem, sigma=0.1, p_drop=0.2):
    noise = sigma * torch.randn_like(mem)
    keep = (torch.rand_like(mem) > p_drop).to(mem.dtype)
    u = (mem + noise).detach()
    value = (u > 0).to(mem.dtype)
    inj = mem * (keep / (1.0 + 4.0 * u.abs()) ** 2)
    return value - (inj.detach() - inj)

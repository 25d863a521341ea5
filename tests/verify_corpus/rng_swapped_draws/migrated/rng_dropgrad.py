"""Migrated by hand to forward gradient injection.

WRONG: the engineer drew the dropout mask before the noise ("the mask only matters for the
gradient, draw it first"): both random tensors now come from the other part of the stream.
"""
import torch


def noisy_drop_spike(mem, sigma=0.1, p_drop=0.2):
    keep = (torch.rand_like(mem) > p_drop).to(mem.dtype)
    noise = sigma * torch.randn_like(mem)
    u = (mem + noise).detach()
    value = (u > 0).to(mem.dtype)
    inj = mem * (keep / (1.0 + 4.0 * u.abs()) ** 2)
    return value - (inj.detach() - inj)

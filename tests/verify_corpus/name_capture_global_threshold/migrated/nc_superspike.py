"""Migrated by hand to forward gradient injection.

WRONG: the backward's body was pasted into the function, where `threshold` is now the
parameter, not the module global: the surrogate is centred on the layer's threshold.
"""
import torch

threshold = 1.0
beta = 10.0


def super_spike(mem, threshold):
    value = (mem.detach() > threshold).to(mem.dtype)
    inj = mem / (beta * (mem.detach() - threshold).abs() + 1.0) ** 2
    return value - (inj.detach() - inj)

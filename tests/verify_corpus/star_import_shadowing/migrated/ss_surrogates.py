"""Surrogate spike functions, migrated by hand to forward gradient injection.

WRONG: the new public function `sigmoid_spike` leaks through `from ss_surrogates import *`
and replaces ss_model's own `sigmoid_spike` (imported from ss_readout just before): the
model's eval_spikes now thresholds at 0 with its threshold read as a slope.
"""
import torch


def sigmoid_spike(mem, slope=5.0):
    value = (mem.detach() > 0).to(mem.dtype)
    sig = torch.sigmoid(slope * mem.detach())
    inj = mem * (slope * sig * (1 - sig))
    return value - (inj.detach() - inj)


class SigmoidSpike:
    apply = staticmethod(sigmoid_spike)

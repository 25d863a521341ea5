"""Surrogate spike functions in FGI form; the function is private, so a star import exports the
same public names as before."""
import torch


def _sigmoid_spike(mem, slope=5.0):
    value = (mem.detach() > 0).to(mem.dtype)
    sig = torch.sigmoid(slope * mem.detach())
    inj = mem * (slope * sig * (1 - sig))
    return value - (inj.detach() - inj)


class SigmoidSpike:
    apply = staticmethod(_sigmoid_spike)

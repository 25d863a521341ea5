"""FGI form: the surrogate reads the module global under another name, the value the
parameter."""
import torch

threshold = 1.0
beta = 10.0


def super_spike(mem, layer_threshold):
    value = (mem.detach() > layer_threshold).to(mem.dtype)
    inj = mem / (beta * (mem.detach() - threshold).abs() + 1.0) ** 2
    return value - (inj.detach() - inj)

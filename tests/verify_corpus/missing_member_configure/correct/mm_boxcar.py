"""FGI form with a compatibility class that keeps every member users reach: width, configure
and apply."""
import torch
from torch import nn


def boxcar_spike(u):
    value = u.detach().gt(0).type_as(u)
    window = (u.detach().abs() < BoxcarSpike.width).type_as(u)
    inj = u * window
    return value - (inj.detach() - inj)


class BoxcarSpike:
    width = 1.0

    @staticmethod
    def configure(width=1.0):
        BoxcarSpike.width = width
        return BoxcarSpike.apply

    apply = staticmethod(boxcar_spike)


class BoxcarNeuron(nn.Module):
    def __init__(self, width=0.5):
        super().__init__()
        self.spike = BoxcarSpike.configure(width=width)

    def forward(self, u):
        return self.spike(u)

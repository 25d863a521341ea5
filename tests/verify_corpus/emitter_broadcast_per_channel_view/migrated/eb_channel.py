import torch
import torch.nn as nn


def channel_spike(x: torch.Tensor, thr: torch.Tensor) -> torch.Tensor:
    """FGI form of ChannelSpike: same value, surrogate gradient injected in forward."""
    x_in = x
    x = x.detach()
    thr_in = thr
    thr = thr.detach()
    u = x - thr.view(1, -1, 1, 1)
    value = (u > 0).float()
    if torch.is_grad_enabled():
        denom = (1.0 + 3.0 * u.abs()) ** 2
        dtype = torch.result_type(value, denom)
        denom2 = (1.0 + 3.0 * u.abs()) ** 2
        dtype2 = torch.result_type(value, denom2)
        inj = (x_in.to(dtype) / denom).to(value.dtype) + (-(thr_in.to(dtype2).expand_as(value)) / denom2).to(value.dtype)
        value = inj - inj.detach() + value.detach()
    return value


class ChannelSpike:  # fgi-rewrite: compatibility shim; calls channel_spike
    apply = staticmethod(channel_spike)


class ConvLIFThreshold(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.thr = nn.Parameter(torch.linspace(0.5, 1.0, channels))

    def forward(self, x):
        return channel_spike(x, self.thr)

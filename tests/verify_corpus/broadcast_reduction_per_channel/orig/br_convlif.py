"""Convolutional LIF with a learnable per-channel threshold of shape [1, C, 1, 1] on [B, C, H, W]
maps. The threshold's gradient is normalised by the number of positions it is shared over
(mean over batch and space), so the learning rate does not depend on the resolution."""
import torch
from torch import nn


class ChannelThresholdSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, thr):
        u = x - thr
        ctx.save_for_backward(u)
        return (u > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (u,) = ctx.saved_tensors
        sg = grad_output / (1.0 + 3.0 * u.abs()) ** 2
        return sg, -sg.mean(dim=(0, 2, 3), keepdim=True)


class ConvLIF(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.thr = nn.Parameter(torch.full((1, channels, 1, 1), 0.5))

    def forward(self, x):  # x: [B, C, H, W]
        return ChannelThresholdSpike.apply(x, self.thr)

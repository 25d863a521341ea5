"""Mixed precision: the membrane arrives in bfloat16 (autocast region) while the per-neuron
threshold buffer stays float32. The spike keeps the membrane's dtype; the surrogate is computed
in float32 and autograd casts the gradient back to bfloat16."""
import torch
from torch import nn


class MixedPrecisionSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mem, threshold):
        ctx.save_for_backward(mem, threshold)
        return (mem >= threshold).to(mem.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        mem, threshold = ctx.saved_tensors
        return grad_output * torch.exp(-((mem - threshold) ** 2)), None


class MixedLIF(nn.Module):
    def __init__(self, neurons: int):
        super().__init__()
        self.register_buffer("threshold", torch.full((neurons,), 0.25))

    def forward(self, mem):
        return MixedPrecisionSpike.apply(mem, self.threshold)

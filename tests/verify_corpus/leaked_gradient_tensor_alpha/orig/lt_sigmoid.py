"""spikingjelly-style sigmoid surrogate whose sharpness alpha is a tensor (one per layer, stored
as a parameter that a schedule anneals); the spike function deliberately gives it no gradient."""
import torch
from torch import nn


class AnnealedSigmoidSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        if x.requires_grad:
            ctx.save_for_backward(x, alpha)
        return (x >= 0).to(x)

    @staticmethod
    def backward(ctx, grad_output):
        x, alpha = ctx.saved_tensors
        sgax = torch.sigmoid(x * alpha)
        return grad_output * ((1.0 - sgax) * sgax * alpha), None


class AnnealedNode(nn.Module):
    def __init__(self, alpha: float = 4.0):
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(alpha))

    def forward(self, x):
        return AnnealedSigmoidSpike.apply(x, self.alpha)

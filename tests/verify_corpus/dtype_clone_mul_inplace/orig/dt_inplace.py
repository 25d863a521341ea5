"""SpyTorch-style SurrGradSpike whose surrogate is evaluated in float64 for accuracy; backward
scales a clone of grad_output in place, so the gradient keeps grad_output's dtype (the float64
product is rounded once into it)."""
import torch


class PreciseSurrGradSpike(torch.autograd.Function):
    scale = 100.0

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        out = torch.zeros_like(input)
        out[input > 0] = 1.0
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input.mul_(1.0 / (PreciseSurrGradSpike.scale * input.double().abs() + 1.0) ** 2)
        return grad_input


spike_fn = PreciseSurrGradSpike.apply

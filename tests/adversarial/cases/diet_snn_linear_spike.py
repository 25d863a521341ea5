# fgi-case: plain convertible - DIET-SNN-style LinearSpike: zeros + masked assignment forward, gamma * relu-triangle surrogate, last_spike input unused (None)
# fgi-expect: LinearSpike=safe
import torch
import torch.nn.functional as F


class LinearSpike(torch.autograd.Function):
    gamma = 0.3

    @staticmethod
    def forward(ctx, input, last_spike):
        ctx.save_for_backward(input)
        out = torch.zeros_like(input)
        out[input > 0] = 1.0
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad = LinearSpike.gamma * F.threshold(1.0 - torch.abs(input), 0, 0)
        return grad * grad_input, None


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1.0, -1.0])])
    last = torch.zeros(17)
    return [("LinearSpike.apply", [x, last], [0])]

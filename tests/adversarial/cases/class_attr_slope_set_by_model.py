# fgi-case: class 7 - SpyTorch-style class attribute `scale` read by backward as SurrGradSpike.scale, changed by a model's __init__ after import
# fgi-expect: SurrGradSpike=safe|unsafe|refused
import torch
import torch.nn as nn


class SurrGradSpike(torch.autograd.Function):
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
        return grad_input / (SurrGradSpike.scale * torch.abs(input) + 1.0) ** 2


spike_fn = SurrGradSpike.apply


class Net(nn.Module):
    def __init__(self, slope):
        super().__init__()
        SurrGradSpike.scale = slope

    def forward(self, mem):
        return spike_fn(mem - 1.0)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([1.0, -0.0, 0.0])])
    return [
        ("spike_fn", [x]),
        {"call": "Net(5.0)(a0)", "args": [x]},
        ("SurrGradSpike.apply", [x]),
        {"call": "Net(100.0)(a0)", "args": [x]},
    ]

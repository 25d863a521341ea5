# fgi-case: class 3 - bf16 membrane with an fp32 per-neuron threshold tensor: forward's output dtype is promoted to fp32, gradients must round like autograd's
# fgi-expect: MixedPrecisionSpike=safe|unsafe|refused
import torch


class MixedPrecisionSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mem, thr):
        shifted = mem - thr
        ctx.save_for_backward(shifted)
        return torch.heaviside(shifted, torch.zeros_like(shifted))

    @staticmethod
    def backward(ctx, grad_output):
        (shifted,) = ctx.saved_tensors
        sg = torch.sigmoid(5.0 * shifted)
        return grad_output * 5.0 * sg * (1 - sg), None


def fgi_inputs(torch):
    mem = torch.cat([torch.randn(10), torch.tensor([0.75, -0.0, 0.0, 1.0 / 3.0])])
    thr = torch.linspace(0.2, 1.0, 14)
    thr[10] = 0.75
    return [
        {"call": "MixedPrecisionSpike.apply", "args": [mem, thr], "cast": [0], "grad": [0],
         "dtypes": ("bfloat16", "float32", "float64")},
    ]

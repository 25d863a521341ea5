# fgi-case: class 4 - uniform quantiser round(x / scale) * scale with STE for x and None for the tensor scale (value depends on scale differentiably)
# fgi-expect: UniformQuantSTE=safe|unsafe|refused
import torch


class UniformQuantSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        return torch.round(x / scale) * scale

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None


class FakeQuant(torch.nn.Module):
    def __init__(self, bits=4):
        super().__init__()
        self.register_buffer("scale", torch.tensor(2.0 ** -(bits - 1)))

    def forward(self, x):
        return UniformQuantSTE.apply(x, self.scale)


fq = FakeQuant()


def fgi_inputs(torch):
    x = torch.cat([torch.randn(12), torch.tensor([0.0625, -0.0625, -0.0, -0.01])])
    scale = torch.tensor(0.125)
    return [("UniformQuantSTE.apply", [x, scale], [0, 1]), ("fq", [x])]

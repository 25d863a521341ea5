# fgi-case: plain convertible - LSQ-style quantiser: a RoundSTE Function (gradient 1) inside a module whose step size learns through ordinary ops; must stay safe
# fgi-expect: RoundSTE=safe
import torch
import torch.nn as nn


class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


class LsqQuantizer(nn.Module):
    def __init__(self, bits=4):
        super().__init__()
        self.qn, self.qp = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def forward(self, x, s):
        g = 1.0 / (x.numel() * self.qp) ** 0.5
        s_scaled = (s - s * g).detach() + s * g
        x = torch.clamp(x / s_scaled, self.qn, self.qp)
        return RoundSTE.apply(x) * s_scaled


lsq = LsqQuantizer()


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.5, -0.5, -0.0, -0.2])])
    s = torch.tensor(0.25)
    return [("RoundSTE.apply", [x]), ("lsq", [x, s])]

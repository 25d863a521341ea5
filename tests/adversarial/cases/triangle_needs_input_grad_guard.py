# fgi-case: plain convertible - piecewise-linear (triangle) surrogate with a ctx.needs_input_grad[0] guard and a nested module class; must stay safe
# fgi-expect: PiecewiseLIF.TriangleSpike=safe
import torch
import torch.nn as nn


class PiecewiseLIF(nn.Module):
    class TriangleSpike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w=1.0):
            ctx.save_for_backward(x)
            ctx.w = w
            return (x >= 0).float()

        @staticmethod
        def backward(ctx, grad_output):
            grad_x = None
            if ctx.needs_input_grad[0]:
                (x,) = ctx.saved_tensors
                grad_x = grad_output * (ctx.w - x.abs()).clamp(min=0) / (ctx.w * ctx.w)
            return grad_x, None

    def forward(self, x):
        return self.TriangleSpike.apply(x, 0.5)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 0.5])])
    return [("PiecewiseLIF.TriangleSpike.apply", [x]), {"call": "PiecewiseLIF()(a0)", "args": [x]}]

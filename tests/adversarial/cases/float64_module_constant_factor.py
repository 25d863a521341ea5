# fgi-case: class 3 - a float64 1-element module-level tensor constant as a factor promotes the gradient to float64 before autograd casts it back
# fgi-expect: ScaledSTE=safe|unsafe|refused
import torch

GRAD_SCALE = torch.tensor([0.1], dtype=torch.float64)


class ScaledSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w):
        ctx.save_for_backward(w)
        return torch.round(w * 4) / 4

    @staticmethod
    def backward(ctx, grad_output):
        (w,) = ctx.saved_tensors
        return grad_output * GRAD_SCALE * (w.abs() < 1).to(w.dtype)


quantize = ScaledSTE.apply


def fgi_inputs(torch):
    w = torch.cat([torch.randn(13) * 0.8, torch.tensor([0.125, -0.125, -0.0, 1.0])])
    return [("ScaledSTE.apply", [w]), ("quantize", [w])]

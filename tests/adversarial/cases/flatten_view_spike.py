# fgi-case: class 2 - forward flattens with .view before thresholding (output shape differs from input); backward views grad back
# fgi-expect: FlatSpike=unsafe|refused
import torch
import torch.nn as nn


class FlatSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, feat, thresh=0.5):
        flat = feat.view(feat.size(0), -1)
        ctx.save_for_backward(flat)
        ctx.thresh = thresh
        return flat.gt(thresh).float()

    @staticmethod
    def backward(ctx, grad_output):
        (flat,) = ctx.saved_tensors
        grad = grad_output * (abs(flat - ctx.thresh) < 0.5).float()
        return grad.view(grad.size(0), 2, 3), None


class SpikingFlatten(nn.Module):
    def forward(self, x):
        return FlatSpike.apply(x, 0.5)


flatten = SpikingFlatten()


def fgi_inputs(torch):
    x = torch.rand(2, 2, 3)
    x[0, 0, 0] = 0.5
    return [("FlatSpike.apply", [x]), ("flatten", [x])]

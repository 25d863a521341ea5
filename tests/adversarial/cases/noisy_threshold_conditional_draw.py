# fgi-case: class 6 - noisy threshold drawn only `if x.requires_grad` (training): draw count depends on requires_grad, not grad mode
# fgi-expect: NoisyThresholdSpike=safe|unsafe|refused
import torch


class NoisyThresholdSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, sigma):
        thr = torch.ones_like(x)
        if x.requires_grad:
            thr = thr + sigma * torch.randn_like(x)
        ctx.save_for_backward(x - thr)
        return (x >= thr).float()

    @staticmethod
    def backward(ctx, grad_output):
        (u,) = ctx.saved_tensors
        return grad_output * torch.exp(-0.5 * u * u), None


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13) + 1, torch.tensor([1.0, -0.0, 0.0])])
    return [("NoisyThresholdSpike.apply", [x, 0.1]), ("NoisyThresholdSpike.apply", [x, 0.1], [])]

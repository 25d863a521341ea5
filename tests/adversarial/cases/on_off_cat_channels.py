# fgi-case: class 2 - DVS-style ON/OFF encoder: forward concatenates two spike maps along channels (torch.cat)
# fgi-expect: OnOffSpike=refused
import torch


class OnOffSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, thr):
        ctx.save_for_backward(x)
        ctx.thr = thr
        on = (x > thr).float()
        off = (x < -thr).float()
        return torch.cat([on, off], dim=1)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        c = x.size(1)
        g_on = 1.0 / (1.0 + (x - ctx.thr).abs() * 4) ** 2
        g_off = 1.0 / (1.0 + (x + ctx.thr).abs() * 4) ** 2
        return grad_output[:, :c] * g_on - grad_output[:, c:] * g_off, None


def fgi_inputs(torch):
    x = torch.randn(2, 3)
    x[0, 0] = 0.25
    return [("OnOffSpike.apply", [x, 0.25])]

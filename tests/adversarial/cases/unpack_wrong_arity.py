# fgi-case: class 10 - backward unpacks two saved tensors while forward saved one (ValueError in backward)
# fgi-expect: ArityBrokenSpike=refused
import torch


class ArityBrokenSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mem, thr):
        ctx.save_for_backward(mem)
        ctx.thr = thr
        return (mem >= thr).float()

    @staticmethod
    def backward(ctx, grad_output):
        mem, thr = ctx.saved_tensors
        return grad_output * torch.clamp(1 - (mem - thr).abs(), min=0), None


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([1.0, -0.0, 0.0])])
    return [("ArityBrokenSpike.apply", [x, 1.0])]

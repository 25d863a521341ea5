# fgi-case: class 10 - `x = ctx.saved_tensors` (tuple, not unpacked) then `x * grad_output`: backward crashes, must be refused, not moved into forward
# fgi-expect: BrokenSpike=refused
import torch


class BrokenSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        x = ctx.saved_tensors
        return grad_output * torch.sigmoid(x * 4)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1.0])])
    return [("BrokenSpike.apply", [x])]

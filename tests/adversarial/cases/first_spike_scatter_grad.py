# fgi-case: class 1 - backward scatters a constant into a zeros tensor (grad independent of grad_output) and adds grad_output times surrogate
# fgi-expect: WinnerSpike=refused
import torch


class WinnerSpike(torch.autograd.Function):
    """Spike where positive; the neuron with the largest membrane per row gets an extra push."""

    @staticmethod
    def forward(ctx, mem):
        ctx.save_for_backward(mem)
        return (mem > 0).to(mem.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (mem,) = ctx.saved_tensors
        push = torch.zeros_like(mem)
        push.scatter_(1, mem.argmax(dim=1, keepdim=True), 0.05)
        return grad_output / (1.0 + mem.abs()) ** 2 + push


def fgi_inputs(torch):
    mem = torch.randn(3, 5)
    mem[0, 0] = -0.0
    mem[1, 1] = 0.0
    return [("WinnerSpike.apply", [mem])]

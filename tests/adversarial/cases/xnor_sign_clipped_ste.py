# fgi-case: plain convertible - XNOR-Net BinActive: sign forward, grad_output.clone() with masked assignments of 0 outside [-1, 1] (design: convertible)
# fgi-expect: BinActive=safe|unsafe
import torch


class BinActive(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.sign()

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input.ge(1)] = 0
        grad_input[input.le(-1)] = 0
        return grad_input


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13) * 1.5, torch.tensor([1.0, -1.0, -0.0, 0.0])])
    return [("BinActive.apply", [x])]

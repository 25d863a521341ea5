# fgi-case: class 10 - `input = ctx.saved_tensors` then `input * grad_output` literally (tuple * tensor raises TypeError in backward)
# fgi-expect: TupleSpike=refused
import torch


class TupleSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, thresh):
        ctx.save_for_backward(input)
        return input.gt(thresh).float()

    @staticmethod
    def backward(ctx, grad_output):
        input = ctx.saved_tensors
        grad_input = input * grad_output
        return grad_input, None


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.5, -0.0, 1.0])])
    return [("TupleSpike.apply", [x, 0.5])]

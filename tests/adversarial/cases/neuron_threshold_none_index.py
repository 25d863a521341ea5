# fgi-case: class 2 - threshold indexed thr[:, None] against a [N, T] input; backward sums over dim 1 (autograd must reduce the same dims, order differs)
# fgi-expect: NeuronThresholdSpike=unsafe|refused
import torch


class NeuronThresholdSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v, thr):
        ctx.save_for_backward(v, thr)
        return (v >= thr[:, None]).to(v.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        v, thr = ctx.saved_tensors
        g = torch.exp(-(v - thr[:, None]) ** 2 / 0.5)
        return grad_output * g, -(grad_output * g).sum(1)


def fgi_inputs(torch):
    v = torch.randn(4, 6)
    thr = torch.rand(4)
    v[1, 2] = thr[1]
    return [("NeuronThresholdSpike.apply", [v, thr])]

# fgi-case: class 1 - masked_fill_ on a zeros tensor gives a constant "dead neuron rescue" term added to grad_output * g
# fgi-expect: RescueSpike=refused
import torch


class RescueSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v, v_th):
        ctx.save_for_backward(v)
        ctx.v_th = v_th
        return (v >= v_th).float()

    @staticmethod
    def backward(ctx, grad_output):
        (v,) = ctx.saved_tensors
        rescue = torch.zeros_like(v).masked_fill_(v < ctx.v_th - 2.0, 0.02)
        sg = torch.sigmoid(4.0 * (v - ctx.v_th))
        return grad_output * 4.0 * sg * (1.0 - sg) + rescue, None


def fgi_inputs(torch):
    v = torch.cat([torch.randn(12) * 3, torch.tensor([1.0, -1.0, -0.0, -2.5])])
    return [("RescueSpike.apply", [v, 1.0])]

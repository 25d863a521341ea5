# fgi-case: class 4 - PLIF-like neuron: v_th is an nn.Parameter-like tensor entering forward's value (v - v_th), backward returns None for it
# fgi-expect: ShiftedSpike=safe|unsafe|refused
import torch


class ShiftedSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v, v_th):
        shifted = v - v_th
        ctx.save_for_backward(shifted)
        return (shifted > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (shifted,) = ctx.saved_tensors
        return grad_output * torch.clamp(1.0 - shifted.abs(), min=0.0), None


def neuronal_fire(v, v_th):
    return ShiftedSpike.apply(v, v_th)


def fgi_inputs(torch):
    v = torch.cat([torch.randn(13), torch.tensor([1.0, -0.0, 2.0])])
    v_th = torch.full((16,), 1.0)
    return [("ShiftedSpike.apply", [v, v_th], [0, 1]), ("neuronal_fire", [v, v_th], [0, 1])]

# fgi-case: plain convertible - LSNN/ALIF SpikeFunction(v_scaled, dampening_factor): piecewise-linear pseudo-derivative times dampening; must stay safe
# fgi-expect: SpikeFunction=safe
import torch


class SpikeFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v_scaled, dampening_factor):
        ctx.save_for_backward(v_scaled)
        ctx.dampening_factor = dampening_factor
        return torch.gt(v_scaled, 0.0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (v_scaled,) = ctx.saved_tensors
        dz_dv_scaled = torch.clamp(1 - torch.abs(v_scaled), min=0.0) * ctx.dampening_factor
        return grad_output * dz_dv_scaled, None


def alif_step(v, a, x, thr0=0.1, beta=0.8):
    v = 0.9 * v + x
    thr = thr0 + beta * a
    z = SpikeFunction.apply((v - thr) / thr, 0.3)
    return z, v - z * thr


def fgi_inputs(torch):
    v = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1.0])])
    return [("SpikeFunction.apply", [v, 0.3]), ("alif_step", [v, torch.rand(16), torch.rand(16)], [0, 2])]

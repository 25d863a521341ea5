# fgi-case: plain convertible - multi-spike count neuron floor(x + 0.5) clamped to [0, 4] with a rectangular STE mask (counts keep -0.0 semantics); must stay safe
# fgi-expect: MultiSpike=safe
import torch


class MultiSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, max_spikes=4):
        ctx.save_for_backward(x)
        ctx.max_spikes = max_spikes
        return torch.clamp(torch.floor(x + 0.5), 0, max_spikes)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        mask = ((x > -0.5) & (x < ctx.max_spikes + 0.5)).to(x.dtype)
        return grad_output * mask, None


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13) * 3, torch.tensor([-0.5, -0.0, 0.5, 4.5, -0.2])])
    return [("MultiSpike.apply", [x]), ("MultiSpike.apply", [x, 2])]

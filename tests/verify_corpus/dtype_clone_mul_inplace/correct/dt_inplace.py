"""FGI form: the carrier is formed in float64 and cast to the input's dtype, which rounds the
float64 product into it exactly as the original's in-place mul_ did."""
import torch


def precise_surr_grad_spike(input):
    out = torch.zeros_like(input)
    out[input.detach() > 0] = 1.0
    factor = 1.0 / (PreciseSurrGradSpike.scale * input.detach().double().abs() + 1.0) ** 2
    inj = (input.double() * factor).to(out.dtype)
    return out - (inj.detach() - inj)


class PreciseSurrGradSpike:
    scale = 100.0
    apply = staticmethod(precise_surr_grad_spike)


spike_fn = PreciseSurrGradSpike.apply

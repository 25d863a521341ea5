import torch


def fast_sigmoid_spike(x: torch.Tensor, slope: float) -> torch.Tensor:
    """FGI form of FastSigmoidSpike: same value, surrogate gradient injected in forward."""
    x_in = x
    x = x.detach()
    value = (x > 0).float()
    if torch.is_grad_enabled():
        with torch.no_grad():
            denom = (slope * torch.abs(x) + 1.0) ** 2
            dtype = torch.result_type(value, denom)
        inj = (x_in.to(dtype) / denom).to(value.dtype)
        value = inj - inj.detach() + value.detach()
    return value


class FastSigmoidSpike:  # fgi-rewrite: compatibility shim; calls fast_sigmoid_spike
    apply = staticmethod(fast_sigmoid_spike)


fast_sigmoid = FastSigmoidSpike.with_slope(10.0)

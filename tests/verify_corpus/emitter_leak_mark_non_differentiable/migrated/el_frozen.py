import torch


def frozen_spike(x: torch.Tensor) -> torch.Tensor:
    """FGI form of FrozenSpike: same value, surrogate gradient injected in forward."""
    x_in = x
    x = x.detach()
    out = (x > 0).float()
    if torch.is_grad_enabled():
        denom = (1.0 + x.abs()) ** 2
        dtype = torch.result_type(out, denom)
        inj = (x_in.to(dtype) / denom).to(out.dtype)
        out = inj - inj.detach() + out.detach()
    return out


class FrozenSpike:  # fgi-rewrite: compatibility shim; calls frozen_spike
    apply = staticmethod(frozen_spike)

import math

import torch


def heaviside(x: torch.Tensor):
    return (x >= 0).to(x)


def atan_fgi(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """FGI form of atan: same value, surrogate gradient injected in forward."""
    value = heaviside(x)
    if torch.is_grad_enabled():
        with torch.no_grad():
            g = alpha / 2 / (1 + (math.pi / 2 * alpha * (x.detach(),)[0]).pow_(2))
            dtype = torch.result_type(value, g)
        inj = (x.to(dtype) * g).to(value.dtype)
        inj = inj.sum_to_size(value.shape)
        value = value.detach() - (inj.detach() - inj)
    return value


class atan:  # fgi-rewrite: compatibility shim; calls atan_fgi
    apply = staticmethod(atan_fgi)

import torch
from torch.autograd import Function


def _round_ste(x: torch.Tensor) -> torch.Tensor:
    """FGI form of RoundSTE: same value, surrogate gradient injected in forward."""
    x_in = x
    x = x.detach()
    value = torch.round(x)
    if torch.is_grad_enabled():
        inj = x_in
        value = value.detach() - (inj.detach() - inj)
    return value


class RoundSTE:  # fgi-rewrite: compatibility shim; calls _round_ste
    apply = staticmethod(_round_ste)

import torch


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """FGI form of RoundSTE: same value, surrogate gradient injected in forward."""
    x_in = x
    x = x.detach()
    value = torch.round(x)
    if torch.is_grad_enabled():
        inj = x_in
        value = value.detach() - (inj.detach() - inj)
    return value


class RoundSTE:  # fgi-rewrite: compatibility shim; calls round_ste
    apply = staticmethod(round_ste)

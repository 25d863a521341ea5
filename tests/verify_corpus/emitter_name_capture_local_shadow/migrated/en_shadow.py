import torch


def heaviside(x):
    return (x >= 0).to(x)


def sigmoid_heaviside(x: torch.Tensor, k: float = 4.0) -> torch.Tensor:
    """FGI form of SigmoidHeaviside: same value, surrogate gradient injected in forward."""
    x_in = x
    x = x.detach()
    value = heaviside(x)
    if torch.is_grad_enabled():
        with torch.no_grad():
            heaviside = torch.sigmoid(k * x)
            g = 1 - heaviside
        inj = ((x_in * g) * heaviside) * k
        value = value.detach() - (inj.detach() - inj)
    return value


class SigmoidHeaviside:  # fgi-rewrite: compatibility shim; calls sigmoid_heaviside
    apply = staticmethod(sigmoid_heaviside)

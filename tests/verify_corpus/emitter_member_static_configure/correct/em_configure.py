import torch


def spike(x: torch.Tensor) -> torch.Tensor:
    """FGI form of Spike: same value, surrogate gradient injected in forward."""
    x_in = x
    x = x.detach()
    value = (x > 0).float()
    if torch.is_grad_enabled():
        with torch.no_grad():
            g = Spike.surrogate(x)
            dtype = torch.result_type(value, g)
        inj = (x_in.to(dtype) * g).to(value.dtype)
        inj = inj.sum_to_size(value.shape)
        value = inj - inj.detach() + value.detach()
    return value


class Spike:  # fgi-rewrite: compatibility shim; calls spike
    alpha = 2.0

    @staticmethod
    def configure(alpha=2.0):
        Spike.alpha = alpha

    @staticmethod
    def surrogate(x):
        return 1.0 / (1.0 + (Spike.alpha * x) ** 2)
    apply = staticmethod(spike)


def plot_surrogate(x):
    return Spike.surrogate(x)

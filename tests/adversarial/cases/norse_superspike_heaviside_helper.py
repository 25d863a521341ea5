# fgi-case: plain convertible - Norse-style SuperSpike: heaviside() helper via torch.where, clone then divide by (alpha|x|+1)^2; must stay safe
# fgi-expect: SuperSpike=safe
import torch


def heaviside(data):
    return torch.where(data <= torch.zeros_like(data), torch.zeros_like(data), torch.ones_like(data))


class SuperSpike(torch.autograd.Function):
    @staticmethod
    @torch.jit.ignore
    def forward(ctx, input_tensor: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(input_tensor)
        ctx.alpha = alpha
        return heaviside(input_tensor)

    @staticmethod
    @torch.jit.ignore
    def backward(ctx, grad_output):
        (inp,) = ctx.saved_tensors
        alpha = ctx.alpha
        grad_input = grad_output.clone()
        grad = grad_input / (alpha * torch.abs(inp) + 1.0).pow(2)
        return grad, None


def super_fn(x: torch.Tensor, alpha: float = 100.0) -> torch.Tensor:
    return SuperSpike.apply(x, alpha)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 1e-3])])
    return [("super_fn", [x]), ("SuperSpike.apply", [x, 10.0])]

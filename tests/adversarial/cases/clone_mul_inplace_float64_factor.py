# fgi-case: class 3 - backward does grad_output.clone().mul_(g) with g in float64: the in-place product keeps grad_output's dtype (one rounding), unlike grad_output * g
# fgi-expect: PreciseSurrogateSpike=safe|unsafe|refused
import torch


class PreciseSurrogateSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return x.ge(0).to(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        xd = x.double()
        g = ctx.alpha / (2.0 * (1.0 + (torch.pi / 2.0 * ctx.alpha * xd) ** 2))
        grad_input = grad_output.clone()
        grad_input.mul_(g)
        return grad_input, None


def fgi_inputs(torch):
    x = torch.cat([torch.randn(14) * 0.7, torch.tensor([0.0, -0.0, 1.0 / 3.0])])
    return [("PreciseSurrogateSpike.apply", [x, 2.0])]

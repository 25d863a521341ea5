# fgi-case: plain convertible - SpyTorch-tutorial SurrGradSpike (class attribute scale, clone then divide), spike_fn alias; must stay safe
# fgi-expect: SurrGradSpike=safe
import torch


class SurrGradSpike(torch.autograd.Function):
    scale = 100.0

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        out = torch.zeros_like(input)
        out[input > 0] = 1.0
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad = grad_input / (SurrGradSpike.scale * torch.abs(input) + 1.0) ** 2
        return grad


spike_fn = SurrGradSpike.apply


def run_snn(inputs, w, beta=0.9):
    mem = torch.zeros(inputs.shape[1], w.shape[1])
    out = []
    for t in range(inputs.shape[0]):
        mem = beta * mem + inputs[t] @ w
        spk = spike_fn(mem - 1.0)
        mem = mem * (1.0 - spk.detach())
        out.append(spk)
    return torch.stack(out)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 0.01])])
    inp = torch.rand(4, 3, 5)
    w = torch.randn(5, 5)
    return [("spike_fn", [x]), ("run_snn", [inp, w])]

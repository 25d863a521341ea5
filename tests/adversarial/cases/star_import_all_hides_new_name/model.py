# fgi-case: class 9 - spikes.py has an __all__; model.py calls FastSigmoid.apply through `from spikes import *`: a call site rewritten to the new function must still resolve
# fgi-expect: FastSigmoid=safe|refused
import torch
from spikes import *  # noqa: F403


class Net(torch.nn.Module):
    def forward(self, x):
        return FastSigmoid.apply(x - 1.0, 5.0) + spike_layer(x)  # noqa: F405


net = Net()


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([1.0, -0.0, 0.0])])
    return [("net", [x])]

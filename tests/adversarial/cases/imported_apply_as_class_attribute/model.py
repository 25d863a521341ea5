# fgi-case: changed call - a model file keeps an imported Function's apply as a class attribute and calls self.spike_fn(x); redirected across files to the new function it must not become a method
# fgi-expect: Spike=safe|unsafe|refused
# fgi-expect: WideSpike=safe|unsafe|refused
from torch import nn

from surrogates import Spike, WideSpike


class LIF(nn.Module):
    spike_fn = Spike.apply
    wide_fn = WideSpike.apply

    def forward(self, x):
        return self.spike_fn(x - 0.5) + self.wide_fn(x)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.5, -0.0, 1.0])])
    return [("LIF()(a0)", [x])]

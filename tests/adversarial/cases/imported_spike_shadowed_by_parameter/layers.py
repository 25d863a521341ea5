# fgi-case: captured name - a layer module imports Spike from another file and also takes a spike Function as a parameter named Spike; only the module-level reads may be sent to the imported class's function
# fgi-expect: Spike=safe|unsafe|refused
# fgi-expect: WideSpike=safe|unsafe|refused
from surrogates import Spike, WideSpike


def default_layer(x):
    return Spike.apply(x - 0.5)


def configurable_layer(x, Spike=Spike):
    return Spike.apply(x - 0.5)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.5, -0.0, 1.0])])
    return [("default_layer", [x]), ("configurable_layer(a0, WideSpike)", [x])]

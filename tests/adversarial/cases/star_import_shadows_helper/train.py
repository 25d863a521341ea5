# fgi-case: class 9 - the rewrite adds a public `heaviside` to spikes.py; train.py imports its own `heaviside` then `from spikes import *`, which must not shadow it
# fgi-expect: Heaviside=safe|refused
from spikes import *  # noqa: F401,F403
from utils import heaviside


def evaluate(x):
    return heaviside(x, 0.5)


def train_step(mem, x):
    spk, mem = LIFCell()(mem, x)
    return spk + evaluate(x)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.5, -0.0, 1.0])])
    mem = torch.rand(16)
    return [("evaluate", [x]), ("train_step", [mem, x]), ("Heaviside.apply", [x])]

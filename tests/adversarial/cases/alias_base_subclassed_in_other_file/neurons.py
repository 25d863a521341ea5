# fgi-case: class 8 - as base_subclassed_in_other_file, but the base spells Function through an import alias (`Function as AutogradFn`), which a text prefilter must not miss
# fgi-expect: SpikeFunctionBase=safe|unsafe|refused
# fgi-expect: PiecewiseSpike=safe|unsafe|refused
import torch
from surrogates import SpikeFunctionBase


class PiecewiseSpike(SpikeFunctionBase):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (x.abs() < 1.0 / ctx.alpha).to(x) * ctx.alpha / 2, None


def lif(x, surrogate="atan"):
    fn = SpikeFunctionBase if surrogate == "atan" else PiecewiseSpike
    return fn.apply(x, 2.0)


def fgi_inputs(torch):
    x = torch.cat([torch.randn(13), torch.tensor([0.0, -0.0, 0.5])])
    return [("lif", [x]), ("lif", [x, "pw"]), ("SpikeFunctionBase.apply", [x, 4.0])]

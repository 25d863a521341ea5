"""`verify`'s inputs: shapes of rank 1 to 5, the value domains forward needs, tensors where call
sites pass tensors, and `--input Cls.x=SPEC`. One verify run covers the classes that need a
realistic input; the rest is static (argument_spec) or in-process (make_arguments)."""

from __future__ import annotations

import json
from pathlib import Path

import libcst as cst
import pytest
from click.testing import CliRunner

from fgi_rewrite.analysis.discovery import find_function_classes
from fgi_rewrite.analysis.extract import extract
from fgi_rewrite.cli import main
from fgi_rewrite.verify.plan import argument_spec

torch = pytest.importorskip("torch")

# Fires with probability p: torch.bernoulli raises on anything outside [0, 1].
PROBABILITY_SPIKE = """\
import torch


class ProbSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, p):
        ctx.save_for_backward(p)
        return torch.bernoulli(p)

    @staticmethod
    def backward(ctx, grad_output):
        (p,) = ctx.saved_tensors
        return grad_output * (p > 0.5).float()
"""

# Two [T, B, ...] classes: one refuses fewer than three dimensions at run time (only trying a
# shape finds that out), one views its input through x.shape[2] (rank >= 3, read statically).
SEQUENCE_SPIKES = """\
import torch


class SeqSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        if x.dim() < 3:
            raise ValueError("expects [T, B, N, ...] inputs")
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1.0 + x.abs()) ** 2


class StepView(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        flat = x.reshape(x.shape[0] * x.shape[1], x.shape[2], -1)
        return (flat > 0).float().view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1.0 + x.abs()) ** 2
"""

# The threshold is an nn.Parameter at the call site; backward gives it no gradient.
THRESHOLD_SPIKE = """\
import torch
import torch.nn as nn


class ThresholdSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mem, threshold):
        shifted = mem - threshold
        ctx.save_for_backward(shifted)
        return (shifted > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (shifted,) = ctx.saved_tensors
        return grad_output / (1.0 + shifted.abs()) ** 2, None


class Neuron(nn.Module):
    def __init__(self):
        super().__init__()
        self.threshold = nn.Parameter(torch.tensor(1.0))

    def forward(self, mem):
        return ThresholdSpike.apply(mem, self.threshold)
"""

# A hand migration that forgot to detach the threshold: the learnable threshold now receives
# the surrogate gradient through the spike, which the original never gave it.
LEAKING_MIGRATION = """\
import torch


def threshold_spike(mem, threshold):
    shifted = mem - threshold
    value = (shifted > 0).float()
    inj = shifted / ((1.0 + shifted.abs()) ** 2).detach()
    return value.detach() - (inj.detach() - inj)
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def verdicts(out: str) -> dict[str, dict]:
    return {f["qualname"]: f for f in json.loads(out)["functions"]}


def spec_of(source: str, qualname: str, given: dict[str, str] | None = None) -> list[dict]:
    module = cst.parse_module(source)
    classes, index = find_function_classes(module)
    return argument_spec(extract(next(c for c in classes if c.qualname == qualname), index), module, qualname,
                         given)


def test_inputs_that_need_a_domain_or_a_rank_are_verified_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "prob.py").write_text(PROBABILITY_SPIKE)
    (tmp_path / "seq.py").write_text(SEQUENCE_SPIKES)
    (tmp_path / "spike.py").write_text(SEQUENCE_SPIKES.replace("SeqSpike", "GivenSpike")
                                       .replace("StepView", "GivenView"))
    code, out, err = run("verify", "--compat", "none", "--format", "json", "--dtype", "float32",
                         "--input", "GivenView.x=shape:2,3,4;domain:spikes", "--input", "GivenSpike.x=dtype:float64",
                         str(tmp_path))
    assert code == 0, err
    found = verdicts(out)
    assert {name: v["status"] for name, v in found.items()} == dict.fromkeys(
        ("ProbSpike", "SeqSpike", "StepView", "GivenSpike", "GivenView"), "equivalent")
    (prob,) = found["ProbSpike"]["verify"]["arguments"]
    assert "probabilities in [0, 1] (forward: torch.bernoulli(p))" in prob
    # SeqSpike raised on [6, 5] in the first run: the description says so and which shape ran.
    (seq,) = found["SeqSpike"]["verify"]["arguments"]
    assert seq.startswith("x=random[4, 3, 5]") and "raised on [6, 5]: ValueError: expects [T, B, N, ...]" in seq
    (view,) = found["StepView"]["verify"]["arguments"]
    assert view.startswith("x=random[4, 3, 5], [2, 3, 4, 5] over 2 runs (rank >= 3 for x.shape[2]")
    (given_view,) = found["GivenView"]["verify"]["arguments"]
    assert given_view == "x=random[2, 3, 4] (--input), spikes 0/1 (--input)"
    assert "float64 (--input)" in found["GivenSpike"]["verify"]["arguments"][0]


def test_a_gradient_leaked_into_a_parameter_tensor_is_different(tmp_path: Path) -> None:
    (tmp_path / "orig").mkdir()
    (tmp_path / "migrated").mkdir()
    (tmp_path / "orig" / "neuron.py").write_text(THRESHOLD_SPIKE)
    (tmp_path / "migrated" / "neuron.py").write_text(LEAKING_MIGRATION)
    code, out, err = run("verify", "--compat", "none", "--format", "json", "--dtype", "float32", "--against",
                         str(tmp_path / "migrated"), "--map", "ThresholdSpike=neuron:threshold_spike",
                         str(tmp_path / "orig"))
    entry = verdicts(out)["ThresholdSpike"]
    mem, threshold = entry["verify"]["arguments"]
    assert threshold.startswith("threshold=tensor(1.0) requiring grad (a tensor at a call site: self.threshold")
    assert "values next to threshold (forward: mem - threshold)" in mem
    assert entry["status"] == "different" and code == 1, err


@pytest.mark.parametrize(("spec", "message"), [
    ("Spike.x=shape:4,x,8", "'x' is not a size"),
    ("Spike.x=domain:prob", "unknown domain"),
    ("Spike.x=dtype:float8", "unknown dtype"),
    ("Spike.x=size:4", "'size:4': expected shape:"),
    ("Spike=shape:4", "expected Cls.input=SPEC"),
    ("Spike.x=shape:4;shape:5", "shape given twice"),
    ("Spike.x=domain:around:high", "around needs a number"),
])
def test_a_bad_input_spec_is_a_usage_error_naming_the_bad_part(tmp_path: Path, spec: str, message: str) -> None:
    code, _, err = run("verify", "--input", spec, str(tmp_path))
    assert code == 2
    assert "Invalid value for '--input'" in err and message in err


def test_inputs_in_settings_are_checked(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.fgi-rewrite.verify]\n'
                                             'inputs = { "Spike.x" = "shape:4;domain:odd" }\n')
    (tmp_path / "spike.py").write_text(PROBABILITY_SPIKE)
    code, _, err = run("rewrite", "--check", str(tmp_path / "spike.py"))
    assert code == 2
    assert "pyproject.toml [tool.fgi-rewrite.verify] inputs" in err and "'domain:odd': unknown domain" in err


def test_the_input_spec_parser() -> None:
    from fgi_rewrite.verify.inputs import parse_input_option

    assert parse_input_option("Spike.x=shape:32,128;domain:positive") == (
        "Spike.x", {"shape": [32, 128], "domain": "positive"})
    assert parse_input_option("A.B.p = shape:();dtype:bool")[1] == {"shape": [], "dtype": "bool"}
    assert parse_input_option("S.x=domain:around:0.3")[1] == {"domain": "around", "around": 0.3}


# ------------------------------------------------------------------------------ static side


def test_forward_tells_the_domain_the_rank_and_the_thresholds() -> None:
    source = """\
import torch
THRESHOLD = 0.3

class Cell(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p, q, r, s, t, rate, seq):
        ctx.save_for_backward(x)
        ctx.s = s
        fire = (torch.rand_like(p) < p).float() * (x >= THRESHOLD).float() * (x - t > 0.7).float()
        scale = torch.log(q) + r ** 0.5 + seq[:, :, 0].sum()
        return fire * scale * (1 - s) + rate.sqrt()

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None, None, None, None, None, None, None
"""
    spec = {item["name"]: item for item in spec_of(source, "Cell")}
    assert spec["p"]["domain"] == "probability" and spec["p"]["domain_origin"] == "torch.rand_like(p) < p"
    assert spec["q"]["domain"] == "positive" and spec["r"]["domain"] == "positive"
    assert spec["rate"]["domain"] == "positive"
    assert spec["s"]["domain"] == "spikes"  # kept in ctx and used as 1 - s only
    assert spec["x"]["domain"] is None and spec["x"]["near"] == [0.3] and spec["x"]["near_inputs"] == ["t"]
    assert spec["seq"]["min_rank"] == 3 and spec["seq"]["rank_origin"] == "seq[:, :, 0]"
    assert spec["t"]["near"] == [] and spec["t"]["near_inputs"] == ["x"]
    # A differentiable input is a spike only when forward says so for sure (.bool(), == 1).
    shifted = """\
import torch

class Shifted(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, s):
        ctx.save_for_backward(x)
        return (1 - x > 0.5).float() * (s == 1).float()

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None
"""
    spec = {item["name"]: item for item in spec_of(shifted, "Shifted")}
    assert spec["x"]["domain"] is None and spec["s"]["domain"] == "spikes"
    assert spec_of(shifted.replace("(s == 1)", "(1 - s)"), "Shifted")[1]["domain"] == "spikes"


def test_call_sites_give_shapes_and_tensors() -> None:
    source = """\
import torch
from torch import nn

class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha, beta, gamma):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None, None, None

class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(2.0))
        self.spike = Spike.apply

    def forward(self, x):
        beta = torch.tensor(0.5)
        return self.spike(x, self.alpha, beta, 4.0)

def demo():
    return Spike.apply(torch.zeros(4, 3, 8), torch.tensor(3.0, requires_grad=True), 1.5, 4.0)
"""
    spec = {item["name"]: item for item in spec_of(source, "Spike")}
    assert spec["x"]["shapes"] == [[4, 3, 8]] and spec["x"]["shape_origin"] == "torch.zeros(4, 3, 8)"
    assert spec["alpha"]["tensor"] and spec["alpha"]["requires_grad"] and spec["alpha"]["value"] == 2.0
    assert "nn.Parameter(torch.tensor(2.0))" in spec["alpha"]["tensor_origin"]
    assert spec["beta"]["tensor"] and not spec["beta"]["requires_grad"] and spec["beta"]["value"] == 0.5
    assert spec["gamma"]["tensor"] is False  # a literal at every call site
    from fgi_rewrite.verify.plan import call_site_literals

    # beta is a tensor at one call site: its literal 1.5 elsewhere does not replace the tensor.
    assert call_site_literals(cst.parse_module(source)) == {"Spike": {3: "4.0"}}
    # A wrapper's parameter stands for its default (None tells nothing).
    wrapper = "def fourier(x, n_terms=3, period=None):\n    return Spike.apply(x, n_terms, period)\n"
    assert call_site_literals(cst.parse_module(wrapper)) == {"Spike": {1: "3"}}


# ------------------------------------------------------------------------------ running side


def _spec(name: str, role: str = "differentiable", **facts: object) -> dict:
    item = {"name": name, "role": role, "default": None, "full_reduction": False, "as_tensor": False,
            "saved": False, "annotation": None}
    item.update(facts)
    return item


def test_shapes_cover_ranks_one_to_five_over_the_default_runs_and_parameters_follow() -> None:
    from fgi_rewrite.verify.arguments import make_arguments

    spec = [_spec("x"), _spec("thr", "broadcast", leading=1), _spec("scale", "broadcast", leading=None)]
    shapes = []
    for run in range(8):
        (x, thr, scale), leaves, _ = make_arguments(spec, {}, torch.float32, run % 2, run=run)
        shapes.append(tuple(x.shape))
        assert thr.shape == x.shape[1:] and scale.shape == () and len(leaves) == 3
        assert x.flatten()[:5].tolist() == [0.0, -0.0, 1.0, -1.0, 0.5]
        assert torch.signbit(x.flatten()[1])
    assert sorted({len(s) for s in shapes}) == [1, 2, 3, 4, 5]
    assert shapes[0] == (6, 5) and (3, 2, 2, 3, 4) in shapes  # [T, B, C, H, W]


def test_domains_and_thresholds_shape_the_values() -> None:
    from fgi_rewrite.verify.arguments import make_arguments

    spec = [_spec("p", domain="probability"), _spec("q", domain="positive"),
            _spec("x", near=[0.3], near_origin="x >= 0.3"), _spec("s", "constant", domain="spikes")]
    (p, q, x, s), _, described = make_arguments(spec, {}, torch.float32, 0)
    p, q, x = p.detach(), q.detach(), x.detach()
    assert 0 <= float(p.min()) and float(p.max()) <= 1 and {0.0, 1.0, 0.5} <= set(p.flatten()[:5].tolist())
    assert float(q.min()) > 0
    assert set(s.unique().tolist()) == {0.0, 1.0} and not s.requires_grad
    third = torch.tensor(0.3, dtype=torch.float32)
    assert x.flatten()[5] == third  # on the threshold, then one ulp above and below it
    assert x.flatten()[6] == torch.nextafter(third, torch.tensor(1.0))
    assert x.flatten()[7] == torch.nextafter(third, torch.tensor(0.0))
    assert described[2] == "x=random[6, 5], values next to 0.3 (forward: x >= 0.3)"


def test_hyper_parameters_are_tensors_where_call_sites_say_and_alternate_where_nothing_does() -> None:
    from fgi_rewrite.verify.arguments import make_arguments

    spec = [_spec("x"), _spec("thr", "constant", tensor=True, requires_grad=True, value=1.0,
                              tensor_origin="self.thr"), _spec("alpha", "constant")]
    (x, thr, alpha), leaves, _ = make_arguments(spec, {}, torch.float64, 0, run=0)
    assert thr.requires_grad and thr.shape == () and float(thr.detach()) == 1.0
    assert [id(leaf) for leaf in leaves] == [id(x), id(thr)]
    assert alpha == 2.7
    (_, _, alpha), _, described = make_arguments(spec, {}, torch.float64, 1, run=1)
    assert isinstance(alpha, torch.Tensor) and alpha.shape == () and not alpha.requires_grad
    assert described[2] == "alpha=2.7 (no default), a 0-d tensor in every other run"


def test_a_shape_the_function_rejects_falls_back_to_one_it_takes() -> None:
    from fgi_rewrite.verify.arguments import make_arguments

    def needs_three(x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3:
            raise ValueError("rank < 3")
        return x * 2

    spec = [_spec("x")]
    used = [tuple(make_arguments(spec, {}, torch.float32, 0, fn=needs_three, run=run)[0][0].shape)
            for run in range(5)]
    assert all(len(shape) >= 3 for shape in used)
    *_, described = make_arguments(spec, {}, torch.float32, 0, fn=needs_three, run=5)
    assert "raised on [6, 5]: ValueError: rank < 3 ([4, 3, 5] used instead)" in described[0]
    assert "on [30]: ValueError: rank < 3 ([2, 3, 4, 5] used instead)" in described[0]

    def never(x: torch.Tensor) -> torch.Tensor:
        raise TypeError("never")

    with pytest.raises(TypeError, match="never"):
        make_arguments(spec, {}, torch.float32, 0, fn=never, run=0)


def test_a_number_annotated_float_is_never_fed_as_a_mask() -> None:
    """bitorch's ProgressiveSign: `temperature: float` read as `1.0 - temperature` looks like a
    spike mask to the domain inference; fed a 0/1 tensor, `max(1.0 - temperature, eps)` raised
    and the class was skipped."""
    from fgi_rewrite.verify.arguments import make_arguments

    source = '''
import torch
import torch.nn.functional as F
from torch.autograd import Function


class ProgressiveSign(Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, temperature: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        return F.hardtanh(x / max(1.0 - temperature, 1e-7))

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None
'''
    module = cst.parse_module(source)
    (info,), index = find_function_classes(module)
    spec = argument_spec(extract(info, index), module, info.qualname)
    assert spec[1]["domain"] is None  # `1.0 - temperature` alone would say "spikes"
    namespace: dict = {}
    exec(compile(source, "progressive_sign.py", "exec"), namespace)
    args, _, described = make_arguments(spec, namespace, torch.float32, 0, fn=namespace["ProgressiveSign"].apply)
    assert isinstance(args[1], float), described


def test_a_migration_that_only_runs_on_a_fallback_argument_is_different(tmp_path: Path) -> None:
    """alpha's type is unknown, so odd runs pass a 0-d tensor, which the original accepts. A
    migration that rejects it would fall back to a float on its side alone and compare equal
    values: the sides must run on the same arguments."""
    from sources import FAST_SIGMOID_SPIKE

    migration = (
        "import torch\n\n\n"
        "def spike_fgi(x: torch.Tensor, alpha: float) -> torch.Tensor:\n"
        "    if isinstance(alpha, torch.Tensor):\n"
        "        raise TypeError('alpha must be a number')\n"
        "    value = (x > 0).float()\n"
        "    inj = x / ((alpha * x.abs() + 1.0) ** 2).detach()\n"
        "    return value.detach() - (inj.detach() - inj)\n")
    (tmp_path / "orig").mkdir()
    (tmp_path / "migrated").mkdir()
    (tmp_path / "orig" / "spike.py").write_text(FAST_SIGMOID_SPIKE)
    (tmp_path / "migrated" / "spike.py").write_text(migration)
    code, out, err = run("verify", "--compat", "none", "--format", "json", "--dtype", "float32", "--against",
                         str(tmp_path / "migrated"), "--map", "Spike=spike:spike_fgi", str(tmp_path / "orig"))
    entry = verdicts(out)["Spike"]
    assert entry["status"] == "different" and code == 1, err
    assert "the sides ran on different arguments" in entry["reason"]

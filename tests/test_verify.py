"""`fgi-rewrite verify`: the statuses, exit codes and isolation a user relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sources import FAST_SIGMOID_SPIKE

from fgi_rewrite.cli import main

torch = pytest.importorskip("torch")

SPIKE = FAST_SIGMOID_SPIKE

# A hand migration with a wrong constant: 1.5 instead of 1.0 in the denominator.
WRONG_MIGRATION = """\
import torch


def spike_fgi(x: torch.Tensor, alpha: float) -> torch.Tensor:
    value = (x > 0).float()
    inj = x / ((alpha * x.abs() + 1.5) ** 2).detach()
    return value.detach() - (inj.detach() - inj)
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def verdicts(out: str) -> dict[str, dict]:
    return {f["qualname"]: f for f in json.loads(out)["functions"]}


def test_rewritten_class_is_equivalent_and_the_output_says_code_ran(tmp_path: Path) -> None:
    (tmp_path / "spike.py").write_text(SPIKE)
    code, out, err = run("verify", "--compat", "none", "--format", "json", "--seed", "3", str(tmp_path))
    assert code == 0, err
    assert "runs your code" in err
    entry = verdicts(out)["Spike"]
    assert entry["status"] == "equivalent" and entry["fix"] == "safe" and entry["line"] == 4
    figures = entry["verify"]
    assert figures["runs"] == 8  # 4 dtypes x 2 seeds
    assert figures["max_ulps"] == 0
    # Shapes of rank 1 to 5 over the 8 runs; an input nothing types is a float, then a 0-d tensor.
    assert figures["arguments"] == ["x=random[6, 5], [4, 3, 5], [30], [2, 3, 4, 5], [3, 2, 2, 3, 4] over 8 runs "
                                    "(default shapes)", "alpha=2.7 (no default), a 0-d tensor in every other run"]
    assert json.loads(out)["seed"] == 3
    assert (tmp_path / "spike.py").read_text() == SPIKE  # verify writes nothing
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("fgi_rewrite").joinpath("schema/fgi-rewrite.schema.json").read_text())
    jsonschema.validate(json.loads(out), schema)


def test_a_wrong_hand_migration_is_different_and_exits_1(tmp_path: Path) -> None:
    original = tmp_path / "orig"
    migrated = tmp_path / "migrated"
    original.mkdir()
    migrated.mkdir()
    (original / "spike.py").write_text(SPIKE)
    (migrated / "spike.py").write_text(WRONG_MIGRATION)
    code, out, _ = run("verify", "--compat", "none", "--format", "json", "--dtype", "float32", "--against",
                       str(migrated), "--map", "Spike=spike:spike_fgi", str(original))
    assert code == 1
    entry = verdicts(out)["Spike"]
    assert entry["status"] == "different"
    assert "gradient 0 differs" in entry["reason"]
    # On float64 inputs the migration also returns float64 where the original returns float32.
    code, out, _ = run("verify", "--compat", "none", "--format", "json", "--dtype", "float64", "--against",
                       str(migrated), "--map", "Spike=spike:spike_fgi", str(original))
    assert "forward differs (torch.float32 (6, 5) vs torch.float64 (6, 5))" in verdicts(out)["Spike"]["reason"]


def test_a_correct_hand_migration_is_equivalent(tmp_path: Path) -> None:
    original = tmp_path / "orig"
    migrated = tmp_path / "migrated"
    original.mkdir()
    migrated.mkdir()
    (original / "spike.py").write_text(SPIKE)
    (migrated / "spike.py").write_text(WRONG_MIGRATION.replace("+ 1.5", "+ 1.0"))
    code, out, err = run("verify", "--compat", "none", "--format", "json", "--dtype", "float32",
                         "--against", str(migrated), "--map", "Spike=spike:spike_fgi", str(original))
    assert code == 0, err
    assert verdicts(out)["Spike"]["status"] == "equivalent"


def test_package_with_absolute_self_imports_runs_the_rewritten_twin(tmp_path: Path) -> None:
    package = tmp_path / "snnlib"
    package.mkdir()
    (package / "__init__.py").write_text("from snnlib.surrogate import Spike\n")
    (package / "surrogate.py").write_text(SPIKE)
    (package / "layers.py").write_text("from snnlib.surrogate import Spike\n\n"
                                       "def fire(x):\n    return Spike.apply(x, 2.0)\n")
    # A star-importer with a `spike` of its own: the rewrite names its function `_spike`, as
    # `rewrite` does, so nothing the importer had is shadowed.
    (package / "user.py").write_text("def spike(x):\n    return x\n\nfrom snnlib.surrogate import *\n")
    code, out, err = run("verify", "--compat", "none", "--format", "json", "--dtype", "float64", str(package))
    assert code == 0, err
    assert verdicts(out)["Spike"]["status"] == "equivalent"
    assert "snnlib.user" in verdicts(out)["Spike"]["verify"]["checked"]["namespaces"]


def test_inputs_that_cannot_be_inferred_are_skipped_with_the_reason(tmp_path: Path) -> None:
    needs_int = SPIKE.replace("ctx.alpha = alpha",
                              "ctx.alpha = alpha\n        assert isinstance(alpha, int), 'alpha must be an int'")
    (tmp_path / "spike.py").write_text(needs_int)
    code, out, _ = run("verify", "--compat", "none", "--format", "json", "--dtype", "float32", str(tmp_path))
    entry = verdicts(out)["Spike"]
    assert entry["status"] == "skipped"
    assert "alpha must be an int" in entry["reason"]
    code, out, _ = run("verify", "--compat", "none", "--format", "json", "--dtype", "float32",
                       "--arg", "Spike.alpha=3", str(tmp_path))
    assert code == 0 and verdicts(out)["Spike"]["status"] == "equivalent"


def test_additivity_probe_catches_a_backward_that_is_not_linear() -> None:
    from fgi_rewrite.verify.side import _probe_backward

    class AbsGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return (x > 0).float()

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output.abs()

    class Linear(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return (x > 0).float()

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * torch.exp(-x * x)

    x = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    assert any("not additive" in p for p in _probe_backward(AbsGrad.apply, [x], [x], 0))
    assert _probe_backward(Linear.apply, [x], [x], 0) == []


def test_literals_at_call_sites_are_used_and_reported(tmp_path: Path) -> None:
    (tmp_path / "spike.py").write_text(SPIKE + "\n\ndef fire(x):\n    return Spike.apply(x, 0.25)\n")
    code, out, err = run("verify", "--compat", "none", "--format", "json", "--dtype", "float32", str(tmp_path))
    assert code == 0, err
    assert "alpha=0.25 (literal at a call site)" in verdicts(out)["Spike"]["verify"]["arguments"]


def test_autocast_run_for_custom_fwd_against_a_hand_migration(tmp_path: Path) -> None:
    amp = SPIKE.replace("    @staticmethod\n    def forward", "    @staticmethod\n"
                        "    @torch.amp.custom_fwd(device_type='cpu', cast_inputs=torch.float32)\n    def forward")
    migrated = ("import torch\n\n\ndef spike_fgi(x: torch.Tensor, alpha: float) -> torch.Tensor:\n"
                "    if torch.is_autocast_enabled('cpu'):\n        x = x.float()\n"
                "    with torch.autocast('cpu', enabled=False):\n"
                "        value = (x > 0).float()\n"
                "        inj = x / ((alpha * x.abs() + 1.0) ** 2).detach()\n"
                "        return value.detach() - (inj.detach() - inj)\n")
    (tmp_path / "orig").mkdir()
    (tmp_path / "copy").mkdir()
    (tmp_path / "orig" / "spike.py").write_text(amp)
    (tmp_path / "copy" / "spike.py").write_text(migrated)
    code, out, err = run("verify", "--compat", "none", "--format", "json", "--dtype", "float32", "--against",
                         str(tmp_path / "copy"), "--map", "Spike=spike:spike_fgi", str(tmp_path / "orig"))
    assert code == 0, err
    entry = verdicts(out)["Spike"]
    assert entry["status"] == "equivalent"
    assert entry["verify"]["runs"] == 3  # 2 seeds + 1 under autocast(cpu, bfloat16)


def test_an_unparsable_file_is_reported_and_the_others_are_verified(tmp_path: Path) -> None:
    (tmp_path / "a_broken.py").write_text("import torch\n\nclass X(torch.autograd.Function)\n    pass\n")
    (tmp_path / "b_spike.py").write_text(SPIKE)
    code, out, err = run("verify", "--compat", "none", "--format", "json", "--dtype", "float32", str(tmp_path))
    assert code == 2
    document = json.loads(out)
    (error,) = document["errors"]
    assert error["path"].endswith("a_broken.py") and error["code"] == "FGI902" and error["line"] == 3
    assert verdicts(out)["Spike"]["status"] == "equivalent"


# Hand-made wrong migrations, one file each, verified in one run (orig/NAME.py vs migrated/NAME.py):
# (original source, migrated source). Each class is named by `--map Cls=NAME:function`.
_FAST_SIGMOID_FGI = """\
import torch


def {name}(x, alpha):
    value = (x > 0).float()
    inj = x / ((alpha * x.abs() + 1.0) ** 2).detach()
    return {ret}
"""
_SPIKE_AND_COUNT = """\
import torch


class {cls}(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        spike = (x > 0).float()
        count = spike.sum()
        ctx.mark_non_differentiable(count)
        return spike, count

    @staticmethod
    def backward(ctx, grad_spike, grad_count):
        (x,) = ctx.saved_tensors
        return grad_spike / (1.0 + x.abs()) ** 2
"""
_SPIKE_AND_COUNT_FGI = """\
import torch


def spike_and_count(x):
    value = (x > 0).float()
    inj = x / ((1.0 + x.abs()) ** 2).detach()
    return inj - inj.detach() + value.detach(), value.sum(){cast}
"""
_THRESHOLD = """\
import torch


class ThresholdSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v, threshold, alpha):
        ctx.save_for_backward(v, threshold)
        ctx.alpha = alpha
        return (v - threshold > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        v, threshold = ctx.saved_tensors
        sg = 1.0 / (1.0 + (ctx.alpha * (v - threshold)) ** 2)
        return grad_output * sg, -(grad_output * sg).sum(0), None
"""
# The threshold's gradient is dropped: it is detached.
_THRESHOLD_FGI = """\
import torch


def threshold_spike(v, threshold, alpha):
    sg = (1.0 / (1.0 + (alpha * (v - threshold)) ** 2)).detach()
    value = (v - threshold > 0).float()
    inj = v * sg
    return inj - inj.detach() + value.detach()
"""
_BERNOULLI = """\
import torch


class BernoulliSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        p = torch.sigmoid(x)
        ctx.save_for_backward(p)
        return torch.bernoulli(p)

    @staticmethod
    def backward(ctx, grad_output):
        (p,) = ctx.saved_tensors
        return grad_output * p * (1 - p)
"""
# Same values, one random number more: every later draw (dropout, the next spike) shifts.
_BERNOULLI_FGI = """\
import torch


def bernoulli_spike(x):
    p = torch.sigmoid(x)
    value = torch.bernoulli(p)
    torch.rand(())
    inj = x * (1 - p).detach() * p.detach()  # backward multiplies by p first
    return inj - inj.detach() + value.detach()
"""
_CONFIGURED = SPIKE.replace("class Spike(torch.autograd.Function):\n", """\
class ConfiguredSpike(torch.autograd.Function):
    scale = 2.0

    @staticmethod
    def configure(scale):
        ConfiguredSpike.scale = scale
        return ConfiguredSpike.apply
""")
# The compatibility object keeps `scale` but not `configure`.
_CONFIGURED_FGI = _FAST_SIGMOID_FGI.format(name="configured_spike", ret="inj - inj.detach() + value.detach()") + """

class ConfiguredSpike:
    scale = 2.0
    apply = staticmethod(configured_spike)
"""
# lib's replacement is public and named `fire`: user's own `fire` (from helpers) is shadowed.
_USER = "from helpers import fire\nfrom lib import *\n"
_HELPERS = "def fire(x):\n    return x > 0\n"
# A training script that star-imports lib: never imported just to read its namespace.
_TRAIN = ("from pathlib import Path\nfrom lib import *\n\n"
          "for epoch in range(1):\n    Path(__file__).with_suffix('.ran').touch()\n")
_NEEDS_MISSING = SPIKE.replace("import torch\n", "import torch\nfrom not_installed_xyz import SLOPE\n", 1).replace(
    "class Spike", "class ImportSpike").replace("ctx.alpha * x.abs()", "SLOPE * x.abs()")
_NEEDS_INT = SPIKE.replace("class Spike", "class IntSpike").replace(
    "ctx.alpha = alpha", "ctx.alpha = alpha\n        assert isinstance(alpha, int), 'alpha must be an int'")

WRONG_MIGRATIONS: dict[str, tuple[str, str, str]] = {
    # module: (original, migration, --map)
    "pair": (SPIKE.replace("class Spike", "class PairSpike"),
             _FAST_SIGMOID_FGI.format(name="pair", ret="inj - inj.detach() + value.detach(), inj"),
             "PairSpike=pair:pair"),
    "dropped": (_THRESHOLD, _THRESHOLD_FGI, "ThresholdSpike=dropped:threshold_spike"),
    "rng": (_BERNOULLI, _BERNOULLI_FGI, "BernoulliSpike=rng:bernoulli_spike"),
    "detached": (SPIKE.replace("class Spike(torch.autograd.Function):\n",
                               "class DetachedSpike(torch.autograd.Function):\n    slope = 1.0\n\n"),
                 _FAST_SIGMOID_FGI.format(name="detached", ret="value"), "DetachedSpike=detached:detached"),
    "leaf": (SPIKE.replace("class Spike", "class LeafSpike"),
             _FAST_SIGMOID_FGI.format(name="leaf", ret="value.requires_grad_()"), "LeafSpike=leaf:leaf"),
    "members": (_CONFIGURED, _CONFIGURED_FGI, "ConfiguredSpike=members:configured_spike"),
    "lib": (SPIKE.replace("class Spike", "class LibSpike"),
            _FAST_SIGMOID_FGI.format(name="fire", ret="inj - inj.detach() + value.detach()"), "LibSpike=lib:fire"),
    "user": (_USER, _USER, ""),
    "train": (_TRAIN, _TRAIN, ""),
    "helpers": (_HELPERS, _HELPERS, ""),
    "missing": (_NEEDS_MISSING, _NEEDS_MISSING, "ImportSpike=missing:spike"),
    "needs_int": (_NEEDS_INT, _NEEDS_INT, ""),
    "raises": (SPIKE.replace("class Spike", "class RaisingSpike"),
               "def raising(x, alpha):\n    raise RuntimeError('not migrated')\n", "RaisingSpike=raises:raising"),
}


def test_wrong_migrations_are_different_and_failures_say_why(tmp_path: Path) -> None:
    """Every way a migration can differ that a caller can see is `different`, never
    `equivalent`; a class that cannot be compared says which side failed at which stage."""
    (tmp_path / "orig").mkdir()
    (tmp_path / "migrated").mkdir()
    maps = []
    for module, (original, migrated, mapping) in WRONG_MIGRATIONS.items():
        (tmp_path / "orig" / f"{module}.py").write_text(original)
        (tmp_path / "migrated" / f"{module}.py").write_text(migrated)
        maps += ["--map", mapping] if mapping else []
    code, out, err = run("verify", "--compat", "none", "--format", "json", "--dtype", "float32",
                         "--against", str(tmp_path / "migrated"), *maps, str(tmp_path / "orig"))
    assert code == 2, err  # the FGI side of RaisingSpike fails
    found = verdicts(out)
    status = {name: entry["status"] for name, entry in found.items()}
    reason = {name: entry["reason"] for name, entry in found.items()}
    assert status["PairSpike"] == "different"
    assert "forward returns one output vs FGI a tuple of 2" in reason["PairSpike"]
    assert status["ThresholdSpike"] == "different"
    assert "gradient 1 is None on the FGI side only" in reason["ThresholdSpike"]
    assert status["BernoulliSpike"] == "different"
    assert "draws a different number of random values" in reason["BernoulliSpike"]
    assert status["DetachedSpike"] == "different"
    assert "output requires_grad True vs FGI False" in reason["DetachedSpike"]
    assert status["LeafSpike"] == "different"
    assert "output has a grad_fn, FGI's has none" in reason["LeafSpike"]
    assert status["ConfiguredSpike"] == "different"
    assert "ConfiguredSpike.configure is missing on the compatibility object" in reason["ConfiguredSpike"]
    # No shim at all in a hand migration: said, not failed.
    assert "its members (slope) are not checked" in " ".join(found["DetachedSpike"]["verify"]["notes"])
    assert status["LibSpike"] == "different"
    assert "namespace of user (it star-imports lib): fire is function lib.fire" in reason["LibSpike"]
    assert "namespace of train not compared: it runs code at import" in " ".join(found["LibSpike"]["verify"]["notes"])
    assert not list(tmp_path.glob("*/train.ran"))
    assert status["ImportSpike"] == "skipped"
    assert reason["ImportSpike"].startswith("cannot import the original: import failed: ModuleNotFoundError: "
                                            "No module named 'not_installed_xyz'")
    assert (status["IntSpike"], reason["IntSpike"]) == (
        "skipped", "the inferred arguments fail on the original too: AssertionError: alpha must be an int")
    assert status["RaisingSpike"] == "error"
    assert reason["RaisingSpike"].startswith("the FGI side fails where the original runs")
    assert reason["RaisingSpike"].endswith("RuntimeError: not migrated")
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("fgi_rewrite").joinpath("schema/fgi-rewrite.schema.json").read_text())
    jsonschema.validate(json.loads(out), schema)


def test_each_output_of_a_tuple_is_compared(tmp_path: Path) -> None:
    """A class with several outputs (migrated by hand: rewrite refuses it) is compared output
    by output; the sides run in this process, on modules of different names."""
    from fgi_rewrite.verify.compare import Case, compare
    from fgi_rewrite.verify.side import run_job

    (tmp_path / "multi_original.py").write_text(_SPIKE_AND_COUNT.format(cls="SpikeAndCount"))
    wrong_count = _SPIKE_AND_COUNT_FGI.format(cast=".double()").replace("spike_and_count", "wrong_count")
    (tmp_path / "multi_migrated.py").write_text(_SPIKE_AND_COUNT_FGI.format(cast="") + "\n\n" + wrong_count)
    x = {"name": "x", "role": "differentiable", "default": None, "full_reduction": False, "as_tensor": False,
         "saved": True, "annotation": None}
    results = {}
    for side, module, objects, kind in (("original", "multi_original", ["SpikeAndCount"] * 2, "class"),
                                        ("fgi", "multi_migrated", ["spike_and_count", "wrong_count"], "function")):
        cases = [{"key": key, "module": module, "object": obj, "object_kind": kind, "qualname": "SpikeAndCount",
                  "inputs": [x], "autocast": None, "file": str(tmp_path / f"{module}.py"), "paths": [str(tmp_path)]}
                 for key, obj in zip(("right", "wrong"), objects, strict=True)]
        results[side] = run_job({"side": side, "root": str(tmp_path), "seed": 0, "repeats": 1, "dtypes": ["float32"],
                                 "compat": "none", "cases": cases})
    case = Case("k", "multi.py", tmp_path, "SpikeAndCount", "multi_original", "SpikeAndCount", 0,
                ("", "", "function"), mapped=["SpikeAndCount"])
    right = compare(case, results["original"]["right"], results["fgi"]["right"])
    assert (right.status, right.checked["outputs"]) == ("equivalent", 2), right.reason
    wrong = compare(case, results["original"]["wrong"], results["fgi"]["wrong"])
    assert wrong.status == "different"
    assert "forward differs (torch.float32 () vs torch.float64 ()): output 1 dtype" in wrong.reason

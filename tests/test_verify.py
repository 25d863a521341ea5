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
    (package / "layers.py").write_text("from snnlib.surrogate import Spike\n\ndef fire(x):\n    return Spike.apply(x, 2.0)\n")
    code, out, err = run("verify", "--compat", "none", "--format", "json", "--dtype", "float64", str(package))
    assert code == 0, err
    assert verdicts(out)["Spike"]["status"] == "equivalent"


def test_inputs_that_cannot_be_inferred_are_skipped_with_the_reason(tmp_path: Path) -> None:
    needs_int = SPIKE.replace("ctx.alpha = alpha", "ctx.alpha = alpha\n        assert isinstance(alpha, int), 'alpha must be an int'")
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

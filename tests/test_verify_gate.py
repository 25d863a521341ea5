"""Never silent: `verify --strict`, the count of rewritten classes not verified, `rewrite --verify`
writing only what verified, and `--device cuda` on a machine without a GPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sources import FAST_SIGMOID_SPIKE

from fgi_rewrite.cli import main

torch = pytest.importorskip("torch")

# The same spike, whose forward refuses the float verify infers for alpha: it cannot be verified.
INT_SPIKE = FAST_SIGMOID_SPIKE.replace("class Spike", "class IntSpike").replace(
    "ctx.alpha = alpha", "ctx.alpha = alpha\n        assert isinstance(alpha, int), 'alpha must be an int'"
).replace("import torch\n", "")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "spikes.py").write_text(FAST_SIGMOID_SPIKE + "\n" + INT_SPIKE)
    return tmp_path


def test_strict_fails_on_a_rewritten_class_that_was_not_verified(project: Path) -> None:
    code, out, err = run("verify", "--compat", "none", "--dtype", "float32", "--format", "json", str(project))
    assert code == 0, err
    assert json.loads(out)["summary"]["not_verified"] == 1
    assert "1 rewritten class not verified (--strict makes this a failure)" in err
    skipped = {f["qualname"]: f for f in json.loads(out)["functions"]}["IntSpike"]
    assert skipped["status"] == "skipped" and "alpha must be an int" in skipped["reason"]

    code, _, err = run("verify", "--compat", "none", "--dtype", "float32", "--strict", str(project))
    assert code == 1, err
    assert "1 rewritten class not verified" in err


def test_rewrite_verify_writes_only_the_classes_verified_equivalent(project: Path) -> None:
    before = (project / "spikes.py").read_text()
    code, _, err = run("rewrite", "--verify", str(project))
    assert code == 0, err
    assert "runs your code" in err
    assert "IntSpike: held-back (FGI001): not verified (skipped)" in err
    after = (project / "spikes.py").read_text()
    assert "def spike(x" in after and "class Spike:" in after  # rewritten, shim kept
    assert INT_SPIKE.strip() in after  # left exactly as it was
    assert after != before


def test_cuda_asked_for_without_a_gpu_is_an_error_for_each_class(project: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: --device cuda runs")
    code, out, _ = run("verify", "--compat", "none", "--dtype", "float32", "--device", "cuda", "--format", "json",
                       str(project))
    assert code == 2
    entries = {f["qualname"]: f for f in json.loads(out)["functions"]}
    assert entries["Spike"]["status"] == "error"
    assert "sees no GPU" in entries["Spike"]["reason"]


def test_verify_scripts_a_wrapper_that_lost_jit_ignore(tmp_path: Path) -> None:
    """The unsafe fix that drops @torch.jit.ignore is checked by scripting the wrapper: one that
    TorchScript compiles verifies, one that it cannot (a parameter annotated as it is not used)
    is different."""
    wrappers = (
        "\n\n@torch.jit.ignore\ndef fire(x: torch.Tensor, alpha: float) -> torch.Tensor:\n"
        "    return Spike.apply(x, alpha)\n"
        "\n\n@torch.jit.ignore\ndef fire_named(x: torch.Tensor, alpha: str) -> torch.Tensor:\n"
        "    return Spike.apply(x, alpha)\n")
    (tmp_path / "good.py").write_text(FAST_SIGMOID_SPIKE + wrappers.split("\n\n@torch.jit.ignore\ndef fire_named")[0])
    (tmp_path / "bad.py").write_text(FAST_SIGMOID_SPIKE + wrappers)
    code, out, err = run("verify", "--unsafe-fixes", "--compat", "none", "--dtype", "float32", "--format", "json",
                         str(tmp_path))
    entries = {f["path"].rsplit("/", 1)[-1]: f for f in json.loads(out)["functions"]}
    assert entries["good.py"]["status"] == "equivalent", entries["good.py"]["reason"]
    assert entries["bad.py"]["status"] == "different" and code == 1, err
    assert "fire_named lost @torch.jit.ignore but TorchScript cannot compile it" in entries["bad.py"]["reason"]


@pytest.mark.parametrize("command", [["verify", "--compat", "none"], ["rewrite", "--verify"],
                                     ["bench", "spike"], ["bench", "alif"]])
def test_commands_that_run_code_say_how_to_get_torch(command: list[str], project: Path, monkeypatch) -> None:
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else find_spec(name, *a))
    code, _, err = run(*command, *([str(project)] if command[0] != "bench" else []))
    assert code == 2 and "needs PyTorch: pip install" in err, err
    assert "Traceback" not in err

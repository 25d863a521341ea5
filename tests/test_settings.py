"""[tool.fgi-rewrite] settings: found by walking up, overridden by flags, typos rejected."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sources import FAST_SIGMOID_SPIKE

from fgi_rewrite.cli import main

SPIKE = FAST_SIGMOID_SPIKE


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def project(tmp_path: Path, settings: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n{settings}")
    source = tmp_path / "src" / "spike.py"
    source.parent.mkdir()
    source.write_text(SPIKE)
    return source


# Rounding can give -0.0, so the style decides the grouping (a boolean spike always gets the
# paper's, which is bit-identical for it).
ROUND_STE = """\
import torch


class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output
"""


def test_style_and_fast_path_from_settings_and_flags_override(tmp_path: Path) -> None:
    source = project(tmp_path, '[tool.fgi-rewrite]\nstyle = "paper"\nfast-path = false\n')
    source.write_text(ROUND_STE)
    code, out, _ = run("rewrite", "--diff", str(source))
    assert code == 1
    assert "+    return inj - inj.detach() + value.detach()" in out
    assert "is_grad_enabled" not in out
    code, out, _ = run("rewrite", "--diff", "--style", "signed-zero", "--fast-path", str(source))
    assert "value.detach() - (inj.detach() - inj)" in out and "is_grad_enabled" in out


def test_exclude_from_settings(tmp_path: Path) -> None:
    project(tmp_path, '[tool.fgi-rewrite]\nexclude = ["spike.py"]\n')
    code, _, err = run("scan", str(tmp_path / "src"))
    assert code == 0 and "0 Function classes" in err


def test_unknown_key_is_an_error_naming_it(tmp_path: Path) -> None:
    source = project(tmp_path, '[tool.fgi-rewrite]\nstlye = "paper"\n')
    code, _, err = run("rewrite", "--check", str(source))
    assert code == 2
    assert "unknown key 'stlye'" in err and "pyproject.toml" in err
    assert source.read_text() == SPIKE


def test_verify_arguments_and_seed_from_settings(tmp_path: Path) -> None:
    import json

    source = project(tmp_path, '[tool.fgi-rewrite.verify]\nseed = 7\ndtypes = ["float32"]\ncompat = "none"\n'
                               'arguments = { "Spike.alpha" = "0.5" }\n')
    code, out, err = run("verify", "--format", "json", str(source))
    assert code == 0, err
    document = json.loads(out)
    assert document["seed"] == 7 and document["dtypes"] == ["float32"]
    assert "alpha=0.5 (given)" in document["functions"][0]["verify"]["arguments"]

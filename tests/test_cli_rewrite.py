"""`fgi-rewrite rewrite` modes and file handling: nothing lost, nothing half-written."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fgi_rewrite.cli import main

SPIKE = """\
import torch

# a comment that must survive
class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (ctx.alpha * x.abs() + 1.0) ** 2, None


def spike(x, alpha=2.0):
    return Spike.apply(x, alpha)   # odd   spacing kept
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_rewrite_in_place_then_second_run_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "spike.py"
    target.write_text(SPIKE)
    code, _, err = run("rewrite", str(target))
    assert code == 0, err
    first = target.read_text()
    assert "def spike_fgi(x: torch.Tensor, alpha: float) -> torch.Tensor:" in first
    assert "apply = staticmethod(spike_fgi)" in first
    assert "return spike_fgi(x, alpha)   # odd   spacing kept" in first
    assert "# a comment that must survive" in first
    code, _, _ = run("rewrite", str(target))
    assert code == 0 and target.read_text() == first
    assert run("rewrite", "--check", str(target))[0] == 0


def test_check_and_diff_write_nothing_and_exit_1(tmp_path: Path) -> None:
    target = tmp_path / "spike.py"
    target.write_text(SPIKE)
    code, out, _ = run("rewrite", "--check", str(target))
    assert (code, out) == (1, "")
    code, out, _ = run("rewrite", "--diff", str(target))
    assert code == 1
    assert out.startswith("--- a/") and "+def spike_fgi(" in out and "-class Spike(torch.autograd.Function):" in out
    assert target.read_text() == SPIKE


def test_out_dir_mirrors_the_tree_and_leaves_originals(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "sub" / "spike.py").write_text(SPIKE)
    code, _, err = run("rewrite", "--out", "out", "pkg")
    assert code == 0, err
    assert "def spike_fgi(" in (tmp_path / "out" / "pkg" / "sub" / "spike.py").read_text()
    assert (tmp_path / "pkg" / "sub" / "spike.py").read_text() == SPIKE


def test_out_copy_keeps_the_source_mode(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tool.py").write_text(SPIKE)
    (tmp_path / "tool.py").chmod(0o750)
    code, _, err = run("rewrite", "--out", "out", "tool.py")
    assert code == 0, err
    assert stat.S_IMODE((tmp_path / "out" / "tool.py").stat().st_mode) == 0o750


@pytest.mark.parametrize("encoding,prefix,newline", [
    ("utf-8", b"", b"\r\n"),
    ("utf-8", b"\xef\xbb\xbf", b"\n"),
    ("latin-1", b"# -*- coding: latin-1 -*-\n# d\xe9riv\xe9e\n", b"\n"),
])
def test_encoding_bom_and_line_endings_survive(tmp_path: Path, encoding: str, prefix: bytes, newline: bytes) -> None:
    body = SPIKE.encode(encoding).replace(b"\n", newline)
    target = tmp_path / "spike.py"
    target.write_bytes(prefix + body)
    assert run("rewrite", str(target))[0] == 0
    data = target.read_bytes()
    assert data.startswith(prefix)
    assert b"def spike_fgi(" in data
    if newline == b"\r\n":
        assert data.count(b"\n") == data.count(b"\r\n")
    else:
        assert b"\r" not in data
    untouched = prefix + b"import torch" + newline + newline + b"# a comment that must survive" + newline
    assert data.startswith(untouched)


def test_mode_is_kept_and_symlink_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    real.write_text(SPIKE)
    os.chmod(real, 0o751)
    link = tmp_path / "link.py"
    link.symlink_to(real)
    assert run("rewrite", str(link))[0] == 0
    assert link.is_symlink()
    assert "def spike_fgi(" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o751


def test_read_only_file_is_refused_and_others_still_rewritten(tmp_path: Path) -> None:
    locked = tmp_path / "a_locked.py"
    locked.write_text(SPIKE)
    os.chmod(locked, 0o444)
    free = tmp_path / "b_free.py"
    free.write_text(SPIKE)
    code, _, err = run("rewrite", str(tmp_path))
    assert code == 2
    assert "a_locked.py" in err and "read-only" in err
    assert locked.read_text() == SPIKE
    assert "def spike_fgi(" in free.read_text()


def test_unparsable_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    broken = tmp_path / "a_broken.py"
    broken.write_text("import torch\nclass X(torch.autograd.Function)\n    pass\n")
    (tmp_path / "b_spike.py").write_text(SPIKE)
    code, _, err = run("rewrite", str(tmp_path))
    assert code == 2 and "a_broken.py" in err
    assert broken.read_text().startswith("import torch\nclass X(")
    assert "def spike_fgi(" in (tmp_path / "b_spike.py").read_text()


def test_refused_classes_stay_byte_identical(tmp_path: Path) -> None:
    refused = SPIKE.replace("return grad_output / (ctx.alpha * x.abs() + 1.0) ** 2, None",
                            "return grad_output.clamp(-1, 1), None")
    target = tmp_path / "refused.py"
    target.write_text(refused)
    code, _, err = run("rewrite", str(target))
    assert code == 0
    assert target.read_text() == refused
    assert "refused (FGI102)" in err


def test_file_changed_since_read_is_not_overwritten(tmp_path: Path) -> None:
    from fgi_rewrite.writer import WriteRefused, write_atomic

    target = tmp_path / "spike.py"
    target.write_text(SPIKE)
    with pytest.raises(WriteRefused, match="changed since it was read"):
        write_atomic(target, b"new", original=b"what we read earlier")
    assert target.read_text() == SPIKE


def test_out_never_writes_outside_the_directory(tmp_path: Path) -> None:
    from fgi_rewrite.writer import WriteRefused, write_copy

    with pytest.raises(WriteRefused):
        write_copy(tmp_path / "out", Path("../escaped.py"), b"x")
    assert not (tmp_path / "escaped.py").exists()


def test_rewritten_module_imports_and_runs(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    target = tmp_path / "spike_mod.py"
    target.write_text(SPIKE)
    assert run("rewrite", str(target))[0] == 0
    probe = ("import sys, torch; sys.path.insert(0, sys.argv[1]); import spike_mod as m\n"
             "x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)\n"
             "y = m.spike(x); y.sum().backward()\n"
             "assert y.tolist() == [0.0, 0.0, 1.0], y\n"
             "assert m.Spike.apply is m.spike_fgi\n"
             "print([round(g, 6) for g in x.grad.tolist()])\n")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([round(1 / 9, 6), 1.0, round(1 / 25, 6)])


PACKAGE = {
    "pkg/__init__.py": "from .autograd import *\n",
    "pkg/autograd.py": SPIKE.replace("def spike(", "def make(").replace("return Spike.apply", "return Spike.apply"),
    "pkg/layers.py": (
        "from .autograd import Spike as S\n"
        "import pkg.autograd as ag\n"
        "import pkg.autograd\n\n"
        "def layer_a(x):\n    return S.apply(x, 2.0)\n\n"
        "def layer_b(x):\n    return ag.Spike.apply(x, 2.0)\n\n"
        "def layer_c(x):\n    return pkg.autograd.Spike.apply(x, 2.0)\n\n"
        "def layer_d(x, cls=S):\n    return cls.apply(x, 2.0)   # class passed as a value\n"
    ),
    "user.py": "from pkg import Spike\nfn = Spike.apply\n\ndef run(x):\n    return fn(x, 2.0)\n",
}


def _namespace_after_star(root: Path) -> list[str]:
    """The names `from pkg.autograd import *` would bind, read without importing (no __all__)."""
    import ast

    tree = ast.parse((root / "pkg/autograd.py").read_text())
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def test_call_sites_across_a_package_call_the_function(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name, text in PACKAGE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    code, _, err = run("rewrite", "pkg", "user.py")
    assert code == 0, err
    layers = (tmp_path / "pkg/layers.py").read_text()
    # pkg/__init__.py star-imports pkg.autograd, which has no __all__: the new function is
    # private there, so the package namespace gains no name (it could shadow another one).
    assert "from .autograd import Spike as S, _spike\n" in layers
    assert "return _spike(x, 2.0)" in layers
    assert "return ag._spike(x, 2.0)" in layers
    assert "return pkg.autograd._spike(x, 2.0)" in layers
    assert "return cls.apply(x, 2.0)" in layers  # unseen call: works through the shim
    assert "spike" not in [n for n in _namespace_after_star(tmp_path) if not n.startswith("_")]
    user = (tmp_path / "user.py").read_text()
    assert user.startswith("from pkg import Spike\nfn = Spike.apply\n")  # pkg re-exports only the shim
    pytest.importorskip("torch")
    probe = ("import sys, torch; sys.path.insert(0, '.')\n"
             "import pkg.layers as L, user\n"
             "x = torch.tensor([-1.0, 0.5])\n"
             "outs = [L.layer_a(x), L.layer_b(x), L.layer_c(x), L.layer_d(x), user.run(x)]\n"
             "assert all(o.tolist() == [0.0, 1.0] for o in outs), outs\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("spelling", ["import pkg.base\n\n\nclass Steeper(pkg.base.FastSigmoid):",
                                      "import pkg.base as pb\n\n\nclass Steeper(pb.FastSigmoid):",
                                      "from pkg import base\n\n\nclass Steeper(base.FastSigmoid):"])
def test_a_base_subclassed_through_a_dotted_import_stays_a_function(tmp_path: Path, monkeypatch,
                                                                     spelling: str) -> None:
    """Rewritten into a plain shim, the base would leave its subclass in another file deriving
    from a class that is no Function any more (`import pkg.base` was not followed)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/__init__.py").write_text("")
    base = ("import torch\n\n\nclass FastSigmoid(torch.autograd.Function):\n"
            "    @staticmethod\n    def forward(ctx, x):\n        ctx.save_for_backward(x)\n"
            "        return (x > 0).float()\n\n"
            "    @staticmethod\n    def backward(ctx, grad_output):\n        (x,) = ctx.saved_tensors\n"
            "        return grad_output / (1 + x.abs()) ** 2\n")
    (tmp_path / "pkg/base.py").write_text(base)
    (tmp_path / "pkg/steep.py").write_text(
        f"{spelling}\n    @staticmethod\n    def backward(ctx, grad_output):\n"
        "        (x,) = ctx.saved_tensors\n        return grad_output / (1 + 5 * x.abs()) ** 2\n")
    code, out, err = run("scan", "--format", "json", "pkg")
    found = {f["qualname"]: f["code"] for f in json.loads(out)["functions"]}
    assert found == {"FastSigmoid": "FGI114", "Steeper": "FGI114"}, (out, err)
    assert run("rewrite", "pkg")[0] == 0
    assert (tmp_path / "pkg/base.py").read_text() == base


def test_imports_left_unused_by_the_rewrite_are_dropped_but_not_others(tmp_path: Path) -> None:
    source = ("import os  # kept: unused before the rewrite too\n"
              "import torch\n"
              "from torch.autograd import Function\n"
              "from torch.autograd.function import once_differentiable\n\n\n"
              "class Spike(Function):\n"
              "    @staticmethod\n    def forward(ctx, x):\n        ctx.save_for_backward(x)\n"
              "        return (x > 0).float()\n\n"
              "    @staticmethod\n    @once_differentiable\n    def backward(ctx, grad_output):\n"
              "        (x,) = ctx.saved_tensors\n        return grad_output * torch.exp(-x * x)\n")
    target = tmp_path / "spike.py"
    target.write_text(source)
    assert run("rewrite", str(target))[0] == 0
    text = target.read_text()
    assert "from torch.autograd import Function" not in text
    assert "once_differentiable" not in text
    assert text.startswith("import os  # kept: unused before the rewrite too\nimport torch\n")


def test_libcst_codemod_entry_point(tmp_path: Path) -> None:
    target = tmp_path / "spike.py"
    target.write_text(SPIKE)
    result = subprocess.run([sys.executable, "-m", "libcst.tool", "codemod", "-x", "--no-format",
                             "fgi_rewrite.codemod.ToFGI", str(target)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "def spike_fgi(x: torch.Tensor, alpha: float) -> torch.Tensor:" in target.read_text()


def test_rewrite_with_jobs_gives_the_same_files(tmp_path: Path) -> None:
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        for path in fixtures.glob("*.py"):
            (folder / path.name).write_bytes(path.read_bytes())
    assert run("rewrite", str(one))[0] == 0
    assert run("rewrite", "--jobs", "2", str(two))[0] == 0
    for path in one.glob("*.py"):
        assert (two / path.name).read_bytes() == path.read_bytes(), path.name


def _outside(root: Path, out: Path) -> dict[str, bytes | str]:
    """Everything under root but not under out: what `--out out` must never change."""
    state: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        if path == out or out in path.parents:
            continue
        state[path.relative_to(root).as_posix()] = (
            "-> " + os.readlink(path) if path.is_symlink() else path.read_bytes() if path.is_file() else "dir")
    return state


def test_out_refuses_a_symlink_inside_it_that_leads_elsewhere(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "spike.py").write_text(SPIKE)
    (tmp_path / "other.py").write_text(SPIKE)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "pkg").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    before = _outside(tmp_path, tmp_path / "out")
    code, _, err = run("rewrite", "--out", "out", "pkg", "other.py")
    assert code == 2
    assert f"error: pkg/spike.py: {tmp_path / 'out' / 'pkg' / 'spike.py'} leads to " \
           f"{tmp_path / 'elsewhere' / 'spike.py'}, outside {tmp_path / 'out'}; not written" in err
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert _outside(tmp_path, tmp_path / "out") == before
    assert "def spike_fgi(" in (tmp_path / "out" / "other.py").read_text()  # the others still written


@pytest.mark.parametrize("spelling", ["dotdot", "absolute"])
def test_out_puts_a_file_from_outside_the_working_directory_under_its_absolute_path(
        tmp_path: Path, monkeypatch, spelling: str) -> None:
    """`rewrite ../other/x.py --out DIR` must not climb out of DIR: a file outside the working
    directory is mirrored at its absolute path below DIR, however it was spelled."""
    (tmp_path / "work" / "sub").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.py").write_text(SPIKE)
    monkeypatch.chdir(tmp_path / "work" / "sub")
    given = "../../other/x.py" if spelling == "dotdot" else str(tmp_path / "other" / "x.py")
    before = _outside(tmp_path, tmp_path / "work" / "sub" / "out")
    code, _, err = run("rewrite", "--out", "out", given)
    assert code == 0, err
    copy = tmp_path / "work" / "sub" / "out" / (tmp_path / "other" / "x.py").relative_to("/")
    assert "def spike_fgi(" in copy.read_text()
    assert _outside(tmp_path, tmp_path / "work" / "sub" / "out") == before


def test_out_absolute_path_inside_the_working_directory_mirrors_the_relative_path(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "spike.py").write_text(SPIKE)
    assert run("rewrite", "--out", "out", str(tmp_path / "pkg"))[0] == 0
    assert "def spike_fgi(" in (tmp_path / "out" / "pkg" / "spike.py").read_text()


def test_out_copies_a_symlinked_file_as_a_file_and_leaves_its_target(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "real.py").write_text(SPIKE)
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "link.py").symlink_to("../outside/real.py")
    before = _outside(tmp_path, tmp_path / "out")
    code, _, err = run("rewrite", "--out", "out", "tree")
    assert code == 0, err
    copy = tmp_path / "out" / "tree" / "link.py"
    assert not copy.is_symlink() and "def spike_fgi(" in copy.read_text()
    assert _outside(tmp_path, tmp_path / "out") == before


def test_call_site_through_a_star_reexport_of_a_package(tmp_path: Path, monkeypatch) -> None:
    """The class lives in a package's __init__.py, re-exported with `from .sub import *`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("from .sub import *\n")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text(SPIKE)
    (tmp_path / "user.py").write_text("from pkg import Spike\n\ndef run(x):\n    return Spike.apply(x, 2.0)\n")
    code, _, err = run("rewrite", "pkg", "user.py")
    assert code == 0, err
    # pkg star-imports pkg.sub (no __all__): the function is private there and does not reach
    # pkg, so user.py keeps calling through the shim, which pkg does re-export.
    assert (tmp_path / "user.py").read_text() == (
        "from pkg import Spike\n\ndef run(x):\n    return Spike.apply(x, 2.0)\n")
    assert "def _spike_fgi(" in (tmp_path / "pkg" / "sub" / "__init__.py").read_text()


def test_a_star_import_spelled_in_a_docstring_is_no_star_import(tmp_path: Path, monkeypatch) -> None:
    """Star imports are read from the syntax tree: text that only mentions one changes nothing."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spikes.py").write_text(SPIKE)
    (tmp_path / "train.py").write_text('"""Usage: from spikes import *"""\nimport spikes\n')
    code, _, err = run("rewrite", "spikes.py", "train.py")
    assert code == 0, err
    text = (tmp_path / "spikes.py").read_text()
    assert "def spike_fgi(" in text and "def _spike" not in text

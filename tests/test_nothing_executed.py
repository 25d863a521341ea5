"""`scan`, `rewrite` and `report --report-only` read code; they never import or execute it.

The tree holds a module whose import writes a marker file (and would need torch). The first
test shows the marker does appear when the module is imported, so its absence after the
commands means something.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fgi_rewrite.cli import main

# Importing this module leaves a marker; it defines a convertible class, so every command
# has something to analyse, rewrite and report.
TRAP = """\
import pathlib

pathlib.Path({marker!r}).write_text("imported")

import torch


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.exp(-x * x)
"""

CALLER = """\
import pathlib

pathlib.Path({marker!r}).write_text("imported")

from trap import Spike


def fire(v):
    return Spike.apply(v)
"""


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "marker"
    folder = tmp_path / "tree"
    folder.mkdir()
    (folder / "trap.py").write_text(TRAP.format(marker=str(marker)))
    (folder / "caller.py").write_text(CALLER.format(marker=str(marker)))
    return folder, marker


def invoke(*args: str) -> int:
    return CliRunner().invoke(main, list(args)).exit_code


def test_the_marker_appears_when_the_module_is_imported(tree: tuple[Path, Path]) -> None:
    folder, marker = tree
    subprocess.run([sys.executable, "-c", "import caller"], check=False, cwd=folder, capture_output=True)
    assert marker.read_text() == "imported"  # even when torch is missing: the marker comes first


def test_scan_executes_nothing(tree: tuple[Path, Path]) -> None:
    folder, marker = tree
    assert invoke("scan", "--format", "json", str(folder)) == 1  # a convertible class was found
    assert not marker.exists()


def test_rewrite_executes_nothing(tree: tuple[Path, Path], tmp_path: Path) -> None:
    folder, marker = tree
    assert invoke("rewrite", "--diff", str(folder)) == 1
    assert invoke("rewrite", "--out", str(tmp_path / "copy"), str(folder)) == 0
    assert invoke("rewrite", str(folder)) == 0
    assert "def spike(" in (folder / "trap.py").read_text()
    assert not marker.exists()


def test_report_only_executes_nothing_and_needs_no_torch(tree: tuple[Path, Path], tmp_path: Path) -> None:
    """In a fresh interpreter where importing torch or matplotlib fails, so that neither can
    be used, and the marker proves that no user module was imported."""
    folder, marker = tree
    out = tmp_path / "out"
    script = (
        "import sys\n"
        "sys.modules['torch'] = None; sys.modules['matplotlib'] = None  # import raises ImportError\n"
        "from fgi_rewrite.cli import main\n"
        f"main(['report', '--report-only', {str(folder)!r}, '-o', {str(out / 'r.html')!r}, "
        f"'-o', {str(out / 'r.md')!r}, '-o', {str(out / 'r.json')!r}])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    assert "def spike(" in (out / "r.json").read_text()
    assert {p.name for p in out.iterdir()} == {"r.html", "r.md", "r.json"}


# A package whose __init__, module top level and class body each leave their own marker.
PACKAGE = {
    "__init__.py": "import pathlib\npathlib.Path({markers!r}, 'init').write_text('ran')\n",
    "layers.py": """\
import pathlib

pathlib.Path({markers!r}, "module").write_text("ran")


class Registry:
    pathlib.Path({markers!r}, "class-body").write_text("ran")


import torch


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.exp(-x * x)
""",
}

# In one fresh interpreter: every reading command, then what it imported.
COMMANDS = """\
import json, sys
from fgi_rewrite.cli import main
codes = []
for args in (["scan", "pkgtrap"], ["rewrite", "--diff", "pkgtrap"], ["rewrite", "--out", "copy", "pkgtrap"],
             ["rewrite", "pkgtrap"]):
    try:
        main(args)
    except SystemExit as done:
        codes.append(done.code)
print(json.dumps({"codes": codes, "imported": sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "pkgtrap"))}))
"""


@pytest.fixture
def package(tmp_path: Path) -> tuple[Path, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    (tmp_path / "pkgtrap").mkdir()
    for name, text in PACKAGE.items():
        (tmp_path / "pkgtrap" / name).write_text(text.format(markers=str(markers)))
    return tmp_path, markers


def test_each_marker_appears_when_the_package_is_imported(package: tuple[Path, Path]) -> None:
    root, markers = package
    blocked = "import sys; sys.modules['torch'] = None\nimport pkgtrap.layers"  # the markers come first
    subprocess.run([sys.executable, "-c", blocked], check=False, cwd=root, capture_output=True)
    assert sorted(p.name for p in markers.iterdir()) == ["class-body", "init", "module"]


def test_scan_and_rewrite_import_neither_the_package_nor_torch(package: tuple[Path, Path]) -> None:
    root, markers = package
    done = subprocess.run([sys.executable, "-c", COMMANDS], check=False, cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    # a finding, a diff, a copy, a rewrite: each command did its work
    assert result["codes"] == [1, 1, 0, 0], done.stderr
    assert "def spike(" in (root / "copy" / "pkgtrap" / "layers.py").read_text()
    assert "def spike(" in (root / "pkgtrap" / "layers.py").read_text()
    assert result["imported"] == []
    assert list(markers.iterdir()) == []

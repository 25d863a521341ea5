"""`scan`, `rewrite` and `report --report-only` read code; they never import or execute it.

The tree is a package whose `__init__`, module top level and class body each write their own
marker file when imported. The first test shows the markers do appear on import, so their
absence after the commands means something.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sources import GAUSSIAN_SPIKE

MARKING_MODULE = """\
import pathlib

pathlib.Path({markers!r}, "module").write_text("ran")


class Registry:
    pathlib.Path({markers!r}, "class-body").write_text("ran")


"""

PACKAGE = {
    "__init__.py": "import pathlib\npathlib.Path({markers!r}, 'init').write_text('ran')\n",
    "layers.py": MARKING_MODULE + GAUSSIAN_SPIKE,  # a convertible class: every command has work
}

# In one fresh interpreter where torch and matplotlib cannot be imported: every reading
# command, then what it imported.
COMMANDS = """\
import json, sys
sys.modules["torch"] = None; sys.modules["matplotlib"] = None  # importing either raises ImportError
from fgi_rewrite.cli import main
codes = []
for args in (["scan", "pkgtrap"], ["report", "--report-only", "pkgtrap", "-o", "out/r.html", "-o", "out/r.md",
             "-o", "out/r.json"], ["rewrite", "--diff", "pkgtrap"], ["rewrite", "--out", "copy", "pkgtrap"],
             ["rewrite", "pkgtrap"]):
    try:
        main(args)
    except SystemExit as done:
        codes.append(done.code)
imported = [m for m, module in sys.modules.items() if module is not None and m.split(".")[0] in ("torch", "pkgtrap")]
print(json.dumps({"codes": codes, "imported": sorted(imported)}))
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


def test_scan_report_and_rewrite_import_neither_the_package_nor_torch(package: tuple[Path, Path]) -> None:
    root, markers = package
    done = subprocess.run([sys.executable, "-c", COMMANDS], check=False, cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    # a finding, a report, a diff, a copy, a rewrite: each command did its work
    assert result["codes"] == [1, 0, 1, 0, 0], done.stderr
    assert {p.name for p in (root / "out").iterdir()} == {"r.html", "r.md", "r.json"}
    assert "def spike(" in (root / "out" / "r.json").read_text()
    assert "def spike(" in (root / "copy" / "pkgtrap" / "layers.py").read_text()
    assert "def spike(" in (root / "pkgtrap" / "layers.py").read_text()
    assert result["imported"] == []
    assert list(markers.iterdir()) == []

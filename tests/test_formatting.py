"""A file formatted with `ruff format` stays formatted after `rewrite`; a file that is not keeps
its own layout outside the lines the rewrite changes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from fgi_rewrite.cli import main
from fgi_rewrite.formatting import ruff_binary

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

pytestmark = pytest.mark.skipif(ruff_binary() is None, reason="ruff is not installed (the [format] extra)")


def _ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ruff_binary()), *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_rewritten_fixtures_stay_formatted(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    for path in FIXTURES.glob("*.py"):
        shutil.copy(path, tmp_path / path.name)
    assert _ruff("format", "--quiet", ".", cwd=tmp_path).returncode == 0
    result = CliRunner().invoke(main, ["rewrite", "--unsafe-fixes", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert "classes rewritten" in result.stderr
    check = _ruff("format", "--check", ".", cwd=tmp_path)
    assert check.returncode == 0, check.stdout
    lint = _ruff("check", "--isolated", "--select", "E4,E7,E9,F", ".", cwd=tmp_path)
    # the emitted code adds no finding: every one left is the fixture's own (an unused import in a decoy)
    assert all("decoy" in line or not line.strip() or line.startswith(("Found", "[*]"))
               for line in lint.stdout.splitlines() if ".py:" in line), lint.stdout


def test_a_file_not_formatted_keeps_its_own_layout(tmp_path: Path) -> None:
    source = (FIXTURES / "fast_sigmoid_legacy.py").read_text()
    unformatted = source.replace("import torch\n", "import torch  ;  x = ( 1 )\n", 1)
    (tmp_path / "spike.py").write_text(unformatted)
    result = CliRunner().invoke(main, ["rewrite", str(tmp_path / "spike.py")])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "spike.py").read_text().startswith('"""') and "import torch  ;  x = ( 1 )\n" in \
        (tmp_path / "spike.py").read_text()

"""The two pre-commit hooks, run for real with `pre-commit try-repo` on a temporary repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sources import GAUSSIAN_SPIKE

ROOT = Path(__file__).resolve().parent.parent
SPIKE = GAUSSIAN_SPIKE

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> dict[str, str]:
    # One pre-commit cache for the module: the hook environment is built once.
    cache = tmp_path_factory.mktemp("pre-commit-cache")
    return dict(os.environ, PRE_COMMIT_HOME=str(cache), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
                GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")


def try_repo(repo: Path, hook: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--all-files"],
                          cwd=repo, capture_output=True, text=True, env=environment, timeout=900)


def make_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "user-repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "spike.py").write_text(SPIKE)
    git(repo, "add", "spike.py")
    return repo


def test_check_hook_fails_on_a_convertible_class(tmp_path: Path, environment: dict[str, str]) -> None:
    repo = make_repo(tmp_path)
    result = try_repo(repo, "fgi-rewrite-check", environment)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FGI001" in result.stdout
    assert (repo / "spike.py").read_text() == SPIKE


def test_fix_hook_rewrites_and_pre_commit_sees_the_change(tmp_path: Path, environment: dict[str, str]) -> None:
    repo = make_repo(tmp_path)
    result = try_repo(repo, "fgi-rewrite-fix", environment)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "files were modified by this hook" in result.stdout
    assert "def spike(x: torch.Tensor) -> torch.Tensor:" in (repo / "spike.py").read_text()
    git(repo, "add", "spike.py")
    again = try_repo(repo, "fgi-rewrite-fix", environment)
    assert again.returncode == 0, again.stdout + again.stderr  # idempotent: nothing left to fix


def test_both_hooks_cover_notebooks() -> None:
    import yaml

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {hook["id"]: hook.get("types_or") for hook in hooks} == {
        "fgi-rewrite-check": ["python", "jupyter"], "fgi-rewrite-fix": ["python", "jupyter"]}


def test_fix_hook_rewrites_a_notebook(tmp_path: Path, environment: dict[str, str]) -> None:
    repo = tmp_path / "user-repo"
    repo.mkdir()
    git(repo, "init", "-q")
    shutil.copy(ROOT / "tests" / "notebooks" / "snn_tutorial.ipynb", repo / "tutorial.ipynb")
    git(repo, "add", "tutorial.ipynb")
    result = try_repo(repo, "fgi-rewrite-fix", environment)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "files were modified by this hook" in result.stdout
    assert "def spike_grad_fgi(" in (repo / "tutorial.ipynb").read_text()

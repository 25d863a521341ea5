"""The two pre-commit hooks, run for real with `pre-commit try-repo` on a temporary repository.

A repository can always satisfy them: the check hook fails exactly when the fix hook would
change a file (safe fixes by default), and a class that stays is accepted with the comment
the README documents."""

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
# Clipped straight-through estimator: convertible, but only by an unsafe (probed) fix.
UNSAFE_ONLY = (ROOT / "fixtures" / "clone_masked_assign.py").read_text()
UNSAFE_CLASS_LINE = "class ClippedSTE(torch.autograd.Function):"

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


def make_repo(tmp_path: Path, source: str = SPIKE, settings: str | None = None) -> Path:
    repo = tmp_path / "user-repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "spike.py").write_text(source)
    if settings is not None:
        (repo / "pyproject.toml").write_text(settings)
    git(repo, "add", ".")
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


def test_check_hook_fails_on_a_safe_class_until_the_fix_hook_has_run(tmp_path: Path,
                                                                     environment: dict[str, str]) -> None:
    repo = make_repo(tmp_path)
    assert try_repo(repo, "fgi-rewrite-check", environment).returncode == 1
    assert try_repo(repo, "fgi-rewrite-fix", environment).returncode == 1  # it rewrote spike.py
    git(repo, "add", "spike.py")
    check = try_repo(repo, "fgi-rewrite-check", environment)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_class_only_an_unsafe_fix_converts_passes_both_hooks_unchanged(tmp_path: Path,
                                                                         environment: dict[str, str]) -> None:
    repo = make_repo(tmp_path, UNSAFE_ONLY)
    for hook in ("fgi-rewrite-check", "fgi-rewrite-fix"):
        result = try_repo(repo, hook, environment)
        assert result.returncode == 0, result.stdout + result.stderr
    assert (repo / "spike.py").read_text() == UNSAFE_ONLY


def test_with_unsafe_fixes_set_an_unsafe_class_fails_until_accepted_by_a_comment(
        tmp_path: Path, environment: dict[str, str]) -> None:
    repo = make_repo(tmp_path, UNSAFE_ONLY, settings="[tool.fgi-rewrite]\nunsafe-fixes = true\n")
    check = try_repo(repo, "fgi-rewrite-check", environment)
    assert check.returncode == 1 and "ClippedSTE: rewritten (FGI002)" in check.stdout, check.stdout
    # The README's way to keep a class as it is: the suppression comment on the class line.
    accepted = UNSAFE_ONLY.replace(UNSAFE_CLASS_LINE, UNSAFE_CLASS_LINE + "  # fgi: ignore[FGI002]")
    assert accepted != UNSAFE_ONLY
    (repo / "spike.py").write_text(accepted)
    git(repo, "add", "spike.py")
    for hook in ("fgi-rewrite-check", "fgi-rewrite-fix"):
        result = try_repo(repo, hook, environment)
        assert result.returncode == 0, result.stdout + result.stderr
    assert (repo / "spike.py").read_text() == accepted

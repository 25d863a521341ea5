from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

try:
    import fgi_rewrite.files  # noqa: F401
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fgi_rewrite.files import DEFAULT_EXCLUDES, Discovery, discover, display_path


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def make(root: Path, *names: str, text: str = "x = 1\n") -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def shown(d: Discovery) -> list[str]:
    return [display_path(p) for p in d.files]


def symlink(link: Path, target: str | Path, directory: bool = False) -> None:
    try:
        link.symlink_to(target, target_is_directory=directory)
    except (OSError, NotImplementedError):
        pytest.skip("symlinks not supported here")


def test_walks_directory_for_py_files_only(tmp_path: Path) -> None:
    make(tmp_path, "pkg/a.py", "pkg/sub/b.py", "pkg/readme.md", "pkg/c.pyi", "pkg/d.pyc", "top.py")
    d = discover(["."])
    assert shown(d) == ["pkg/a.py", "pkg/sub/b.py", "top.py"]
    assert d.skipped == [] and d.errors == []


def test_default_excludes_skipped_silently(tmp_path: Path) -> None:
    for name in DEFAULT_EXCLUDES:
        real = "foo.egg-info" if name == "*.egg-info" else name
        make(tmp_path, f"{real}/inside.py", f"pkg/{real}/nested.py")
    make(tmp_path, "pkg/keep.py", "pkg/builder/keep.py")
    d = discover(["."])
    assert shown(d) == ["pkg/builder/keep.py", "pkg/keep.py"]
    assert d.errors == []


def test_explicit_file_beats_default_exclude(tmp_path: Path) -> None:
    make(tmp_path, "build/gen.py", ".venv/lib/x.py")
    d = discover(["build/gen.py", ".venv/lib/x.py"])
    assert shown(d) == [".venv/lib/x.py", "build/gen.py"]


def test_explicit_file_with_other_suffix_included(tmp_path: Path) -> None:
    make(tmp_path, "script", "stubs.pyi")
    assert shown(discover(["script", "stubs.pyi"])) == ["script", "stubs.pyi"]


def test_explicit_file_loses_to_user_exclude(tmp_path: Path) -> None:
    make(tmp_path, "api_pb2.py", "tests/test_x.py", "keep.py")
    d = discover(["api_pb2.py", "tests/test_x.py", "keep.py"], exclude=["*_pb2.py", "tests/*"])
    assert shown(d) == ["keep.py"]


def test_user_exclude_by_name_glob(tmp_path: Path) -> None:
    make(tmp_path, "proto/api_pb2.py", "proto/api.py", "other_pb2.py")
    assert shown(discover(["."], exclude=["*_pb2.py"])) == ["proto/api.py"]


def test_user_exclude_by_relative_path_glob(tmp_path: Path) -> None:
    make(tmp_path, "tests/test_a.py", "tests/deep/test_b.py", "src/tests_helper.py", "src/m.py")
    assert shown(discover(["."], exclude=["tests/*"])) == ["src/m.py", "src/tests_helper.py"]


def test_user_exclude_directory_name_with_trailing_slash(tmp_path: Path) -> None:
    make(tmp_path, "generated/a.py", "src/generated/b.py", "src/c.py")
    assert shown(discover(["."], exclude=["generated/"])) == ["src/c.py"]


def test_user_exclude_relative_to_walked_root(tmp_path: Path) -> None:
    make(tmp_path, "proj/tests/t.py", "proj/m.py")
    assert shown(discover(["proj"], exclude=["tests/*"])) == ["proj/m.py"]
    # and relative to the working directory, as the user sees the path
    assert shown(discover(["proj"], exclude=["proj/tests/*"])) == ["proj/m.py"]


def test_notebooks_are_found_like_python_files(tmp_path: Path) -> None:
    make(tmp_path, "nb/analysis.ipynb", "nb/a.py", "given.ipynb", "only_books/b.ipynb")
    d = discover([".", "given.ipynb"])
    assert shown(d) == ["given.ipynb", "nb/a.py", "nb/analysis.ipynb", "only_books/b.ipynb"]
    assert d.skipped == [] and d.errors == []
    # A folder holding notebooks only is not "a folder without Python files".
    assert shown(discover(["only_books"])) == ["only_books/b.ipynb"] and discover(["only_books"]).errors == []


def test_excluded_and_gitignored_notebooks_are_left_out(tmp_path: Path) -> None:
    make(tmp_path, ".venv/x.ipynb", "ignored/y.ipynb", "scratch.ipynb", "keep.ipynb", ".gitignore")
    (tmp_path / ".gitignore").write_text("ignored/\nscratch.ipynb\n")
    d = discover(["."])
    assert shown(d) == ["keep.ipynb"] and d.skipped == []
    assert shown(discover(["."], exclude=["keep.ipynb"])) == []


def test_gitignore_at_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    make(tmp_path, "a.py", "gen/b.py", "pkg/c_gen.py", "pkg/d.py")
    (tmp_path / ".gitignore").write_text("# comment\ngen/\n*_gen.py\n")
    assert shown(discover(["."])) == ["a.py", "pkg/d.py"]
    assert shown(discover(["."], use_gitignore=False)) == [
        "a.py",
        "gen/b.py",
        "pkg/c_gen.py",
        "pkg/d.py",
    ]


def test_gitignore_anchored_pattern(tmp_path: Path) -> None:
    make(tmp_path, "top.py", "pkg/top.py")
    (tmp_path / ".gitignore").write_text("/top.py\n")
    assert shown(discover(["."])) == ["pkg/top.py"]


def test_gitignore_nested_applies_to_its_subtree(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    make(tmp_path, "a/local.py", "a/keep.py", "b/local.py", "a/sub/local.py")
    (tmp_path / "a" / ".gitignore").write_text("local.py\n")
    assert shown(discover(["."])) == ["a/keep.py", "b/local.py"]


def test_gitignore_nested_anchored_pattern_is_relative_to_its_folder(tmp_path: Path) -> None:
    make(tmp_path, "a/x.py", "a/sub/x.py", "x.py")
    (tmp_path / "a" / ".gitignore").write_text("/x.py\n")
    assert shown(discover(["."])) == ["a/sub/x.py", "x.py"]


def test_gitignore_negation(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    make(tmp_path, "gen_a.py", "gen_keep.py", "pkg/gen_b.py")
    (tmp_path / ".gitignore").write_text("gen_*.py\n!gen_keep.py\n")
    assert shown(discover(["."])) == ["gen_keep.py"]


def test_gitignore_nested_negation_overrides_parent(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    make(tmp_path, "gen_a.py", "pkg/gen_b.py", "pkg/gen_c.py")
    (tmp_path / ".gitignore").write_text("gen_*.py\n")
    (tmp_path / "pkg" / ".gitignore").write_text("!gen_b.py\n")
    assert shown(discover(["."])) == ["pkg/gen_b.py"]


def test_gitignore_cannot_reinclude_inside_excluded_directory(tmp_path: Path) -> None:
    make(tmp_path, "out/keep.py", "out/drop.py")
    (tmp_path / ".gitignore").write_text("out/\n!out/keep.py\n")
    assert shown(discover(["."])) == []


def test_gitignore_in_parents_up_to_repository_root(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    make(repo, "src/pkg/m.py", "src/pkg/m_gen.py", "src/pkg/vendored/v.py")
    (repo / ".gitignore").write_text("*_gen.py\n")
    (repo / "src" / ".gitignore").write_text("pkg/vendored/\n")
    # above the repository root: must not apply
    (tmp_path / ".gitignore").write_text("m.py\n")
    assert shown(discover(["repo/src/pkg"])) == ["repo/src/pkg/m.py"]


def test_gitignore_above_repository_is_not_read_without_git(tmp_path: Path) -> None:
    make(tmp_path, "proj/m.py")
    (tmp_path / ".gitignore").write_text("m.py\n")
    assert shown(discover(["proj"])) == ["proj/m.py"]


def test_explicit_directory_inside_ignored_directory_is_walked(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    make(tmp_path, "third_party/lib/m.py")
    (tmp_path / ".gitignore").write_text("third_party/\n")
    assert shown(discover(["."])) == []
    assert shown(discover(["third_party/lib"])) == ["third_party/lib/m.py"]


def test_explicit_file_ignored_by_gitignore_is_included(tmp_path: Path) -> None:
    make(tmp_path, "gen/b.py")
    (tmp_path / ".gitignore").write_text("gen/\n")
    assert shown(discover(["gen/b.py"])) == ["gen/b.py"]


def test_order_is_sorted_and_independent_of_argument_order(tmp_path: Path) -> None:
    make(tmp_path, "z.py", "a/b.py", "m/n/o.py", "a/a.py")
    one = discover(["z.py", "m", "a"])
    two = discover(["a", "z.py", "m"])
    assert shown(one) == shown(two) == ["a/a.py", "a/b.py", "m/n/o.py", "z.py"]


def test_duplicates_removed(tmp_path: Path) -> None:
    make(tmp_path, "pkg/a.py", "pkg/b.py")
    d = discover(["pkg", "./pkg", "pkg/a.py", str(tmp_path / "pkg" / "a.py"), "pkg/../pkg"])
    assert shown(d) == ["pkg/a.py", "pkg/b.py"]


def test_overlapping_paths_list_each_directory_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path, "pkg/sub/a.py", "pkg/b.py")
    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        listed.append(os.path.realpath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    d = discover(["pkg/sub", "pkg", "./pkg", str(tmp_path / "pkg" / "sub")])
    assert shown(d) == ["pkg/b.py", "pkg/sub/a.py"]
    assert len(listed) == len(set(listed)) == 2


def test_missing_path_is_fgi901_error_naming_path(tmp_path: Path) -> None:
    make(tmp_path, "a.py")
    d = discover(["a.py", "does/not/exist.py"])
    assert shown(d) == ["a.py"]
    assert len(d.errors) == 1
    err = d.errors[0]
    assert (err.path, err.code, err.line, err.column) == ("does/not/exist.py", "FGI901", None, None)
    assert "does/not/exist.py" in err.message


def test_display_path(tmp_path: Path) -> None:
    make(tmp_path, "pkg/a.py")
    assert display_path(tmp_path / "pkg" / "a.py") == "pkg/a.py"
    assert display_path(Path("pkg/a.py")) == "pkg/a.py"
    assert display_path(tmp_path) == "."
    outside = tmp_path.parent / "elsewhere" / "x.py"
    assert display_path(outside) == outside.as_posix()
    os.chdir(tmp_path / "pkg")
    assert display_path(Path("../pkg/a.py")) == "a.py"


def test_absolute_root_below_cwd_displays_relative(tmp_path: Path) -> None:
    make(tmp_path, "pkg/a.py")
    d = discover([str(tmp_path / "pkg")])
    assert shown(d) == ["pkg/a.py"]
    assert d.files[0].exists()


def test_directory_named_like_python_file_is_walked(tmp_path: Path) -> None:
    make(tmp_path, "weird.py/inner.py", "weird.py/notes.txt")
    assert shown(discover(["."])) == ["weird.py/inner.py"]
    assert shown(discover(["weird.py"])) == ["weird.py/inner.py"]


def test_symlinked_file_included_once(tmp_path: Path) -> None:
    make(tmp_path, "real.py")
    symlink(tmp_path / "alias.py", "real.py")
    d = discover(["."])
    assert shown(d) == ["real.py"]
    # given only the link, the link is the file
    assert shown(discover(["alias.py"])) == ["alias.py"]


def test_symlinked_file_outside_tree_followed(tmp_path: Path) -> None:
    make(tmp_path, "outside/real.py", "tree/a.py")
    symlink(tmp_path / "tree" / "link.py", "../outside/real.py")
    assert shown(discover(["tree"])) == ["tree/a.py", "tree/link.py"]


def test_symlinked_directory_followed_once(tmp_path: Path) -> None:
    make(tmp_path, "tree/real/m.py", "shared/s.py")
    symlink(tmp_path / "tree" / "a_alias", "real", directory=True)
    symlink(tmp_path / "tree" / "ext1", "../shared", directory=True)
    symlink(tmp_path / "tree" / "ext2", "../shared", directory=True)
    d = discover(["tree"])
    # the real directory wins over an alias sorting before it; one of the two links wins
    assert shown(d) == ["tree/ext1/s.py", "tree/real/m.py"]
    assert d.errors == []


def test_symlink_loop_inside_tree_terminates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path, "pkg/sub/m.py")
    symlink(tmp_path / "pkg" / "sub" / "up", "..", directory=True)
    symlink(tmp_path / "pkg" / "self", ".", directory=True)
    symlink(tmp_path / "pkg" / "loop.py", "loop.py")
    symlink(tmp_path / "pkg" / "ping", "pong", directory=True)
    symlink(tmp_path / "pkg" / "pong", "ping", directory=True)
    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        listed.append(os.path.realpath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    d = discover(["pkg"])
    assert shown(d) == ["pkg/sub/m.py"]
    assert d.errors == []
    # every real directory is listed once, however many links lead to it
    assert sorted(listed) == sorted({str((tmp_path / p).resolve()) for p in ("pkg", "pkg/sub")})


def test_given_path_that_is_a_symlink_loop_is_error(tmp_path: Path) -> None:
    symlink(tmp_path / "loop", "loop")
    d = discover(["loop"])
    assert d.files == []
    assert [(e.path, e.code) for e in d.errors] == [("loop", "FGI901")]
    assert "loop" in d.errors[0].message and "symbolic link loop" in d.errors[0].message


def test_broken_symlink_given_is_error_inside_tree_is_ignored(tmp_path: Path) -> None:
    make(tmp_path, "pkg/a.py")
    symlink(tmp_path / "pkg" / "dangling.py", "missing.py")
    d = discover(["pkg"])
    assert shown(d) == ["pkg/a.py"] and d.errors == []
    d = discover(["pkg/dangling.py"])
    assert [(e.path, e.code) for e in d.errors] == [("pkg/dangling.py", "FGI901")]


def test_unreadable_directory_is_error_and_walk_continues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path, "pkg/secret/s.py", "pkg/open/o.py", "pkg/z.py")
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if os.path.basename(os.fspath(path)) == "secret":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    d = discover(["pkg"])
    assert shown(d) == ["pkg/open/o.py", "pkg/z.py"]
    assert [(e.path, e.code, e.line) for e in d.errors] == [("pkg/secret", "FGI901", None)]
    assert "pkg/secret" in d.errors[0].message and "permission denied" in d.errors[0].message


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any directory"
)
def test_unreadable_directory_real_permissions(tmp_path: Path) -> None:
    make(tmp_path, "pkg/secret/s.py", "pkg/o.py")
    (tmp_path / "pkg" / "secret").chmod(0)
    try:
        d = discover(["pkg"])
    finally:
        (tmp_path / "pkg" / "secret").chmod(0o755)
    assert shown(d) == ["pkg/o.py"]
    assert [e.path for e in d.errors] == ["pkg/secret"]


def test_directory_vanishing_during_walk_is_not_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path, "pkg/gone/g.py", "pkg/a.py")
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if os.path.basename(os.fspath(path)) == "gone":
            raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    d = discover(["pkg"])
    assert shown(d) == ["pkg/a.py"] and d.errors == []


def test_file_vanishing_after_listing_is_not_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path, "pkg/a.py", "pkg/gone.py")
    real_scandir = os.scandir

    class Listing:
        def __init__(self, path: str) -> None:
            self.entries = list(real_scandir(path))
            gone = Path(path) / "gone.py"
            if gone.exists():
                gone.unlink()

        def __enter__(self) -> Listing:
            return self

        def __exit__(self, *args: object) -> None:
            pass

        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter(self.entries)

    monkeypatch.setattr(os, "scandir", Listing)
    d = discover(["pkg"])
    assert d.errors == []
    assert "pkg/a.py" in shown(d)


def test_module_does_not_import_heavy_dependencies() -> None:
    # Checked on the source: the package __init__ may legitimately import more.
    import ast

    import fgi_rewrite.files as files

    tree = ast.parse(Path(files.__file__).read_text())
    imported = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    imported |= {
        (n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
    }
    assert not imported & {"torch", "libcst"}


def test_a_file_that_is_not_python_is_an_error(tmp_path: Path) -> None:
    make(tmp_path, "notes.txt", "spike.py")
    d = discover(["notes.txt", "spike.py"])
    assert shown(d) == ["spike.py"]
    assert [e.message for e in d.errors] == [
        "notes.txt: not a Python file (fgi-rewrite reads .py files, .ipynb notebooks, and scripts without "
        "a suffix)"]


def test_a_folder_without_python_files_is_an_error(tmp_path: Path) -> None:
    make(tmp_path, "docs/readme.md", "proto/api_pb2.py", "src/spike.py")
    d = discover(["docs", "proto", "src"], exclude=["*_pb2.py"])  # proto/'s file is excluded on purpose
    assert shown(d) == ["src/spike.py"]
    assert [e.message for e in d.errors] == ["docs: no Python files found"]


def test_scan_of_nothing_to_read_exits_2_with_the_reason(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fgi_rewrite.cli import main

    make(tmp_path, "notes.txt", "empty/readme.md")
    for target, message in (("notes.txt", "not a Python file"), ("empty", "no Python files found")):
        result = CliRunner().invoke(main, ["scan", target])
        assert result.exit_code == 2 and message in result.stderr, result.stderr

"""`rewrite` killed (SIGKILL) while it writes: every file is either its old or its new content,
never truncated, and a second run finishes the job.

The real command runs in a subprocess whose `os.fsync` / `os.replace` are wrapped (no hook in
the tool itself): at a chosen call it writes a marker file and sleeps, and the test kills it
there; or it only marks the start of the writes and the test kills it after a seeded random
delay. A SIGKILL can leave the temporary file of the write in progress behind
(`.<name>.<random>.fgi-tmp`); it is not a `.py` file, so no later run reads it.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sources import FAST_SIGMOID_SPIKE, GAUSSIAN_SPIKE

from fgi_rewrite.cli import main
from fgi_rewrite.files import discover
from fgi_rewrite.writer import TEMPORARY_SUFFIX

# Runs `fgi-rewrite rewrite TREE` with a pause (or a mark) at the k-th call of fsync/replace.
# argv: tree, marker, point ("before-fsync", "before-rename", "after-rename" or "mark-start"), k
DRIVER = """
import os, sys, time
from pathlib import Path

tree, marker, point, k = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
calls = {"fsync": 0, "replace": 0}
real_fsync, real_replace = os.fsync, os.replace


def pause():
    marker.write_text(point)
    time.sleep(3600)  # until killed


def fsync(fd):
    calls["fsync"] += 1
    if point == "mark-start" and calls["fsync"] == 1:
        marker.write_text(str(time.perf_counter()))
    if point == "before-fsync" and calls["fsync"] == k:
        pause()
    real_fsync(fd)


def replace(source, target):
    calls["replace"] += 1
    if point == "before-rename" and calls["replace"] == k:
        pause()
    real_replace(source, target)
    if point == "after-rename" and calls["replace"] == k:
        pause()


os.fsync, os.replace = fsync, replace
from fgi_rewrite.cli import main

try:
    main(["rewrite", tree])
finally:
    # how long the writes took, for the random kills to aim at
    if point == "mark-start" and marker.exists():
        print(time.perf_counter() - float(marker.read_text()))
"""

SOURCES = [GAUSSIAN_SPIKE, FAST_SIGMOID_SPIKE]


def make_tree(root: Path, count: int) -> dict[str, bytes]:
    root.mkdir()
    files = {}
    for i in range(count):
        # the file names sort in the order they are written
        name = f"m{i:02d}.py"
        files[name] = SOURCES[i % 2].replace("class Spike", f"# module {i}\nclass Spike").encode()
        (root / name).write_bytes(files[name])
    return files


def rewritten_copy(tree: Path, copy: Path) -> dict[str, bytes]:
    shutil.copytree(tree, copy)
    result = CliRunner().invoke(main, ["rewrite", str(copy)])
    assert result.exit_code == 0, result.stderr
    return {p.name: p.read_bytes() for p in copy.glob("*.py")}


def start(tree: Path, marker: Path, point: str, k: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(tree), str(marker), point, str(k)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(marker: Path, process: subprocess.Popen[str]) -> None:
    while not marker.exists():
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before the marker:\n{process.stderr.read()}")
        time.sleep(0.005)


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate()


def assert_each_file_old_or_new(tree: Path, old: dict[str, bytes], new: dict[str, bytes]) -> list[str]:
    """Returns the names of the files already new."""
    sources = sorted(p.name for p in tree.iterdir() if p.name.endswith(".py"))
    assert sources == sorted(old)  # no stray .py file, none lost
    leftovers = [p.name for p in tree.iterdir() if p.name not in old]
    for name in leftovers:  # only a write in progress may leave its temporary file
        assert name.startswith(".") and name.endswith(TEMPORARY_SUFFIX) and name[1:].split(".py.")[0] + ".py" in old
    assert [p.name for p in discover([str(tree)]).files] == sorted(old)  # never read by a later run
    done = []
    for name in sorted(old):
        data = (tree / name).read_bytes()
        assert data in (old[name], new[name]), f"{name} is neither old nor new"
        if data == new[name]:
            done.append(name)
    return done


def assert_second_run_finishes(tree: Path, new: dict[str, bytes]) -> None:
    result = CliRunner().invoke(main, ["rewrite", str(tree)])
    assert result.exit_code == 0, result.stderr
    assert {name: (tree / name).read_bytes() for name in new} == new


@pytest.mark.parametrize("point,k,new_files", [
    ("before-fsync", 1, 0),  # the first temporary file written, not yet on disk
    ("before-fsync", 3, 2),
    ("before-rename", 1, 0),  # on disk, not yet renamed over the file
    ("before-rename", 3, 2),
    ("after-rename", 1, 1),  # the first file replaced, the second not started
])
def test_killed_at_a_pause_point_inside_the_write(tmp_path: Path, point: str, k: int, new_files: int) -> None:
    tree = tmp_path / "tree"
    old = make_tree(tree, 4)
    new = rewritten_copy(tree, tmp_path / "expected")
    assert all(new[name] != old[name] for name in old)
    marker = tmp_path / "paused"
    process = start(tree, marker, point, k)
    try:
        wait_for(marker, process)
    finally:
        kill(process)
    done = assert_each_file_old_or_new(tree, old, new)
    assert done == sorted(old)[:new_files]  # written in order, one at a time
    leftovers = [p.name for p in tree.iterdir() if p.name.endswith(TEMPORARY_SUFFIX)]
    assert len(leftovers) == (0 if point == "after-rename" else 1)
    assert_second_run_finishes(tree, new)


def test_killed_at_random_moments_of_the_writes(tmp_path: Path) -> None:
    template = tmp_path / "template"
    old = make_tree(template, 30)
    # A full run on a copy gives the new contents and how long the writes take.
    calibration = tmp_path / "calibration"
    shutil.copytree(template, calibration)
    process = start(calibration, tmp_path / "calibration-mark", "mark-start")
    stdout, stderr = process.communicate()
    assert process.returncode == 0, stderr
    window = float(stdout.strip().splitlines()[-1])
    new = {p.name: p.read_bytes() for p in calibration.glob("*.py")}
    rng = random.Random(20240607)
    for attempt in range(5):
        tree = tmp_path / f"run{attempt}"
        shutil.copytree(template, tree)
        marker = tmp_path / f"run{attempt}-mark"
        process = start(tree, marker, "mark-start")
        try:
            wait_for(marker, process)
            time.sleep(rng.uniform(0, window))
        finally:
            kill(process)
        assert_each_file_old_or_new(tree, old, new)
        assert_second_run_finishes(tree, new)

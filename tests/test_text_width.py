"""Text output follows the terminal's width (COLUMNS): a location is never broken, text is
wrapped between words, and piped output without COLUMNS keeps one line per entry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sources import GAUSSIAN_SPIKE

from fgi_rewrite.cli import main
from fgi_rewrite.terminal import wrap

ROOT = Path(__file__).resolve().parent.parent
LOCATION = re.compile(r"^(\S+:\d+:\d+):")


@pytest.fixture(scope="module")
def fixture_findings() -> list[dict]:
    result = CliRunner().invoke(main, ["scan", "--format", "json", "fixtures"], env={"COLUMNS": None})
    return json.loads(result.stdout)["functions"]


def entries(text: str) -> list[list[str]]:
    """The output's entries: a line starting at column 0 and its indented continuation lines."""
    found: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith(" "):
            found[-1].append(line)
        else:
            found.append([line])
    return found


@pytest.mark.parametrize("columns", [80, 200])
def test_scan_fits_the_width_and_keeps_each_location_whole(columns: int, fixture_findings: list[dict],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["scan", "fixtures"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 1, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    shown = entries(result.stdout)
    assert len(shown) == len(fixture_findings)
    for entry, finding in zip(shown, fixture_findings, strict=True):
        cell = [f"cell_{finding['cell']}"] if "cell" in finding else []  # a notebook's
        location = ":".join([finding["path"], *cell, str(finding["line"]), str(finding["column"])])
        assert LOCATION.match(entry[0]).group(1) == location  # type: ignore[union-attr]
        # Wrapped between words: joining the lines gives back every word of the reason whole.
        words = " ".join(line.strip() for line in entry).split()
        assert " ".join(words).endswith(" ".join(finding["reason"].split())), entry
    assert any(len(entry) > 1 for entry in shown)  # some reason was long enough to wrap at 80 and 200


def test_piped_scan_without_columns_prints_one_line_per_finding(fixture_findings: list[dict],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["scan", "fixtures"], env={"COLUMNS": None})
    lines = result.stdout.splitlines()
    assert len(lines) == len(fixture_findings)
    assert max(len(line) for line in lines) > 200  # not wrapped to any default width
    assert not any(line.startswith(" ") for line in lines)


def test_wrap_never_breaks_the_head_or_a_word() -> None:
    head = "a/very/long/path/to/a/module_with_a_long_name.py:120:7:"
    lines = wrap(head, "FGI108 refused Spike: backward raises RuntimeError('x'*supercalifragilistic) now", 30)
    assert lines[0] == head  # longer than the width, alone and whole
    assert lines[1:] == ["    FGI108 refused Spike:", "    backward raises",
                         "    RuntimeError('x'*supercalifragilistic)", "    now"]
    assert wrap(head, "one  two\nthree", None) == [f"{head} one two three"]


def test_rewrite_lines_follow_the_width(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = "a_module_whose_name_is_long_enough_to_need_wrapping_at_forty.py"
    Path(name).write_text(GAUSSIAN_SPIKE)
    result = CliRunner().invoke(main, ["rewrite", "--diff", name], env={"COLUMNS": "40"})
    message = [line for line in result.stderr.splitlines() if "would rewrite" not in line]
    assert message[0] == f"{name}:" and all(len(line) <= 40 for line in message[1:]), result.stderr
    assert " ".join(" ".join(message).split()) == f"{name}: Spike: rewritten (FGI001): now spike()"

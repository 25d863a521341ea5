"""Each code's documentation in fgi_rewrite/codes.py, checked against the tool as Fixit runs its
rules' examples: an example scans to its code and to no other, the documented fix is what
rewrite writes for it and verifies equivalent, the documented suppression comment silences it,
a "use instead" form converts, and the README's code table is the generated one.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fgi_rewrite.cli import main
from fgi_rewrite.codes import CODES, SUPPRESSION, TABLE_END, TABLE_START, markdown_table, render_markdown, render_text
from fgi_rewrite.rewrite import RewriteOptions, rewrite_module
from fgi_rewrite.scan import scan_source

README = Path(__file__).resolve().parent.parent / "README.md"

# Codes documented without an example, and why. Asserted both ways, so a new code cannot go
# without one unnoticed and one that gets an example leaves this list.
WITHOUT_EXAMPLE = {
    "FGI903": "an internal error is a bug of fgi-rewrite; every known trigger was fixed with a test",
}

WITH_EXAMPLE = [c for c, entry in CODES.items() if entry.example is not None]
CLASS_EXAMPLES = [c for c in WITH_EXAMPLE if CODES[c].status != "error"]
FILE_EXAMPLES = [c for c in WITH_EXAMPLE if CODES[c].status == "error"]
CONVERTIBLE = [c for c in WITH_EXAMPLE if CODES[c].status == "convertible"]
USE_INSTEAD = [c for c, entry in CODES.items() if entry.use_instead is not None]


def _class_line(source: str) -> str:
    (line,) = [line for line in source.splitlines() if line.startswith("class ")]
    return line


def test_only_the_listed_codes_have_no_example() -> None:
    assert {c for c, entry in CODES.items() if entry.example is None} == set(WITHOUT_EXAMPLE)
    assert all(CODES[c].no_example for c in WITHOUT_EXAMPLE)


@pytest.mark.parametrize("code", list(CODES))
def test_every_code_documents_meaning_why_and_what_to_do(code: str) -> None:
    entry = CODES[code]
    assert entry.meaning and entry.why
    if entry.status == "convertible":
        assert entry.fix_safety and entry.example_fix and entry.example_safety in ("safe", "unsafe")
        assert not entry.way_out
    else:
        assert entry.way_out and not entry.fix_safety and entry.example_fix is None
    assert (entry.message is not None) == (entry.status == "error" and entry.example is not None)


@pytest.mark.parametrize("code", CLASS_EXAMPLES)
def test_example_scans_to_its_code_and_no_other(code: str) -> None:
    entry = CODES[code]
    reports, errors = scan_source(entry.example.encode(), f"{code}.py")
    assert errors == []
    assert [(r.status, r.code) for r in reports] == [(entry.status, code)], [r.reason for r in reports]
    if entry.status == "convertible":
        assert reports[0].fix == entry.example_safety


@pytest.mark.parametrize("code", FILE_EXAMPLES)
def test_file_example_gives_the_documented_error(code: str) -> None:
    entry = CODES[code]
    reports, errors = scan_source(entry.example.encode("utf-8"), f"{code}.py")
    assert reports == []
    assert [(e.code, e.message) for e in errors] == [(code, entry.message)]


@pytest.mark.parametrize("code", CONVERTIBLE)
def test_documented_fix_is_what_rewrite_writes(code: str) -> None:
    entry = CODES[code]
    unsafe = entry.example_safety == "unsafe"
    written = rewrite_module(entry.example.encode(), RewriteOptions(unsafe_fixes=unsafe)).source.decode()
    assert written == entry.example_fix, f"rewrite now writes something else: update {code}'s example_fix in " \
                                         "fgi_rewrite/codes.py (after reviewing the change)"
    if unsafe:  # documented as needing --unsafe-fixes: without it the class is held back
        assert rewrite_module(entry.example.encode()).source == entry.example.encode()


@pytest.mark.parametrize("code", CLASS_EXAMPLES)
def test_documented_suppression_silences_the_example(code: str) -> None:
    entry = CODES[code]
    line = _class_line(entry.example)
    commented = f"{line}  {SUPPRESSION.format(code=code)}"
    assert commented in render_text(entry) and commented in render_markdown(entry)
    source = entry.example.replace(line, commented).encode()
    reports, _ = scan_source(source, f"{code}.py")
    assert [(r.status, r.code) for r in reports] == [("ignored", code)]
    assert rewrite_module(source, RewriteOptions(unsafe_fixes=True)).source == source


@pytest.mark.parametrize("code", USE_INSTEAD)
def test_use_instead_converts(code: str) -> None:
    reports, errors = scan_source(CODES[code].use_instead.encode(), f"{code}.py")
    assert errors == []
    assert [r.status for r in reports] == ["convertible"], [r.reason for r in reports]


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="verify runs the examples: needs torch")
def test_documented_fixes_verify_equivalent(tmp_path: Path) -> None:
    """The documented text itself (not a fresh rewrite) against the example, as a hand migration."""
    from fgi_rewrite.verify.plan import VerifyOptions, verify

    original, migrated = tmp_path / "original", tmp_path / "migrated"
    original.mkdir()
    migrated.mkdir()
    files = []
    for code in CONVERTIBLE:
        name = f"{code.lower()}_example.py"
        (original / name).write_text(CODES[code].example)
        (migrated / name).write_text(CODES[code].example_fix)
        files.append((original / name, name))
    options = VerifyOptions(unsafe_fixes=True, compat="none", dtypes=("float64", "float32"), repeats=1,
                            against=migrated)
    verdicts, errors = verify(files, options)
    assert errors == []
    statuses = {Path(v.path).name.split("_")[0].upper(): (v.status, v.reason) for v in verdicts}
    assert statuses == {code: ("equivalent", statuses[code][1]) for code in CONVERTIBLE}


def test_readme_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    assert TABLE_START in text and TABLE_END in text, "README lost the codes table's markers"
    table = text[text.index(TABLE_START) + len(TABLE_START):text.index(TABLE_END)].strip("\n") + "\n"
    assert table == markdown_table(), \
        "README's code table differs from fgi_rewrite/codes.py: run `python -m fgi_rewrite.codes --markdown README.md`"


def test_regenerating_the_table_replaces_only_the_table(tmp_path: Path) -> None:
    from fgi_rewrite.codes import main as codes_main

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{TABLE_START}\n| stale |\n{TABLE_END}\noutro\n", encoding="utf-8")
    assert codes_main(["--markdown", str(readme)]) == 0
    assert readme.read_text(encoding="utf-8") == f"intro\n{TABLE_START}\n\n{markdown_table()}\n{TABLE_END}\noutro\n"
    (tmp_path / "plain.md").write_text("no markers\n")
    assert codes_main(["--markdown", str(tmp_path / "plain.md")]) == 2


def test_explain_prints_every_part_plainly_when_piped() -> None:
    entry = CODES["FGI003"]
    result = CliRunner().invoke(main, ["explain", "value-replacement"])
    assert result.exit_code == 0
    assert result.stdout == render_text(entry)
    assert "\x1b[" not in result.stdout  # no colour codes in a pipe
    for part in ("What it means:", "Why it is convertible:", "Fix safety:", "Suppression:", "Example:", "Fix:"):
        assert part in result.stdout
    assert "    class ReplaceGrad:  # fgi-rewrite: compatibility shim" in result.stdout  # the fix, as code


def test_explain_refused_and_error_codes_say_how_to_get_out() -> None:
    refused = CliRunner().invoke(main, ["explain", "fgi105"]).stdout
    assert "Why it is refused:" in refused and "How to get out:" in refused and "Use instead:" in refused
    error = CliRunner().invoke(main, ["explain", "FGI902"]).stdout
    assert "How to fix it:" in error and "FGI902 syntax error: expected ':'" in error
    assert "Suppression:" not in error  # a file error has no class line to comment


def test_explain_unknown_code_exits_2_with_a_message() -> None:
    result = CliRunner().invoke(main, ["explain", "FGI999"])
    assert result.exit_code == 2
    assert result.stdout == "" and "unknown code 'FGI999'" in result.stderr


def test_explain_without_a_code_lists_every_code() -> None:
    out = CliRunner().invoke(main, ["explain"]).stdout
    assert [line.split()[0] for line in out.splitlines()] == list(CODES)


def test_sarif_rules_carry_the_documentation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spike.py").write_text(CODES["FGI001"].example)
    result = CliRunner().invoke(main, ["scan", "--format", "sarif", "spike.py"])
    rules = {r["id"]: r for r in json.loads(result.stdout)["runs"][0]["tool"]["driver"]["rules"]}
    for code, entry in CODES.items():
        rule = rules[code]
        assert rule["shortDescription"] == {"text": entry.summary}
        assert entry.why[1:] in rule["fullDescription"]["text"] and entry.meaning[1:] in rule["fullDescription"]["text"]
        assert rule["help"] == {"text": render_text(entry), "markdown": render_markdown(entry)}
    assert "```python\n" + CODES["FGI001"].example_fix.rstrip("\n") + "\n```" in rules["FGI001"]["help"]["markdown"]

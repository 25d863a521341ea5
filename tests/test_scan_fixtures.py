"""Every shipped fixture against its expected scan result, written by hand in expected_scan.toml."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from fgi_rewrite.scan import scan_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXPECTED = tomllib.loads((FIXTURES / "expected_scan.toml").read_text())
ENTRIES = EXPECTED.get("function", [])
DECOYS = EXPECTED.get("decoy", [])


def _scan(file: str) -> dict[str, object]:
    reports, errors = scan_source((FIXTURES / file).read_bytes(), file)
    assert errors == []
    return {r.qualname: r for r in reports}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e['file']}::{e['qualname']}")
def test_fixture_matches_expected_scan(entry: dict) -> None:
    report = _scan(entry["file"]).get(entry["qualname"])
    assert report is not None, f"{entry['qualname']} not found in {entry['file']}"
    assert (report.status, report.code) == (entry["status"], entry["code"]), report.reason
    if "fix" in entry:
        assert report.fix == entry["fix"], report.notes
    if "inputs" in entry and report.status == "convertible":
        got = [{"name": i.name, "role": i.role, **({"gradient": i.gradient} if i.gradient else {})}
               for i in report.inputs]
        assert got == entry["inputs"]


@pytest.mark.parametrize("file", sorted({e["file"] for e in ENTRIES} | {d["file"] for d in DECOYS}))
def test_fixture_reports_nothing_unexpected(file: str) -> None:
    expected = {e["qualname"] for e in ENTRIES if e["file"] == file}
    assert set(_scan(file)) == expected


def test_every_fixture_has_an_expectation() -> None:
    covered = {e["file"] for e in ENTRIES} | {d["file"] for d in DECOYS}
    assert covered == {p.name for p in FIXTURES.glob("*.py")}
    assert len(covered) >= 30

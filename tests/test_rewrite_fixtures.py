"""Each convertible fixture against its expected rewrite, reviewed by hand, in expected_rewrite/.

A fixture without an expected file must stay unchanged under safe fixes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fgi_rewrite.rewrite import rewrite_module

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXPECTED = FIXTURES / "expected_rewrite"


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.py")))
def test_rewrite_matches_the_reviewed_expectation(fixture: str) -> None:
    source = (FIXTURES / fixture).read_bytes()
    expected = EXPECTED / f"{fixture}.expected"
    result = rewrite_module(source).source
    if expected.exists():
        assert result.decode() == expected.read_text(encoding="utf-8")
    else:
        assert result == source


@pytest.mark.parametrize("expected", sorted(p.name for p in EXPECTED.glob("*.expected")))
def test_expected_rewrite_is_already_final(expected: str) -> None:
    """Idempotence: rewriting the expected output changes nothing."""
    data = (EXPECTED / expected).read_bytes()
    assert rewrite_module(data).source == data

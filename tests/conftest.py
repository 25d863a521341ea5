"""Hypothesis profiles, chosen with HYPOTHESIS_PROFILE (default "ci").

- ci: 300 examples, derandomized, so a CI run is reproducible and a failure shows again on
  a developer's machine with the same command;
- dev: 2000 random examples for local runs that look for new failures
  (`HYPOTHESIS_PROFILE=dev pytest tests/test_fuzz_equivalence.py --hypothesis-show-statistics`).
No deadline: examples import nothing but run torch, whose first calls are slow.
"""

from __future__ import annotations

import os

from hypothesis import settings

# Text output wraps at COLUMNS when it is set (fgi_rewrite/terminal.py); tests that read whole
# lines want them unwrapped, and tests of wrapping set it themselves.
os.environ.pop("COLUMNS", None)

settings.register_profile("ci", max_examples=300, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

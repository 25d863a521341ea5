"""`rewrite --verify`: which classes rewrite may write, as verify decides (runs user code).

A class is written only when verify found it equivalent. Holding a class back changes the file
that was verified (its shim, call sites and imports are no longer written), so a file in which
a class was held back is verified again with the holds in place; a file that still has a class
that is not equivalent is left unchanged entirely. The result is the `hold` of each file, for
RewriteOptions.hold.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fgi_rewrite.verify.compare import Verdict
from fgi_rewrite.verify.plan import VerifyOptions, verify

Holds = dict[Path, tuple[tuple[str, str], ...]]


def _unverified(verdicts: list[Verdict], files: list[tuple[Path, str]]) -> dict[Path, dict[str, str]]:
    """Rewritten classes verify did not find equivalent, by resolved file, with why."""
    by_shown = {shown: file.resolve() for file, shown in files}
    found: dict[Path, dict[str, str]] = {}
    for verdict in verdicts:
        if verdict.rewritten and verdict.status != "equivalent":
            reason = f"not verified ({verdict.status}): {verdict.reason}"
            found.setdefault(by_shown[verdict.path], {})[verdict.qualname] = reason
    return found


def verified_holds(files: list[tuple[Path, str]], options: VerifyOptions) -> tuple[Holds, list[Verdict]]:
    """The classes to hold back in each file, and the verdicts of the first round (what verify found)."""
    first, _ = verify(files, options)
    failing = _unverified(first, files)
    if not failing:
        return {}, first
    holds: Holds = {file: tuple(reasons.items()) for file, reasons in failing.items()}
    again = [f for f in files if f[0].resolve() in holds]
    second, _ = verify(again, replace(options, hold=holds, context_files=tuple(f for f, _ in files)))
    for file in _unverified(second, files):
        # Still not equivalent with the holds in place: keep the whole file as it is.
        rewritten = [v.qualname for v in first if v.rewritten and _resolved(v, files) == file]
        kept = dict(holds[file])
        holds[file] = tuple((name, kept.get(name, "not verified: another class of its file is not equivalent"))
                            for name in rewritten)
    return holds, first


def _resolved(verdict: Verdict, files: list[tuple[Path, str]]) -> Path | None:
    return next((file.resolve() for file, shown in files if shown == verdict.path), None)

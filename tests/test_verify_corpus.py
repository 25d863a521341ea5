"""`verify` has no holes: every wrong rewrite of tests/verify_corpus is `different` or `error`.

The corpus (see tests/verify_corpus/README.md) holds, per failure class of the soundness issue,
original modules and a wrong migration of them, hand-made or written by the emitter of commit
548d867. All cases run in ONE verify invocation (each costs two processes that import torch):
every case's `orig/` modules are copied into one flat project, its `migrated/` modules into a
twin of it, and all --map/--arg/--dtype entries are passed together; module and class names are
unique across the corpus so that nothing collides. A second invocation runs the correct
migrations (`correct/`), which must be `equivalent`, so that these tests can fail both ways.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import tomllib
from click.testing import CliRunner

from fgi_rewrite.cli import main

pytest.importorskip("torch")

CORPUS = Path(__file__).parent / "verify_corpus"
FAILURE_CLASSES = {
    "shape change", "dropped gradient", "leaked gradient", "dtype change", "missing class member",
    "star-import shadowing", "RNG order", "name capture", "wrong broadcast reduction",
}
SOURCES = {"hand", "emitter@548d867"}
CAUGHT = {"different", "error"}
KEYS = {"class", "source", "from", "what", "classes", "expect", "map", "correct_map", "args", "dtypes"}


@dataclass
class CorpusCase:
    name: str
    folder: Path
    failure_class: str
    source: str
    classes: list[str]
    expect: set[str] = field(default_factory=lambda: set(CAUGHT))
    mapping: list[str] = field(default_factory=list)
    correct_mapping: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=lambda: ["float32"])
    keys: set[str] = field(default_factory=set)

    def modules(self, side: str) -> list[Path]:
        return sorted((self.folder / side).glob("*.py"))

    @property
    def has_correct(self) -> bool:
        return (self.folder / "correct").is_dir()


def _load(folder: Path) -> CorpusCase:
    meta = tomllib.loads((folder / "case.toml").read_text(encoding="utf-8"))
    return CorpusCase(folder.name, folder, meta.get("class", ""), meta.get("source", ""), meta.get("classes", []),
                      set(meta.get("expect", CAUGHT)), meta.get("map", []), meta.get("correct_map", []),
                      meta.get("args", []), meta.get("dtypes", ["float32"]), set(meta))


CASES = [_load(folder) for folder in sorted(CORPUS.iterdir()) if (folder / "case.toml").exists()]
CORRECT = [case for case in CASES if case.has_correct]


def _verify(tmp: Path, cases: list[CorpusCase], twin_side: str) -> dict[str, dict]:
    """One verify run over `cases`: orig/ into one project, `twin_side`/ into its twin.
    Returns verify's JSON entry per class qualname, plus the whole document under ""."""
    original, twin = tmp / "project", tmp / "twin"
    original.mkdir()
    twin.mkdir()
    options: list[str] = []
    dtypes: set[str] = set()
    for case in cases:
        for module in case.modules("orig"):
            shutil.copy2(module, original / module.name)
        for module in case.modules(twin_side):
            shutil.copy2(module, twin / module.name)
        for entry in case.correct_mapping if twin_side == "correct" else case.mapping:
            options += ["--map", entry]
        for entry in case.arguments:
            options += ["--arg", entry]
        dtypes.update(case.dtypes)
    for dtype in sorted(dtypes):
        options += ["--dtype", dtype]
    result = CliRunner().invoke(main, ["verify", "--compat", "none", "--format", "json", "--against", str(twin),
                                       *options, str(original)])
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"verify gave no JSON (exit {result.exit_code}):\n{result.output[-3000:]}\n"
                             f"{result.exception!r}") from None
    entries: dict[str, dict] = {"": document}
    for entry in document["functions"]:
        entries[entry["qualname"]] = entry
    return entries


@pytest.fixture(scope="module")
def wrong(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    return _verify(tmp_path_factory.mktemp("corpus-wrong"), CASES, "migrated")


@pytest.fixture(scope="module")
def correct(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    return _verify(tmp_path_factory.mktemp("corpus-correct"), CORRECT, "correct")


def _describe(entry: dict) -> str:
    figures = entry.get("verify", {})
    notes = "; ".join(figures.get("notes", [])[:2])
    return f"{entry['status']}: {entry['reason']!r}" + (f" (notes: {notes})" if notes else "")


def test_the_corpus_is_well_formed() -> None:
    """Each case says what it tests; names are unique so all cases share one verify run."""
    assert CASES, "no cases found"
    modules: dict[str, str] = {}
    classes: dict[str, str] = {}
    for case in CASES:
        assert not case.keys - KEYS, f"{case.name}: unknown keys {sorted(case.keys - KEYS)}"
        assert case.failure_class in FAILURE_CLASSES, f"{case.name}: class {case.failure_class!r}"
        assert case.source in SOURCES, f"{case.name}: source {case.source!r}"
        assert case.classes and case.expect <= CAUGHT, case.name
        names = [m.name for m in case.modules("orig")]
        assert names, f"{case.name}: no orig/*.py"
        for side in ("migrated", "correct") if case.has_correct else ("migrated",):
            extra = {m.name for m in case.modules(side)} - set(names)
            assert not extra, f"{case.name}: {side}/ has modules orig/ lacks: {sorted(extra)}"
            assert case.modules(side), f"{case.name}: no {side}/*.py"
        for name in names:
            assert name not in modules, f"module {name} in {case.name} and {modules[name]}"
            modules[name] = case.name
        text = "".join(m.read_text(encoding="utf-8") for m in case.modules("orig"))
        for qualname in case.classes:
            assert re.search(rf"^class {re.escape(qualname)}\b", text, re.M), f"{case.name}: no class {qualname}"
            assert qualname not in classes, f"class {qualname} in {case.name} and {classes[qualname]}"
            classes[qualname] = case.name
    # The acceptance: every failure class, with hand-made wrong migrations; the old
    # emitter's own mistakes where it made them.
    assert {c.failure_class for c in CASES if c.source == "hand"} == FAILURE_CLASSES
    assert len({c.failure_class for c in CASES if c.source != "hand"}) >= 6
    assert len(CORRECT) >= 3


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_wrong_migration_is_never_equivalent_or_skipped(case: CorpusCase, wrong: dict[str, dict]) -> None:
    for qualname in case.classes:
        entry = wrong.get(qualname)
        assert entry is not None, (f"{case.failure_class} ({case.source}): {qualname} was not verified at all: "
                                   f"no verdict among {sorted(k for k in wrong if k)}")
        assert entry["status"] in case.expect, (
            f"{case.failure_class} ({case.source}): {qualname} is {_describe(entry)}; expected "
            f"{' or '.join(sorted(case.expect))}")
        assert entry["reason"], f"{qualname}: {entry['status']} without a reason"


@pytest.mark.parametrize("case", CORRECT, ids=[c.name for c in CORRECT])
def test_a_correct_migration_is_equivalent(case: CorpusCase, correct: dict[str, dict]) -> None:
    for qualname in case.classes:
        entry = correct.get(qualname)
        assert entry is not None, f"{qualname} was not verified at all: no verdict"
        assert entry["status"] == "equivalent", f"correct migration of {qualname} is {_describe(entry)}"

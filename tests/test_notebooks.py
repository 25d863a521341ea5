"""Jupyter notebooks through scan, rewrite and verify, as a user sees them: locations by cell,
nothing but the changed cells' source touched, IPython lines kept, broken files reported."""

from __future__ import annotations

import importlib.util
import json
import shutil
from importlib import resources
from pathlib import Path

import jsonschema
import nbformat
import pytest
from click.testing import CliRunner

from fgi_rewrite.cli import main
from fgi_rewrite.notebooks import mask

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def books(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for notebook in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(notebook, tmp_path / notebook.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def text(cell: dict) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def test_scan_locates_each_class_by_cell_and_line_in_every_format(books: Path) -> None:
    code, out, err = run("scan", "--format", "json", ".")
    assert code == 1, err
    document = json.loads(out)
    jsonschema.validate(document, json.loads(
        resources.files("fgi_rewrite").joinpath("schema/fgi-rewrite.schema.json").read_text()))
    found = {(f["path"], f["qualname"]): (f["cell"], f["line"], f["column"], f["status"])
             for f in document["functions"]}
    assert found == {
        ("magics.ipynb", "Spike"): (4, 5, 7, "convertible"),  # after a %env line and a string holding "!this"
        ("nothing_to_rewrite.ipynb", "Clamped"): (3, 1, 7, "refused"),
        ("snn_tutorial.ipynb", "SpikeGrad"): (4, 2, 7, "convertible"),
        ("with_outputs.ipynb", "FastSigmoid"): (4, 2, 7, "convertible"),
    }  # the class in the %%time cell is IPython's: not read
    _, out, _ = run("scan", "snn_tutorial.ipynb")
    assert "snn_tutorial.ipynb:cell_4:2:7" in out
    _, out, _ = run("scan", "--format", "github", "snn_tutorial.ipynb")
    assert "file=snn_tutorial.ipynb,line=2,col=7,title=FGI001::cell_4:2:7: SpikeGrad:" in out
    _, out, _ = run("scan", "--format", "sarif", "snn_tutorial.ipynb")
    (result,) = json.loads(out)["runs"][0]["results"]
    assert result["message"]["text"].startswith("cell_4:2:7: SpikeGrad:")
    assert result["locations"][0]["properties"] == {"cell": 4}
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 7}


def test_rewrite_in_place_changes_only_the_cells_that_change(books: Path) -> None:
    before = {p.name: p.read_bytes() for p in books.glob("*.ipynb")}
    code, _, err = run("rewrite", ".")
    assert code == 0, err
    for name in ("snn_tutorial.ipynb", "magics.ipynb", "with_outputs.ipynb"):
        path = books / name
        nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
        data = path.read_bytes()
        assert data != before[name]
        # Jupyter's own layout, as the file had it: indent 1, sorted keys, raw UTF-8, newline at the end.
        assert data.decode() == json.dumps(json.loads(data), sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    old, new = json.loads(before["snn_tutorial.ipynb"])["cells"], cells(books / "snn_tutorial.ipynb")
    changed = [n for n, (a, b) in enumerate(zip(old, new, strict=True), 1) if a != b]
    assert changed == [4, 5, 7]  # the class, its alias, the model calling it
    for a, b in zip(old, new, strict=True):
        assert {k: v for k, v in a.items() if k != "source"} == {k: v for k, v in b.items() if k != "source"}
        assert isinstance(b["source"], list)
    assert "def spike_grad_fgi(input_: torch.Tensor) -> torch.Tensor:" in text(new[3])
    assert text(new[4]) == "spike_grad = spike_grad_fgi"  # no newline added at the cell's end
    assert "spk1 = spike_grad_fgi(mem1 - 1.0)" in text(new[6])
    # Outputs, execution counts, metadata and a string-form source survive.
    old, new = json.loads(before["with_outputs.ipynb"])["cells"], cells(books / "with_outputs.ipynb")
    assert [c.get("outputs") for c in new] == [c.get("outputs") for c in old]
    assert [c.get("execution_count") for c in new] == [c.get("execution_count") for c in old]
    assert new[3]["metadata"] == {"collapsed": False, "tags": ["surrogate"]} and isinstance(new[3]["source"], str)
    assert "class FastSigmoid:  # fgi-rewrite: compatibility shim" in new[3]["source"]
    assert new[5]["outputs"][1]["data"]["image/png"] == old[5]["outputs"][1]["data"]["image/png"]
    assert "β" in (books / "with_outputs.ipynb").read_text(encoding="utf-8")
    assert (books / "nothing_to_rewrite.ipynb").read_bytes() == before["nothing_to_rewrite.ipynb"]
    assert run("rewrite", "--check", ".")[0] == 0  # a second run has nothing left to do


def test_ipython_lines_and_cell_magic_cells_are_kept(books: Path) -> None:
    old = cells(books / "magics.ipynb")
    assert run("rewrite", "magics.ipynb")[0] == 0
    new = cells(books / "magics.ipynb")
    assert new[:3] == old[:3]  # !pip, %matplotlib, files = !ls, ?obj and the %%time cell, untouched
    assert "class TimedSpike(torch.autograd.Function):" in text(new[2])
    assert text(new[3]).startswith('%env CUDA_VISIBLE_DEVICES=0\nNOTE = """\n!this line is text')
    assert "def spike(x: torch.Tensor)" in text(new[3])
    assert text(new[4]) == text(old[4]).replace("        Spike.apply(x)", "        spike(x)")
    assert "%timeit Spike.apply(x)" in text(new[4]) and "        !echo step\n" in text(new[4])
    assert text(new[4]).endswith("Spike?")


def test_mask_keeps_lines_and_leaves_strings_and_brackets_alone() -> None:
    cell = 'x = ("%d"\n     % 3)\ns = """\n%not magic\n"""\nfor i in x:\n    %time g()\nobj??\n# why?\n'
    masked, magics = mask(cell)
    assert masked.count("\n") == cell.count("\n")
    assert magics == ("    %time g()\n", "obj??\n")
    assert "     % 3)\n" in masked and "%not magic\n" in masked and "# why?\n" in masked
    assert "    pass  # fgi-rewrite magic 0: %time g()\n" in masked
    compile(masked, "cell", "exec")
    continued = "a, b = 7, 3\ny = a \\\n    % b\n!ls\n"  # `% b` continues a backslash line: Python
    masked, magics = mask(continued)
    assert magics == ("!ls\n",) and "    % b\n" in masked
    compile(masked, "cell", "exec")


def test_check_and_diff_write_nothing_and_show_the_changed_cells(books: Path) -> None:
    before = (books / "snn_tutorial.ipynb").read_bytes()
    code, out, _ = run("rewrite", "--check", "snn_tutorial.ipynb")
    assert code == 1 and out == ""
    code, out, _ = run("rewrite", "--diff", "snn_tutorial.ipynb")
    assert code == 1
    assert (books / "snn_tutorial.ipynb").read_bytes() == before
    assert "--- a/snn_tutorial.ipynb:cell_4\n+++ b/snn_tutorial.ipynb:cell_4\n" in out
    assert "-class SpikeGrad(torch.autograd.Function):\n" in out and "+spike_grad = spike_grad_fgi\n" in out
    assert '"source"' not in out and "cell_1" not in out  # a diff of the code, not of the JSON


def test_out_writes_a_rewritten_copy(books: Path) -> None:
    before = (books / "with_outputs.ipynb").read_bytes()
    code, _, err = run("rewrite", "--out", "migrated", "with_outputs.ipynb")
    assert code == 0, err
    assert (books / "with_outputs.ipynb").read_bytes() == before
    copy = books / "migrated" / "with_outputs.ipynb"
    nbformat.validate(nbformat.read(copy, as_version=4))
    assert "fast_sigmoid(mem)" in text(cells(copy)[4])


def test_a_broken_notebook_is_an_error_and_the_others_go_on(books: Path) -> None:
    (books / "a_broken.ipynb").write_text('{\n "cells": [\n  {"cell_type": "code" "source": []}\n ]\n}\n')
    code, out, _ = run("scan", "--format", "json", ".")
    assert code == 2
    document = json.loads(out)
    (error,) = document["errors"]
    assert (error["path"], error["line"], error["code"]) == ("a_broken.ipynb", 3, "FGI902")
    assert "invalid JSON" in error["message"] and "cell" not in error
    assert len(document["functions"]) == 4
    broken = (books / "a_broken.ipynb").read_bytes()
    code, _, err = run("rewrite", ".")
    assert code == 2
    assert "error: a_broken.ipynb:3:" in err and "left unchanged" in err
    assert (books / "a_broken.ipynb").read_bytes() == broken
    assert "def spike_grad_fgi" in (books / "snn_tutorial.ipynb").read_text()


def test_a_syntax_error_names_its_cell(books: Path) -> None:
    notebook = json.loads((books / "snn_tutorial.ipynb").read_text())
    notebook["cells"][6]["source"][1] = "    def __init__(self)\n"
    (books / "snn_tutorial.ipynb").write_text(json.dumps(notebook, indent=1))
    code, _, err = run("scan", "snn_tutorial.ipynb")
    assert code == 2 and "snn_tutorial.ipynb:cell_7:2:" in err and "FGI902" in err
    code, _, err = run("rewrite", "snn_tutorial.ipynb")
    assert code == 2 and "error: snn_tutorial.ipynb:cell_7:2: syntax error" in err


def test_another_layout_is_kept(books: Path) -> None:
    notebook = json.loads((books / "with_outputs.ipynb").read_text(encoding="utf-8"))
    path = books / "with_outputs.ipynb"
    path.write_text(json.dumps(notebook, indent=2, ensure_ascii=True), encoding="utf-8")  # no final newline
    assert run("rewrite", "with_outputs.ipynb")[0] == 0
    data = path.read_text(encoding="utf-8")
    assert data == json.dumps(json.loads(data), indent=2, ensure_ascii=True) and "\\u03b2" in data
    assert "fast_sigmoid(mem)" in data


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="verify needs torch")
def test_verify_runs_the_cells_and_names_the_cell_that_runs_code(books: Path) -> None:
    code, out, err = run("verify", "--compat", "none", "--dtype", "float32", "--format", "json",
                         "snn_tutorial.ipynb", "magics.ipynb")
    assert code == 0, err
    verdicts = {f["path"]: f for f in json.loads(out)["functions"]}
    assert {p: v["status"] for p, v in verdicts.items()} == {"magics.ipynb": "equivalent",
                                                            "snn_tutorial.ipynb": "equivalent"}
    assert verdicts["magics.ipynb"]["verify"]["loaded"].startswith("notebook code cells run as a module")
    # The training cell runs at import: the class is verified from its dependency closure.
    assert verdicts["snn_tutorial.ipynb"]["verify"]["loaded"] == \
        "dependency closure: the module runs code at import (cell_9:1)"
    assert (verdicts["snn_tutorial.ipynb"]["cell"], verdicts["snn_tutorial.ipynb"]["line"]) == (4, 2)


def test_report_names_notebooks_as_skipped(books: Path) -> None:
    code, _, err = run("report", "--report-only", ".", "-o", "report.json")
    assert code == 0, err
    skipped = json.loads((books / "report.json").read_text())["skipped"]
    assert [s["path"] for s in skipped] == sorted(p.name for p in books.glob("*.ipynb"))
    assert all("notebooks are not in reports yet" in s["reason"] for s in skipped)

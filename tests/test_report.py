"""`fgi-rewrite report`: what a team reading the document relies on, in HTML, Markdown and JSON."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner
from sources import FAST_SIGMOID_SPIKE

from fgi_rewrite.cli import main
from fgi_rewrite.codes import CODES

REFUSED = """\
import torch


class ClippedGradSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output.clamp(-1.0, 1.0) / (1.0 + x.abs()) ** 2
"""

USER = """\
from spikes import Spike


def fire(v):
    return Spike.apply(v, 4.0)
"""

BROKEN = "import torch\n\nclass Broken(torch.autograd.Function:\n    pass\n"

BENCH = {
    "schema": "fgi-rewrite-bench/1", "kind": "spike", "command": "fgi-rewrite bench tree --json bench.json",
    "machine": {"cpu": "test machine"}, "torch": "2.13.0", "device": "cpu", "dtype": "float32", "threads": 1,
    "rows": [
        {"function": "tree/spikes.py::Spike", "mode": "eager", "phase": "train", "size": "128x128",
         "variant": "fgi", "median_s": 0.000123, "iqr_s": [0.00012, 0.000126], "speedup": 1.37,
         "speedup_iqr": [1.31, 1.42], "warmup_s": None, "note": None},
        {"function": "<builtin:gaussian>", "mode": "compile", "phase": "inference", "size": "1024x1024",
         "variant": "paper", "median_s": 0.0021, "iqr_s": [0.002, 0.0022], "speedup": 0.91,
         "speedup_iqr": [0.88, 0.95], "warmup_s": 3.25, "note": "aot_eager"},
    ],
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def write_tree(root: Path, broken: bool = True) -> Path:
    tree = root / "tree"
    tree.mkdir()
    (tree / "spikes.py").write_text(FAST_SIGMOID_SPIKE)
    (tree / "refused.py").write_text(REFUSED)
    (tree / "user.py").write_text(USER)
    if broken:
        (tree / "broken.py").write_text(BROKEN)
    return tree


def schema() -> dict:
    return json.loads(resources.files("fgi_rewrite").joinpath("schema/fgi-rewrite.schema.json").read_text())


@pytest.fixture
def static(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, int, str]:
    """A --report-only run over a convertible class, a refused one, a caller and an unparsable
    file, writing all three formats at once."""
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path)
    (tmp_path / "bench.json").write_text(json.dumps(BENCH))
    code, _, err = run("report", "tree", "--report-only", "--bench", "bench.json",
                       "-o", "out/r.html", "-o", "out/r.md", "-o", "out/r.json")
    return tmp_path, code, err


def test_static_report_lists_the_unparsable_file_and_exits_2(static: tuple[Path, int, str]) -> None:
    root, code, err = static
    assert code == 2
    assert "tree/broken.py:3" in err and "FGI902" in err
    for name in ("r.html", "r.md", "r.json"):
        assert (root / "out" / name).stat().st_size > 0
    assert (root / "tree" / "spikes.py").read_text() == FAST_SIGMOID_SPIKE  # the report writes nothing to PATHS
    assert "runs your code" not in err


def test_static_json_summary_sections_and_schema(static: tuple[Path, int, str]) -> None:
    import jsonschema

    root, _, _ = static
    document = json.loads((root / "out" / "r.json").read_text())
    jsonschema.validate(document, schema())
    summary = document["summary"]
    assert summary["files"] == 4 and summary["classes"] == 2
    assert (summary["convertible"], summary["safe"], summary["unsafe"]) == (1, 1, 0)
    assert (summary["rewritten"], summary["refused"], summary["ignored"], summary["errors"]) == (1, 1, 0, 1)
    assert summary["refused_by_code"] == {"FGI102": {"count": 1, "meaning": CODES["FGI102"].summary}}
    assert "verification" not in summary
    assert document["report"]["needs_verify"] == ["verification", "compatibility matrix", "hazards", "plot"]
    assert document["errors"][0]["path"] == "tree/broken.py" and document["errors"][0]["line"] == 3
    entries = {f["qualname"]: f for f in document["functions"]}
    spike = entries["Spike"]
    assert spike["status"] == "convertible" and spike["line"] == 4 and spike["rewrite"]["outcome"] == "rewritten"
    assert "-class Spike(torch.autograd.Function):" in spike["rewrite"]["diff"]
    assert "+def spike(x: torch.Tensor, alpha: float) -> torch.Tensor:" in spike["rewrite"]["diff"]
    assert "verify" not in spike
    assert spike["bench"] == [BENCH["rows"][0]]
    refused = entries["ClippedGradSpike"]
    assert refused["status"] == "refused" and refused["code"] == "FGI102" and refused["rewrite"]["diff"] == ""
    # The call site in another file is changed as `rewrite` changes it, shown apart from the class.
    diffs = {d["path"]: d for d in document["report"]["diffs"]}
    assert "+    return spike(v, 4.0)" in diffs["tree/user.py"]["other_changes"]
    assert document["report"]["bench"]["document"]["rows"] == BENCH["rows"]


def test_static_html_is_self_contained_and_says_what_needs_verify(static: tuple[Path, int, str]) -> None:
    root, _, _ = static
    html = (root / "out" / "r.html").read_text()
    assert not re.search(r"<(script|link|iframe|object)\b", html)
    targets = re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)""", html)
    assert targets and all(t.startswith(("#", "data:")) for t in targets)  # in-page links and data: URIs only
    assert "@import" not in html and "url(" not in html
    assert len(re.findall(r'<section class="class" id="', html)) == 2
    # In the class section of the rewritten class, where verification and plot would be.
    assert html.count('<p class="needs">needs <code>verify</code>: run without --report-only</p>') == 2
    assert "not verified: the class is refused" in html
    assert '<a href="#class-tree-spikes-py-spike">Spike</a>' in html
    assert '<tr class="add">' in html and '<tr class="del">' in html
    assert '<span class="k">def</span>' in html  # highlighted Python
    assert "syntax error" in html and "tree/broken.py:3" in html
    assert '<section id="speed">' in html and "1.37×" in html and "aot_eager" in html


def test_static_markdown_has_diffs_and_needs_verify_notes(static: tuple[Path, int, str]) -> None:
    root, _, _ = static
    markdown = (root / "out" / "r.md").read_text()
    assert "## Spike" in markdown and "## ClippedGradSpike" in markdown
    assert "```diff\n--- a/tree/spikes.py\n+++ b/tree/spikes.py\n" in markdown
    assert markdown.count("_needs `verify`: run without --report-only_") == 2
    assert "| FGI102 | 1 | backward is not linear in grad_output |" in markdown
    assert not (root / "out" / "r_files").exists()  # no plots without verification


def test_unknown_suffix_is_a_usage_error_and_writes_nothing(tmp_path: Path) -> None:
    tree = write_tree(tmp_path)
    code, _, err = run("report", str(tree), "--report-only", "-o", str(tmp_path / "r.html"), "-o",
                       str(tmp_path / "r.pdf"))
    assert code == 2 and "r.pdf" in err and ".html, .md or .json" in err
    assert not (tmp_path / "r.html").exists()


def test_a_bench_file_of_another_schema_is_refused_by_name(tmp_path: Path) -> None:
    tree = write_tree(tmp_path, broken=False)
    bench = tmp_path / "other.json"
    bench.write_text(json.dumps({**BENCH, "schema": "something-else/2"}))
    code, _, err = run("report", str(tree), "--report-only", "--bench", str(bench), "-o", str(tmp_path / "r.html"))
    assert code == 2
    assert f"{bench}: schema is 'something-else/2', expected 'fgi-rewrite-bench/1'" in err
    assert not (tmp_path / "r.html").exists()


def test_an_unwritable_destination_exits_2_and_leaves_no_partial_file(tmp_path: Path) -> None:
    tree = write_tree(tmp_path, broken=False)
    (tmp_path / "taken").write_text("a file, not a directory")
    code, _, err = run("report", str(tree), "--report-only", "-o", str(tmp_path / "taken" / "r.html"))
    assert code == 2 and "cannot write" in err and "taken/r.html" in err
    code, _, _ = run("report", str(tree), "--report-only", "-o", str(tmp_path / "ok.json"))
    assert code == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One verified report (verify costs seconds): a convertible and a refused class, float64 only,
    no compatibility matrix."""
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    root = tmp_path_factory.mktemp("full")
    write_tree(root, broken=False)
    before = Path.cwd()
    os.chdir(root)
    try:
        code, _, err = run("report", "tree", "--compat", "none", "--dtype", "float64", "--seed", "5",
                           "-o", "out/full.html", "-o", "out/full.md", "-o", "out/full.json")
    finally:
        os.chdir(before)
    assert code == 0, err
    assert "runs your code" in err
    return root


def test_full_report_has_verification_figures(full: Path) -> None:
    import jsonschema

    document = json.loads((full / "out" / "full.json").read_text())
    jsonschema.validate(document, schema())
    assert document["summary"]["verification"] == {"equivalent": 1, "different": 0, "skipped": 0, "error": 0}
    assert document["seed"] == 5 and document["dtypes"] == ["float64"]
    figures = {f["qualname"]: f for f in document["functions"]}["Spike"]["verify"]
    assert figures["status"] == "equivalent" and figures["runs"] == 2 and figures["max_ulps"] == 0
    assert figures["arguments"] == ["x=random[6, 5], [4, 3, 5] over 2 runs (default shapes)",
                                    "alpha=2.7 (no default), a 0-d tensor in every other run"]
    assert "needs_verify" not in document["report"]


def test_curves_of_the_fast_sigmoid_match_its_closed_form(full: Path) -> None:
    """Value (x > 0) and derivative 1 / (alpha |x| + 1)^2 over [-3, 3], on both sides."""
    document = json.loads((full / "out" / "full.json").read_text())
    curves = {f["qualname"]: f for f in document["functions"]}["Spike"]["verify"]["curves"]
    alpha = 2.7  # verify's value for an input without a default (see the arguments above)
    assert curves["input"] == "x"
    xs = curves["x"]
    assert len(xs) == 401 and xs[0] == -3.0 and xs[-1] == 3.0
    for side in ("original", "fgi"):
        assert curves[f"{side}_value"] == [1.0 if x > 0 else 0.0 for x in xs]
        expected = [1.0 / (alpha * abs(x) + 1.0) ** 2 for x in xs]
        assert curves[f"{side}_derivative"] == pytest.approx(expected, rel=1e-12)


def test_full_html_embeds_the_plot_as_png(full: Path) -> None:
    html = (full / "out" / "full.html").read_text()
    images = re.findall(r'<img class="plot"[^>]* src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 1
    assert base64.b64decode(images[0]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "Compatibility matrix" not in html  # --compat none
    assert "forward bitwise identical" in html and "needs <code>verify</code>" not in html


def test_full_markdown_references_plots_beside_it(full: Path) -> None:
    markdown = (full / "out" / "full.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert links == ["full_files/class-tree-spikes-py-spike.png"]
    assert (full / "out" / links[0]).read_bytes().startswith(b"\x89PNG")


CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("FGI_REQUIRE_CHROMIUM"),
                                    reason="/usr/bin/chromium is not installed (FGI_REQUIRE_CHROMIUM makes this fail)")

# Test-only: appended to a copy of the report, it writes what the reader sees into the DOM.
FACTS_SCRIPT = """
addEventListener('load', () => {
  const facts = {
    summary: document.querySelector('#summary').innerText,
    sections: document.querySelectorAll('section.class').length,
    headings: [...document.querySelectorAll('section.class > h2')].map(h => h.innerText),
    images: [...document.images].map(i => i.complete && i.naturalWidth > 0),
    external: performance.getEntriesByType('resource').map(r => r.name).filter(n => !n.startsWith('data:')),
    contentsLinks: [...document.querySelectorAll('#contents a')]
      .map(a => document.getElementById(a.hash.slice(1)) !== null),
    diffVisible: document.querySelector('.diff') !== null && document.querySelector('.diff').offsetHeight > 0,
  };
  const out = document.createElement('pre');
  out.id = 'test-facts';
  out.textContent = JSON.stringify(facts);
  document.body.appendChild(out);
});
"""


@needs_chromium
def test_chromium_renders_summary_sections_and_images(full: Path) -> None:
    from html import unescape

    from fgi_rewrite.report.browser import dump_dom

    dom = dump_dom(full / "out" / "full.html", FACTS_SCRIPT)
    facts = json.loads(unescape(re.search(r'<pre id="test-facts">(.*?)</pre>', dom, re.DOTALL).group(1)))
    summary = " ".join(facts["summary"].split())
    assert "Files scanned 3" in summary
    assert "Classes found 2" in summary and "Rewritten 1" in summary and "Equivalent 1" in summary
    assert "Refused 1" in summary and "FGI102" in summary
    assert facts["sections"] == 2
    assert [h.split()[0] for h in facts["headings"]] == ["ClippedGradSpike", "Spike"]  # files in path order
    assert facts["images"] == [True]
    assert facts["external"] == []
    assert facts["contentsLinks"] == [True, True]
    assert facts["diffVisible"]


@needs_chromium
def test_screenshot_option_writes_a_non_blank_png(tmp_path: Path) -> None:
    from PIL import Image

    tree = write_tree(tmp_path, broken=False)
    shot = tmp_path / "shot.png"
    code, _, err = run("report", str(tree), "--report-only", "-o", str(tmp_path / "r.html"), "--screenshot", str(shot))
    assert code == 0, err
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.width == 1280 and image.height > 900
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 20  # text, badges and diff colours, not one flat colour


def test_screenshot_without_chromium_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = write_tree(tmp_path, broken=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    code, _, err = run("report", str(tree), "--report-only", "-o", str(tmp_path / "r.html"), "--screenshot",
                       str(tmp_path / "s.png"))
    assert code == 2 and "--screenshot needs Chromium on PATH" in err


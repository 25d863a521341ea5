"""`fgi-rewrite scan` as users and scripts see it: streams, exit codes, JSON schema."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from sources import GAUSSIAN_SPIKE

from fgi_rewrite.cli import main

SPIKE = GAUSSIAN_SPIKE

REFUSED = SPIKE.replace("return grad_output * torch.exp(-x * x)", "return grad_output.clamp(-1, 1)")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def schema() -> dict:
    text = resources.files("fgi_rewrite").joinpath("schema/fgi-rewrite.schema.json").read_text()
    return json.loads(text)


def test_convertible_class_exits_1_and_json_follows_the_schema(tmp_path: Path, schema: dict) -> None:
    (tmp_path / "spike.py").write_text(SPIKE)
    code, out, _ = run("scan", "--format", "json", str(tmp_path))
    assert code == 1
    document = json.loads(out)
    jsonschema.validate(document, schema)
    (entry,) = document["functions"]
    assert entry["qualname"] == "Spike" and entry["status"] == "convertible" and entry["fix"] == "safe"
    assert (entry["line"], entry["column"]) == (3, 7)
    assert entry["inputs"] == [{"name": "x", "role": "differentiable", "gradient": "symbolic", "default": None}]


def test_only_refused_classes_exit_0(tmp_path: Path) -> None:
    (tmp_path / "refused.py").write_text(REFUSED)
    code, out, err = run("scan", str(tmp_path))
    assert code == 0
    assert "FGI102" in out and "refused" in out
    assert "1 Function classes" in err


def test_unparsable_file_exits_2_names_the_line_and_others_are_still_scanned(tmp_path: Path, schema: dict) -> None:
    (tmp_path / "a_broken.py").write_text("from torch.autograd import Function\n\nclass X(Function)\n    pass\n")
    (tmp_path / "b_spike.py").write_text(SPIKE)
    code, out, _ = run("scan", "--format", "json", str(tmp_path))
    assert code == 2
    document = json.loads(out)
    jsonschema.validate(document, schema)
    (error,) = document["errors"]
    assert error["path"].endswith("a_broken.py") and error["code"] == "FGI902" and error["line"] == 3
    assert [f["qualname"] for f in document["functions"]] == ["Spike"]


def test_undecodable_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "latin.py").write_bytes(b"from torch.autograd import Function\nname = '\xe9t\xe9'\n"
                                        b"class A(Function):\n    pass\n")
    code, _, err = run("scan", str(tmp_path))
    assert code == 2
    assert "latin.py" in err and "FGI901" in err


def test_declared_latin1_file_is_read(tmp_path: Path) -> None:
    source = "# -*- coding: latin-1 -*-\n# d\xe9riv\xe9e\n" + SPIKE
    (tmp_path / "latin.py").write_bytes(source.encode("latin-1"))
    code, out, _ = run("scan", "--format", "json", str(tmp_path))
    assert code == 1
    assert json.loads(out)["functions"][0]["line"] == 5


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("scan", str(tmp_path / "nope.py"))
    assert code == 2
    assert "nope.py" in err


def test_select_and_ignore_filter_codes(tmp_path: Path) -> None:
    (tmp_path / "spike.py").write_text(SPIKE)
    (tmp_path / "refused.py").write_text(REFUSED)
    _, out, _ = run("scan", "--format", "json", "--select", "FGI1", str(tmp_path))
    assert [f["code"] for f in json.loads(out)["functions"]] == ["FGI102"]
    code, out, _ = run("scan", "--format", "json", "--ignore", "FGI001", str(tmp_path))
    assert [f["code"] for f in json.loads(out)["functions"]] == ["FGI102"]
    assert code == 0  # nothing convertible left to report


def test_unknown_code_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("scan", "--select", "XYZ9", str(tmp_path))
    assert code == 2
    assert "XYZ9" in err


def test_explain_prints_the_documentation_of_a_code() -> None:
    code, out, _ = run("explain", "FGI102")
    assert code == 0
    assert "not linear in grad_output" in out
    assert run("explain", "FGI999")[0] == 2


def test_scan_neither_imports_torch_nor_executes_the_code_it_reads(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    module = tmp_path / "hostile.py"
    module.write_text(f"open({str(marker)!r}, 'w').write('ran')\n" + SPIKE)
    probe = (
        "import sys\nfrom fgi_rewrite.cli import main\n"
        "try:\n    main(['scan', sys.argv[1]])\nexcept SystemExit as e:\n    code = e.code\n"
        "assert 'torch' not in sys.modules, 'scan imported torch'\nsys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(module)], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert not marker.exists()


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    (tmp_path / "spike.py").write_text(SPIKE)
    result = subprocess.run([sys.executable, "-m", "fgi_rewrite", "scan", "--format", "json", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert json.loads(result.stdout)["summary"]["convertible"] == 1


def test_readme_documents_every_code() -> None:
    from fgi_rewrite.codes import CODES

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = [code for code in CODES if f"| {code} |" not in readme]
    assert missing == []


def test_sarif_has_one_rule_per_code_and_one_based_locations(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "spike.py").write_text(SPIKE)
    (tmp_path / "pkg" / "refused.py").write_text(REFUSED)
    code, out, _ = run("scan", "--format", "sarif", "pkg")
    assert code == 1
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    (run_,) = sarif["runs"]
    from fgi_rewrite.codes import CODES

    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(CODES)
    assert all(r["fullDescription"]["text"] for r in rules)
    results = {r["ruleId"]: r for r in run_["results"]}
    spike = results["FGI001"]
    location = spike["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "pkg/spike.py"
    assert location["region"] == {"startLine": 3, "startColumn": 7}
    assert spike["level"] == "warning" and results["FGI102"]["level"] == "note"
    assert rules[spike["ruleIndex"]]["id"] == "FGI001"


def test_github_annotations(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spike.py").write_text(SPIKE)
    code, out, _ = run("scan", "--format", "github", "spike.py")
    assert code == 1
    assert out.startswith("::warning file=spike.py,line=3,col=7,title=FGI001::Spike: ")


def test_jobs_give_the_same_output_in_the_same_order() -> None:
    fixtures = str(Path(__file__).resolve().parent.parent / "fixtures")
    _, one, _ = run("scan", "--format", "json", fixtures)
    _, two, _ = run("scan", "--format", "json", "--jobs", "2", fixtures)
    assert json.loads(one)["functions"] == json.loads(two)["functions"]
    assert len(json.loads(two)["functions"]) > 70

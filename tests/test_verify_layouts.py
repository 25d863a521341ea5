"""`verify` on real project layouts: how each side finds and loads the code, and says so.

One tree holds every layout, verified in one run (two import roots: two pairs of side
processes); a second run pairs a `rewrite --out` copy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sources import FAST_SIGMOID_SPIKE

from fgi_rewrite.cli import main

pytest.importorskip("torch")


def spike(name: str, head: str = "", threshold: str = "0") -> str:
    """FAST_SIGMOID_SPIKE as class `name`, with `head` after its imports and the threshold given."""
    source = FAST_SIGMOID_SPIKE.replace("class Spike(", f"{head}\n\nclass {name}(")
    source = source.replace("(x > 0)", f"(x > {threshold})")
    assert source != FAST_SIGMOID_SPIKE
    return source


def run(*args: str) -> tuple[int, dict[str, dict], dict]:
    result = CliRunner().invoke(main, ["verify", "--compat", "none", "--dtype", "float32", "--format", "json", *args])
    document = json.loads(result.stdout)
    return result.exit_code, {f["qualname"]: f for f in document["functions"]}, document


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_every_layout_is_verified_and_says_how_it_was_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "training-ran"
    write(tmp_path / "tree", {
        # A flat research folder: sibling imports, a dotted file name, a training script, a
        # missing optional dependency, a file that does not parse.
        "flat/consts.py": "THRESH = 0.0\n",
        "flat/spiking.py": spike("Sibling", "from consts import THRESH", "THRESH"),
        "flat/adapt_srnn_0.844_gpu-v1.py": spike("Dotted", "from consts import THRESH", "THRESH"),
        "flat/train.py": spike("Trained", "from consts import THRESH\n\nLOG = open(%r, 'w')" % str(marker), "THRESH")
        + "\n\nfor epoch in range(2):\n    LOG.write('epoch')\n",
        "flat/optional.py": spike("Optional", "import fgi_absent_module\nfrom consts import THRESH", "THRESH"),
        "flat/broken.py": "import torch\n\nclass Broken(torch.autograd.Function)\n    pass\n",
        # A src layout whose package imports itself absolutely.
        "srcproj/pyproject.toml": "[project]\nname = 'snnpkg'\n",
        "srcproj/src/snnpkg/__init__.py": "from snnpkg.surrogate import Packaged\n",
        "srcproj/src/snnpkg/consts.py": "THRESH = 0.0\n",
        "srcproj/src/snnpkg/surrogate.py": spike("Packaged", "from snnpkg.consts import THRESH", "THRESH"),
    })
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # neither folder is the working directory
    code, verdicts, document = run(str(tmp_path / "tree/flat"), str(tmp_path / "tree/srcproj/src"))
    assert code == 2  # the unparsable file
    (error,) = document["errors"]
    assert error["path"].endswith("broken.py") and error["line"] == 3
    assert {name: v["status"] for name, v in verdicts.items()} == dict.fromkeys(
        ["Sibling", "Dotted", "Trained", "Optional", "Packaged"], "equivalent")
    loaded = {name: v["verify"]["loaded"] for name, v in verdicts.items()}
    assert loaded["Sibling"] == "import spiking"
    assert loaded["Packaged"] == "import snnpkg.surrogate"
    assert loaded["Dotted"] == "import adapt_srnn_0_844_gpu_v1 (by path)"
    assert loaded["Trained"] == "dependency closure: the module runs code at import (line 6)"
    assert not marker.exists()  # the script never ran, on either side
    assert loaded["Optional"] == ("dependency closure: import failed: ModuleNotFoundError: "
                                  "No module named 'fgi_absent_module'")
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("fgi_rewrite").joinpath("schema/fgi-rewrite.schema.json").read_text())
    jsonschema.validate(document, schema)


def test_a_rewrite_out_copy_is_paired_and_a_missing_twin_is_named(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {
        "pyproject.toml": "[project]\nname = 'snnpkg'\n",
        "src/snnpkg/__init__.py": "from snnpkg.surrogate import Packaged\n",
        "src/snnpkg/surrogate.py": spike("Packaged"),
        "src/snnpkg/other.py": spike("Other"),
        "src/snnpkg/third.py": spike("Third"),
    })
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["rewrite", "src", "--out", "migrated"])
    assert result.exit_code == 0, result.stderr
    (tmp_path / "migrated/src/snnpkg/other.py").unlink()
    third = tmp_path / "migrated/src/snnpkg/third.py"
    third.write_text("import fgi_absent_module\n" + third.read_text())  # a copy that no longer imports
    code, verdicts, _ = run("src", "--against", "migrated")
    assert code == 2
    assert verdicts["Packaged"]["status"] == "equivalent"
    assert verdicts["Packaged"]["verify"]["loaded"] == "import snnpkg.surrogate"
    assert verdicts["Other"]["status"] == "error"
    assert verdicts["Other"]["reason"] == ("no twin: looked for migrated/src/snnpkg/other.py "
                                           "and migrated/snnpkg/other.py")
    # Its class alone would still run (from its dependency closure): not an equivalent.
    assert verdicts["Third"]["status"] == "error"
    assert verdicts["Third"]["reason"] == ("the FGI side's module fails to import where the original's does not: "
                                           "ModuleNotFoundError: No module named 'fgi_absent_module'")


TRAINING_SCRIPT = '''\
"""Train a spiking network."""
import torch
from torch.utils.tensorboard import SummaryWriter
import math, nir
from consts import THRESH

try:
    import cupy
except ImportError:
    cupy = None

ALPHA = torch.tensor(2.0)
writer = SummaryWriter()


def helper(x):
    return x * ALPHA * math.sqrt(1.0)


def unused():
    return nir.read("model.nir")


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        writer = None  # a local: not the script's writer
        ctx.save_for_backward(x)
        return (x > THRESH).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * helper(x)


for epoch in range(10):
    writer.add_scalar("loss", 0.0, epoch)

if __name__ == "__main__":
    print(Spike)
'''


def test_the_dependency_closure_keeps_what_the_class_needs_at_its_own_lines() -> None:
    import libcst as cst

    from fgi_rewrite.verify.closure import closure_source, runs_code_at_import

    module = cst.parse_module(TRAINING_SCRIPT)
    assert runs_code_at_import(module) == 13  # writer = SummaryWriter(): a call that is no constructor of values
    assert runs_code_at_import(cst.parse_module(TRAINING_SCRIPT.split("writer =")[0])) is None
    closure = closure_source(module, ["Spike"])
    assert closure is not None
    kept = [(number, line) for number, line in enumerate(closure.splitlines(), 1) if line.strip()]
    original = TRAINING_SCRIPT.splitlines()
    # Each at its own line (tracebacks and torch.jit.script point at the real source); unread imported names dropped.
    assert all(original[number - 1].startswith(line) for number, line in kept)
    text = "\n".join(line for _, line in kept)
    for needed in ("import torch", "import math\n", "from consts import THRESH", "ALPHA = torch.tensor(2.0)",
                   "def helper(x):", "class Spike("):
        assert needed in text
    for left_out in ("SummaryWriter", "nir", "cupy", "def unused", "for epoch", "__main__"):
        assert left_out not in text

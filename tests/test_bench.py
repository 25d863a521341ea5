"""`fgi-rewrite bench`: correctness of what it runs and reports, at tiny sizes. Never timing.

Every variant must compute what the custom Function computes on identical weights and inputs
(exactly in eager mode and under TorchScript; `aot_eager` may reorder a gradient sum), the
JSON must follow its documented shape, --function must run a user's class through the real
rewrite or refuse it by name, and the training demo must report equal loss curves.
"""

from __future__ import annotations

import gzip
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")

from sources import FAST_SIGMOID_SPIKE

from fgi_rewrite.bench.timing import Clock, Spread, run_rounds
from fgi_rewrite.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TINY = ["--rounds", "2", "--samples", "1", "--warmup", "1", "--backend", "aot_eager"]
COMPILED_GRADIENT_TOLERANCE = 1e-6  # aot_eager may sum a parameter's gradient in another order

ROW_KEYS = {"function", "mode", "phase", "size", "variant", "median_s", "iqr_s", "speedup", "speedup_iqr",
            "warmup_s", "note"}
DOCUMENT_KEYS = {"schema", "kind", "command", "machine", "torch", "device", "dtype", "threads", "rows",
                 "differences", "train"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def check_document(document: dict, kind: str) -> None:
    assert DOCUMENT_KEYS <= set(document)
    assert document["schema"] == "fgi-rewrite-bench/1" and document["kind"] == kind
    assert document["command"].startswith(f"fgi-rewrite bench {kind}")
    assert {"platform", "processor", "cpu_count"} <= set(document["machine"])
    assert document["torch"] == torch.__version__
    assert document["device"] == "cpu" and document["dtype"] == "float32" and document["threads"] == 1
    for row in document["rows"]:
        assert set(row) == ROW_KEYS
        assert row["mode"] in ("eager", "script", "compile", "compile-cell")
        assert row["phase"] in ("train", "inference")
        assert row["variant"] in ("custom", "fgi", "fgi-no-fast-path", "paper", "fgi-paper-style")
        if row["median_s"] is None:
            assert row["note"], row  # no figure without a reason
        else:
            low, high = row["iqr_s"]
            assert 0 < low <= row["median_s"] <= high
            assert row["speedup"] > 0 and row["speedup_iqr"][0] <= row["speedup"] <= row["speedup_iqr"][1]


def check_differences(document: dict) -> None:
    """Identical weights, identical results: exact except for compiled gradient sums."""
    assert document["differences"]
    for entry in document["differences"]:
        assert entry["output_max_abs"] == 0.0, entry
        if entry["phase"] == "train":
            limit = COMPILED_GRADIENT_TOLERANCE if entry["mode"].startswith("compile") else 0.0
            assert entry["gradient_max_abs"] is not None and entry["gradient_max_abs"] <= limit, entry
        else:
            assert entry["gradient_max_abs"] is None


def test_spike_variants_agree_and_report_follows_the_schema(tmp_path: Path) -> None:
    out, png = tmp_path / "spike.json", tmp_path / "spike.png"
    code, stdout, stderr = run("bench", "spike", "--sizes", "8", *TINY, "--json", str(out), "--plot", str(png))
    assert code == 0, stderr
    document = json.loads(out.read_text())
    check_document(document, "spike")
    check_differences(document)
    rows = document["rows"]
    # Every mode and variant ran (the custom Function under script through @torch.jit.ignore).
    assert {(r["mode"], r["variant"], r["phase"]) for r in rows} == {
        (m, v, p) for m in ("eager", "script", "compile") for v in ("custom", "fgi", "fgi-no-fast-path", "paper")
        for p in ("train", "inference")}
    assert all(r["median_s"] is not None for r in rows)
    baseline = [r for r in rows if r["mode"] == "eager" and r["variant"] == "custom"]
    assert all(r["speedup"] == 1.0 for r in baseline)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "8x8" in stdout and "fgi-no-fast-path" in stdout  # the table


def test_alif_variants_agree_on_identical_weights_and_cap_whole_model_compile(tmp_path: Path) -> None:
    out = tmp_path / "alif.json"
    code, _, stderr = run("bench", "alif", "--lengths", "4,8", "--hidden", "8", "--batch", "3",
                               "--compile-max-t", "4", "--compile-variants", "custom,fgi", *TINY, "--json", str(out))
    assert code == 0, stderr
    document = json.loads(out.read_text())
    check_document(document, "alif")
    check_differences(document)
    rows = {(r["size"], r["mode"], r["variant"], r["phase"]): r for r in document["rows"]}
    # The fast path's branch costs time in scripted training although it is not taken there.
    assert rows[("T=4", "script", "fgi-no-fast-path", "train")]["median_s"] is not None
    assert rows[("T=4", "compile", "fgi", "train")]["median_s"] is not None
    capped = rows[("T=8", "compile", "fgi", "train")]
    assert capped["median_s"] is None and "--compile-max-t 4" in capped["note"]
    assert rows[("T=8", "compile-cell", "custom", "train")]["median_s"] is not None
    assert rows[("T=8", "script", "paper", "inference")]["speedup"] is not None
    # --compile-variants leaves the others out of whole-model compile only.
    assert ("T=4", "compile", "paper", "train") not in rows and ("T=4", "compile-cell", "paper", "train") in rows
    assert document["settings"]["rounds_by_size"] == {"T=4": 2, "T=8": 2}


def test_function_measures_a_user_class_and_its_rewrite(tmp_path: Path) -> None:
    source = tmp_path / "spikes.py"
    source.write_text(FAST_SIGMOID_SPIKE)
    out = tmp_path / "user.json"
    code, _, stderr = run("bench", "spike", "--function", f"{source}::Spike", "--arg", "alpha=4.0", "--sizes", "6",
                          "--modes", "eager,script", "--variants", "fgi,fgi-no-fast-path,paper,fgi-paper-style",
                          *TINY, "--json", str(out))
    assert code == 0, stderr
    assert "bench runs your code" in stderr and str(source) in stderr
    document = json.loads(out.read_text())
    check_document(document, "spike")
    check_differences(document)
    assert {r["function"] for r in document["rows"]} == {f"{source}::Spike"}
    # The hand-written paper form exists for the built-in spike only.
    assert {r["variant"] for r in document["rows"]} == {"custom", "fgi", "fgi-no-fast-path", "fgi-paper-style"}
    assert "alpha=4.0 (--arg)" in document["settings"]["arguments"]["6x6"]


def test_function_refuses_a_class_that_is_not_convertible(tmp_path: Path) -> None:
    source = tmp_path / "clipped.py"
    shutil.copy(FIXTURES / "nonlinear_clamp.py", source)
    code, stdout, stderr = run("bench", "spike", "--function", f"{source}::ClippedGradSpike", *TINY)
    assert code == 2 and stdout == ""
    assert f"{source}: ClippedGradSpike is not convertible" in stderr and "FGI102" in stderr


def test_function_names_the_classes_a_file_has_when_the_class_is_missing(tmp_path: Path) -> None:
    source = tmp_path / "spikes.py"
    source.write_text(FAST_SIGMOID_SPIKE)
    code, _, stderr = run("bench", "alif", "--function", f"{source}::Nope", *TINY)
    assert code == 2
    assert f"{source}: no torch.autograd.Function class 'Nope'" in stderr and "Spike" in stderr


def test_function_reports_an_unparsable_file_with_its_line(tmp_path: Path) -> None:
    source = tmp_path / "broken.py"
    source.write_text("import torch\n\nclass Spike(torch.autograd.Function):\n    def forward(ctx, x)\n")
    code, _, stderr = run("bench", "spike", "--function", f"{source}::Spike", *TINY)
    assert code == 2 and f"{source}:4" in stderr


def _idx(path: Path, array: torch.Tensor, compress: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.dim()]) + struct.pack(f">{array.dim()}I", *array.shape)
    data = header + bytes(array.flatten().tolist())
    path.write_bytes(gzip.compress(data) if compress else data)


def _mnist_like(folder: Path, train: int = 12, test: int = 6) -> None:
    """Tiny 4x4 "images" whose class shows in their brightness, in MNIST's file layout."""
    generator = torch.Generator().manual_seed(0)
    for stem, count in (("train", train), ("t10k", test)):
        labels = torch.arange(count) % 10
        images = (labels.view(-1, 1, 1) * 25 + torch.randint(0, 20, (count, 4, 4), generator=generator))
        _idx(folder / f"{stem}-images-idx3-ubyte", images.clamp(0, 255).to(torch.uint8), compress=stem == "train")
        _idx(folder / f"{stem}-labels-idx1-ubyte", labels.to(torch.uint8))
    (folder / "train-images-idx3-ubyte").rename(folder / "train-images-idx3-ubyte.gz")


def test_training_demo_reports_equal_loss_curves_on_idx_files(tmp_path: Path) -> None:
    _mnist_like(tmp_path)
    out, png = tmp_path / "train.json", tmp_path / "loss.png"
    code, stdout, stderr = run("bench", "alif", "--train", "--data", str(tmp_path), "--pixels-per-step", "4",
                               "--train-steps", "6", "--train-batch", "4", "--hidden", "8", "--json", str(out),
                               "--plot", str(png))
    assert code == 0, stderr
    document = json.loads(out.read_text())
    check_document(document, "alif")
    train = document["train"]
    assert train["steps"] == 6 and train["train_size"] == 12 and train["test_size"] == 6
    assert train["steps_within_tolerance"] == 6  # bit-identical gradients: the curves never part
    assert train["loss"]["custom"] == train["loss"]["fgi"]
    assert train["final_loss"]["custom"] == train["final_loss"]["fgi"]
    assert set(train["test_accuracy"]) == {"custom", "fgi"}
    assert all(0.0 <= a <= 1.0 for a in train["test_accuracy"].values())
    assert "within 1e-05 for 6 of 6 steps" in stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("damage, message", [
    (lambda folder: (folder / "t10k-labels-idx1-ubyte").unlink(), "no t10k-labels-idx1-ubyte"),
    (lambda folder: (folder / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 6),
     "IDX header truncated"),
    (lambda folder: (folder / "t10k-images-idx3-ubyte").write_bytes(b"PK\x03\x04 not idx"), "not an IDX file"),
    (lambda folder: _idx(folder / "t10k-labels-idx1-ubyte", torch.zeros(5, dtype=torch.uint8)),
     "5 labels for 6 images"),
    (lambda folder: (folder / "t10k-images-idx3-ubyte").write_bytes(
        (folder / "t10k-images-idx3-ubyte").read_bytes()[:-3]), "the file holds"),
])
def test_training_demo_names_a_bad_data_file(tmp_path: Path, damage, message: str) -> None:
    _mnist_like(tmp_path)
    damage(tmp_path)
    out = tmp_path / "train.json"
    code, _, stderr = run("bench", "alif", "--train", "--data", str(tmp_path), "--pixels-per-step", "4",
                          "--train-steps", "2", "--hidden", "4", "--json", str(out))
    assert code == 2 and message in stderr and str(tmp_path) in stderr, stderr
    assert not out.exists()


def test_digits_are_64_steps_of_one_pixel() -> None:
    pytest.importorskip("sklearn")
    from fgi_rewrite.bench.data import digits

    data = digits(seed=0)
    assert data.train_x.shape[1:] == (64, 1) and len(data.train_y) + len(data.test_y) == 1797
    assert 0.0 <= float(data.train_x.min()) and float(data.train_x.max()) <= 1.0


class _NoisyClock(Clock):
    """Each task costs a fixed time scaled by how slow the machine is in that round."""

    def __init__(self, cost: dict[str, float], slowness: list[float]) -> None:
        super().__init__("cpu")
        self.cost, self.slowness = cost, slowness
        self.order: list[str] = []

    def time(self, call, inner: int = 1) -> float:
        round_ = len(self.order) // len(self.cost)  # one sample per task and round
        name = call()
        self.order.append(name)
        return self.cost[name] * self.slowness[round_]


def test_rounds_rotate_the_order_and_ratios_are_taken_within_a_round() -> None:
    cost = {"base": 2.0, "fast": 1.0, "slow": 4.0}
    clock = _NoisyClock(cost, slowness=[1.0, 5.0, 0.5, 3.0])
    tasks = {name: (lambda name=name: name) for name in cost}
    timing = run_rounds(tasks, rounds=3, samples=1, clock=clock)
    assert clock.order == ["base", "fast", "slow", "fast", "slow", "base", "slow", "base", "fast"]
    # Absolute times swing with the machine; the per-round ratios do not.
    assert timing.spread("fast").q3 / timing.spread("fast").q1 > 1.5
    assert timing.speedup("fast", "base") == Spread(2.0, 2.0, 2.0)
    assert timing.speedup("slow", "base") == Spread(0.5, 0.5, 0.5)


def test_device_cuda_without_cuda_is_a_usage_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    code, _, stderr = run("bench", "spike", "--device", "cuda", *TINY)
    assert code == 2 and "CUDA is not available" in stderr


def test_bench_command_does_not_import_torch() -> None:
    script = "import sys, fgi_rewrite.cli; assert 'torch' not in sys.modules, 'torch imported'"
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, check=False).returncode == 0


def test_alif_refuses_a_spike_that_needs_more_than_one_tensor(tmp_path: Path) -> None:
    source = tmp_path / "spikes.py"
    source.write_text(FAST_SIGMOID_SPIKE)  # Spike(x, alpha): alpha has no default
    code, _, stderr = run("bench", "alif", "--function", f"{source}::Spike", *TINY)
    assert code == 2 and "alpha has no default" in stderr and f"{source}::Spike" in stderr


def test_round_budget_runs_fewer_rounds_where_a_round_is_long() -> None:
    from fgi_rewrite.bench.alif import AlifSettings, _rounds
    from fgi_rewrite.bench.contest import Contender

    def contender(seconds: float) -> Contender:
        # A compile-sized warm-up total must not count: only the last, steady call does.
        return Contender("eager", "custom", steps={"train": lambda: None}, warm_total={"train": 500.0},
                         warm_calls=3, last_warm_s={"train": seconds})

    settings = AlifSettings(rounds=9, samples=2, round_budget_s=10.0)
    assert _rounds([contender(0.1), contender(0.2)], settings) == 9  # 0.6 s a round
    assert _rounds([contender(1.0), contender(1.0)], settings) == 3  # 4 s a round: at least 3
    assert _rounds([contender(0.5), contender(0.5)], settings) == 5  # 2 s a round
    assert _rounds([contender(1.0)], AlifSettings(rounds=9)) == 9  # no budget given


SIBLING_IMPORT = """\
import torch
from bench_sibling_constants import SLOPE


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (SLOPE * x.abs() + 1.0) ** 2
"""


def test_function_imports_its_sibling_modules(tmp_path: Path) -> None:
    (tmp_path / "bench_sibling_constants.py").write_text("SLOPE = 3.0\n")
    (tmp_path / "spikes.py").write_text(SIBLING_IMPORT)
    out = tmp_path / "out.json"
    code, _, stderr = run("bench", "spike", "--function", f"{tmp_path / 'spikes.py'}::Spike", "--sizes", "4",
                          "--modes", "eager", *TINY, "--json", str(out))
    assert code == 0, stderr
    check_differences(json.loads(out.read_text()))


def test_function_whose_module_fails_to_import_is_named(tmp_path: Path) -> None:
    source = tmp_path / "spikes.py"
    source.write_text(FAST_SIGMOID_SPIKE + "\nraise RuntimeError('needs a GPU cluster')\n")
    code, _, stderr = run("bench", "spike", "--function", f"{source}::Spike", "--arg", "alpha=1.0", *TINY)
    assert code == 2 and f"{source}: executing it failed: RuntimeError: needs a GPU cluster" in stderr

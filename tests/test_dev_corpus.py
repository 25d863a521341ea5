"""The tool on the real libraries it is developed against: snntorch 1.0.0 and spikingjelly 2.0.0.

Runs only where the dev corpus is present (``FGI_DEV_CORPUS``, default
``~/.cache/fgi-dev-corpus``, filled as README's "Checking real code" says); CI has none and
skips it. For each library:

1. ``scan --format json`` and ``rewrite --out`` (safe fixes, then ``--unsafe-fixes``) agree
   class by class: convertible+safe is rewritten by both runs, convertible+unsafe only with
   ``--unsafe-fixes``, refused/ignored stay byte-identical in both. "Rewritten" is read from
   the output source (the class statement became the compatibility shim) and cross-checked
   with the per-class line the rewrite prints on stderr.
2. snntorch's ``SpikeTime.FirstSpike`` is refused (its output has another shape than its
   input: not elementwise).
3. Every rewritten class computes what the original computes. Each side (original corpus,
   safe output, unsafe output) is imported as a whole package from its own root in its own
   interpreter (this file run as a script, see ``_worker``), because the packages import
   themselves absolutely; the same inputs go to ``Cls.apply`` on each side and the parent
   compares: forward bit for bit (signed zeros included), dtype, shape, ``requires_grad``,
   the forward under ``no_grad``, and gradients for a random grad_output, bitwise for safe
   fixes and within 16 ulps for unsafe ones. Independent of ``fgi_rewrite.verify.plan*``.

Non-tensor arguments come from ``ARGS`` below, one entry per class with where the values
come from. A rewritten class without an entry fails the test: add one.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import shutil
import subprocess
import sys
import types
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

CORPUS = Path(os.environ.get("FGI_DEV_CORPUS", "~/.cache/fgi-dev-corpus")).expanduser()
LIBRARIES = {"snntorch-1.0.0": "snntorch", "spikingjelly-2.0.0": "spikingjelly"}
SHIM_MARK = "# fgi-rewrite: compatibility shim"
UNSAFE_ULPS = 16
WORKER_TIMEOUT_S = 120


def _library_param(lib: str) -> Any:
    root = CORPUS / lib / LIBRARIES[lib]
    reason = (f"dev corpus not found: {root} is missing (set FGI_DEV_CORPUS or fetch it with "
              "the commands in README.md, section 'Checking real code'; CI runs without it)")
    return pytest.param(lib, id=lib, marks=pytest.mark.skipif(not root.is_dir(), reason=reason))


ALL_LIBRARIES = [_library_param(lib) for lib in LIBRARIES]


# ---------------------------------------------------------------------------------------------
# Argument table. Key: (path relative to the library root, qualname as scan reports it).
# The first argument of every class is the differentiable tensor x (built from `domain`, with
# requires_grad); `variants` lists the remaining arguments, each variant one call.
# A `T(builder, grad)` is a further tensor argument built from x; anything else is passed as is.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class T:
    """A tensor argument built by `builder(x, generator)`; `grad`: it requires grad."""

    builder: str
    grad: bool


@dataclass(frozen=True)
class Spec:
    variants: list[tuple[Any, ...]]
    domain: str = "general"          # general | unit (values in [0, 1]) | spikes (T x B x N of 0/1)
    source: str = ""                 # where the values come from


SN = "snntorch/surrogate.py"
SJ = "spikingjelly/activation_based/surrogate.py"
SJQ = "spikingjelly/activation_based/quantize.py"

ARGS: dict[tuple[str, str], Spec] = {
    # --- snntorch ---------------------------------------------------------------------------
    ("snntorch/_neurons/leakykernel.py", "LeakyKernel.ATan"): Spec(
        [(), (2.0,)], source="forward default alpha=2.0; LeakyKernel calls it without: self.spike_grad(mem_shift)"),
    ("snntorch/_neurons/leakyparallel.py", "LeakyParallel.ATan"): Spec(
        [(), (2.0,)], source="forward default alpha=2.0"),
    ("snntorch/_neurons/leakyunroll.py", "LeakyParallel.ATan"): Spec(
        [(), (2.0,)], source="forward default alpha=2.0"),
    ("snntorch/functional/loss.py", "SpikeTime.FirstSpike"): Spec(
        [(), ("cpu",)], domain="spikes", source="forward default device='cpu'; spk_rec is T x B x N of 0/1"),
    ("snntorch/functional/loss.py", "SpikeTime.Tolerance"): Spec(
        [(T("targets_near_x", False), 2)],
        source="SpikeTime: tolerance_fn(spk_time_final, targets, self.tolerance); tolerance=2 from the "
               "mse_temporal_loss docstring; targets: x shifted by -3..3 and rounded"),
    ("snntorch/functional/quant.py", "StateQuant"): Spec(
        [(T("state_quant_levels", False),)],
        source="state_quant() defaults: num_bits=8, uniform, threshold=1, lower_limit=0, upper_limit=0.2 "
               "-> torch.linspace(-1.0, 1.2, 256) (float32)"),
    (SN, "StraightThroughEstimator"): Spec([()], source="no extra arguments"),
    (SN, "Triangular"): Spec([(1,)], source="surrogate.triangular(threshold=1)"),
    (SN, "FastSigmoid"): Spec([(25,)], source="surrogate.fast_sigmoid(slope=25)"),
    (SN, "ATan"): Spec([(2.0,)], source="surrogate.atan(alpha=2.0)"),
    (SN, "Heaviside"): Spec([()], source="no extra arguments"),
    (SN, "Sigmoid"): Spec([(25,)], source="surrogate.sigmoid(slope=25)"),
    (SN, "SpikeRateEscape"): Spec([(1, 25)], source="surrogate.spike_rate_escape(beta=1, slope=25)"),
    (SN, "SparseFastSigmoid"): Spec([(25, 1)], source="surrogate.SFS(slope=25, B=1)"),
    # --- spikingjelly -----------------------------------------------------------------------
    ("spikingjelly/activation_based/examples/cifar10_r11_enabling_spikebased_backpropagation.py", "relu"): Spec(
        [()], source="no extra arguments (BaseNode default surrogate_function=relu.apply)"),
    ("spikingjelly/activation_based/lava_exchange.py", "LeakyIntegratorStep"): Spec(
        [(T("lava_decay", True), T("like_x", True), 4096)],
        source="CubaLIFNode: decay = step_quantize(p_scale * 0.5) = 2048.0 (a 0-d tensor, learnable), "
               "state like x, w_scale = s_scale = int(scale * (1 << 6)) with scale = 1 << 6"),
    ("spikingjelly/activation_based/layer/online_learning.py", "ReplaceforGrad"): Spec(
        [(T("like_x", True),)], source="_grad_with_trace: ReplaceforGrad.apply(spike, trace), both tensors"),
    ("spikingjelly/activation_based/memopt/checkpointing.py", "_GradientToken"): Spec(
        [()], source="checkpoint(): _GradientToken.apply(target)"),
    ("spikingjelly/activation_based/model/spike_dhs.py", "dSpike"): Spec(
        [(3.0,)], source="DSpike surrogate module default alpha=3"),
    (SJQ, "RoundATGF"): Spec([()], source="no extra arguments"),
    (SJQ, "CeilATGF"): Spec([()], source="no extra arguments"),
    (SJQ, "FloorATGF"): Spec([()], source="no extra arguments"),
    (SJQ, "ClampATGF"): Spec(
        [(-0.5, 1.0)], source="clamp(x, min_value, max_value) has no defaults: literal asymmetric window"),
    (SJQ, "StepQuantizeATGF"): Spec(
        [(1.0,), (2 / 64,)], source="step_quantize default step=1.0; lava quantize_8b step=2/scale, scale=64"),
    (SJQ, "MultiLevelSpikeCountATGF"): Spec(
        [(4, 0.0, 4.0), (4, 0.5, 3.5)],
        source="multi_level_spike_count(x, 4): grad window defaults to (0.0, float(max_spike_count)); "
               "max_spike_count=4 and the window (0.5, 3.5) are literals"),
    (SJQ, "KBitQuantizeATGF"): Spec([(2,), (8,)], source="k_bit_quantize(x, k) has no default: literals 2 and 8"),
    (SJ, "piecewise_quadratic"): Spec([(1.0,)], source="PiecewiseQuadratic(alpha=1.0)"),
    (SJ, "piecewise_exp"): Spec([(1.0,)], source="PiecewiseExp(alpha=1.0)"),
    (SJ, "sigmoid"): Spec([(4.0,)], source="Sigmoid(alpha=4.0)"),
    (SJ, "soft_sign"): Spec([(2.0,)], source="SoftSign(alpha=2.0)"),
    (SJ, "super_spike"): Spec([(1.0,)], source="SuperSpike(alpha=1.0)"),
    (SJ, "atan"): Spec([(2.0,)], source="ATan(alpha=2.0)"),
    (SJ, "nonzero_sign_log_abs"): Spec([(1.0,)], source="NonzeroSignLogAbs(alpha=1.0)"),
    (SJ, "erf"): Spec([(2.0,)], source="Erf(alpha=2.0)"),
    (SJ, "piecewise_leaky_relu"): Spec(
        [(1, 0.01), (1.0, 0.01)], source="forward defaults w=1, c=0.01; PiecewiseLeakyReLU(w=1.0, c=0.01)"),
    (SJ, "squarewave_fourier_series"): Spec([(2, 8.0)], source="SquarewaveFourierSeries(n=2, T_period=8)"),
    (SJ, "s2nn"): Spec([(4.0, 1.0)], source="S2NN(alpha=4.0, beta=1.0)"),
    (SJ, "q_pseudo_spike"): Spec([(2.0,)], source="QPseudoSpike(alpha=2.0)"),
    (SJ, "leaky_k_relu"): Spec([(0.0, 1.0)], source="LeakyKReLU(leak=0.0, k=1.0)"),
    (SJ, "fake_numerical_gradient"): Spec([(0.3,)], source="FakeNumericalGradient(alpha=0.3)"),
    (SJ, "log_tailed_relu"): Spec([(0.0,)], source="LogTailedReLU(alpha=0.0)"),
    (SJ, "deterministic_pass"): Spec([()], source="no extra arguments"),
    (SJ, "poisson_pass"): Spec(
        [()], domain="unit", source="no extra arguments; x is a firing probability (bernoulli), RNG seeded per side"),
    (SJ, "rect"): Spec([(1.0,)], source="Rect(alpha=1.0)"),
}

DTYPES = ("float32", "float64")


# ---------------------------------------------------------------------------------------------
# Running the tool (in process) and reading its outputs.
# ---------------------------------------------------------------------------------------------


@dataclass
class LibraryRun:
    lib: str
    root: Path                                   # the original library root (holds the package)
    scan: dict[tuple[str, str], dict]            # (path, qualname) -> scan entry
    trees: dict[str, Path] = field(default_factory=dict)          # "safe"/"unsafe" -> importable root
    stderr: dict[str, dict[tuple[str, str], str]] = field(default_factory=dict)  # per-class line
    raw_stderr: dict[str, str] = field(default_factory=dict)


def _invoke(*args: str) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from fgi_rewrite.cli import main

    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"fgi-rewrite {' '.join(args)} crashed: {result.exception!r}\n{result.stderr}")
    return result.exit_code, result.stdout, result.stderr


OUTCOME_LINE = re.compile(r"^(?P<path>[^:]+\.py): (?P<qualname>[^:]+): "
                          r"(?P<outcome>rewritten|held-back|refused|ignored)\b(?P<rest>.*)$")


def _run_library(lib: str, tmp: Path) -> LibraryRun:
    import json

    root = CORPUS / lib
    package = LIBRARIES[lib]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        code, out, err = _invoke("scan", package, "--format", "json")
        assert code in (0, 1), f"{lib}: scan exited {code}: {err}"
        report = json.loads(out)
        assert not report["errors"], f"{lib}: scan errors: {report['errors']}"
        scan: dict[tuple[str, str], dict] = {}
        for entry in report["functions"]:
            key = (entry["path"], entry["qualname"])
            assert key not in scan, f"{lib}: two classes share path and qualname {key}"
            scan[key] = entry
        run = LibraryRun(lib, root, scan)
        for mode, flags in (("safe", ()), ("unsafe", ("--unsafe-fixes",))):
            dest = tmp / lib / mode
            code, _, err = _invoke("rewrite", package, "--out", str(dest), *flags)
            assert code == 0, f"{lib}: rewrite {' '.join(flags)} exited {code}:\n{err}"
            _complete_tree(root, dest)
            run.trees[mode] = dest
            run.raw_stderr[mode] = err
            run.stderr[mode] = {}
            for line in err.splitlines():
                match = OUTCOME_LINE.match(line)
                if match:
                    run.stderr[mode][(match["path"], match["qualname"])] = match["outcome"] + match["rest"]
    return run


def _complete_tree(original: Path, dest: Path) -> None:
    """--out writes the Python files; add what else the package holds so that it imports."""
    for path in original.rglob("*"):
        target = dest / path.relative_to(original)
        if path.is_file() and not target.exists() and ".dist-info" not in str(path.relative_to(original)):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


@pytest.fixture(scope="module")
def library_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], LibraryRun]:
    cache: dict[str, LibraryRun] = {}

    def get(lib: str) -> LibraryRun:
        if lib not in cache:
            cache[lib] = _run_library(lib, tmp_path_factory.mktemp("dev-corpus"))
        return cache[lib]

    return get


def _class_nodes(source: str) -> dict[str, ast.ClassDef]:
    """Every class in `source` by qualname (enclosing classes and functions, dotted)."""
    found: dict[str, ast.ClassDef] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                if isinstance(child, ast.ClassDef):
                    found.setdefault(name, child)
                visit(child, name + ".")
            else:
                visit(child, prefix)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning))  # "\ " in corpus docstrings
        tree = ast.parse(source)
    visit(tree, "")
    return found


def _class_state(original: Path, rewritten: Path, qualname: str) -> str:
    """'rewritten' (now the shim), 'unchanged' (byte-identical class), or what else happened."""
    if not rewritten.is_file():
        return "missing from the output"
    old_src, new_src = original.read_text(encoding="utf-8"), rewritten.read_text(encoding="utf-8")
    qualname = qualname.replace(".<locals>", "")
    old, new = _class_nodes(old_src).get(qualname), _class_nodes(new_src).get(qualname)
    if new is None:
        return "class gone from the output"
    class_line = new_src.splitlines()[new.lineno - 1]
    if SHIM_MARK in class_line and not new.bases:
        return "rewritten"
    if old is not None and ast.get_source_segment(old_src, old) == ast.get_source_segment(new_src, new):
        return "unchanged"
    return f"changed but not into the shim: {class_line.strip()!r}"


def _expected(entry: dict, mode: str) -> str:
    if entry["status"] == "convertible" and (entry["fix"] == "safe" or mode == "unsafe"):
        return "rewritten"
    return "unchanged"


# ---------------------------------------------------------------------------------------------
# 1. scan's verdict equals rewrite's outcome; 2. FirstSpike is refused.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lib", ALL_LIBRARIES)
def test_scan_verdict_equals_rewrite_outcome(lib: str, library_run: Callable[[str], LibraryRun]) -> None:
    run = library_run(lib)
    problems: list[str] = []
    for (path, qualname), entry in sorted(run.scan.items()):
        verdict = f"{entry['status']}" + (f"/{entry['fix']}" if entry["status"] == "convertible" else "") + \
            f" ({entry['code']})"
        for mode, tree in run.trees.items():
            expected = _expected(entry, mode)
            state = _class_state(run.root / path, tree / path, qualname)
            said = run.stderr[mode].get((path, qualname), "<no line on stderr>")
            said_rewritten = said.startswith("rewritten")
            if state != expected or said_rewritten != (expected == "rewritten"):
                problems.append(f"{path}::{qualname}: scan says {verdict}; rewrite "
                                f"{'--unsafe-fixes' if mode == 'unsafe' else '(safe fixes)'}: expected "
                                f"{expected}, output is {state}; stderr: {said}")
    for mode, lines in run.stderr.items():
        for key in sorted(set(lines) - set(run.scan)):
            problems.append(f"{key[0]}::{key[1]}: rewrite ({mode}) reports it, scan does not: {lines[key]}")
    assert not problems, f"{lib}: {len(problems)} disagreement(s) between scan and rewrite:\n" + "\n".join(problems)


@pytest.mark.parametrize("lib", [p for p in ALL_LIBRARIES if p.values[0] == "snntorch-1.0.0"])
def test_snntorch_first_spike_is_refused(lib: str, library_run: Callable[[str], LibraryRun]) -> None:
    run = library_run(lib)
    hits = [(key, entry) for key, entry in run.scan.items()
            if key[0] == "snntorch/functional/loss.py" and key[1].split(".")[-1] == "FirstSpike"]
    assert len(hits) == 1, f"FirstSpike not found exactly once in snntorch/functional/loss.py: {hits}"
    (path, qualname), entry = hits[0]
    assert entry["status"] == "refused", (
        f"{path}::{qualname} must be refused (forward maps T x B x N to B x N: not elementwise, "
        f"the output has another shape than the differentiable input), scan says "
        f"{entry['status']}/{entry['fix']} {entry['code']}: {entry['reason']}")
    for mode, tree in run.trees.items():
        state = _class_state(run.root / path, tree / path, qualname)
        assert state == "unchanged", f"{path}::{qualname} in the {mode} output: {state}"


# ---------------------------------------------------------------------------------------------
# 3. Every rewritten class is equivalent.
# ---------------------------------------------------------------------------------------------


def _module_name(path: str) -> str:
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _x(domain: str, dtype: Any, gen: Any) -> Any:
    import torch

    finfo = torch.finfo(dtype)
    if domain == "spikes":
        spikes = (torch.rand((6, 3, 5), generator=gen, dtype=torch.float64) < 0.3).to(dtype)
        spikes[:, 0, 0] = 0.0   # a neuron that never fires
        spikes[:, 1, 1] = 1.0   # one that always fires
        return spikes
    if domain == "unit":
        special = [0.0, -0.0, 1.0, 0.5, finfo.tiny, finfo.smallest_normal / 4, 1e-30, 1e-7,
                   1.0 - finfo.eps, 0.25, 0.75, 1.0 / 3.0]
        rest = torch.rand(64 - len(special), generator=gen, dtype=torch.float64)
        return torch.cat([torch.tensor(special, dtype=torch.float64), rest]).to(dtype).reshape(4, 16)
    special = [0.0, -0.0, finfo.tiny, -finfo.tiny, finfo.smallest_normal / 4, -finfo.smallest_normal / 4,
               1e-30, -1e-30, 1e-7, -1e-7, 1e-3, -1e-3, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.0, -2.0,
               2.5, -2.5, 3.0, -3.0, 3.5, 4.0, -4.0, 8.0, 100.0, -100.0, 3e4, -3e4]
    scales = [1e-3] * 24 + [1.0] * 40 + [10.0] * 20 + [1e3] * 12
    rest = torch.randn(len(scales), generator=gen, dtype=torch.float64) * torch.tensor(scales, dtype=torch.float64)
    return torch.cat([torch.tensor(special, dtype=torch.float64), rest]).to(dtype).reshape(8, 16)


def _tensor_arg(builder: str, x: Any, gen: Any) -> Any:
    import torch

    if builder == "like_x":
        return _x("general", x.dtype, gen).reshape(x.shape)
    if builder == "targets_near_x":
        shift = torch.randint(-3, 4, x.shape, generator=gen).to(torch.float64)
        return (x.to(torch.float64) + shift).round().to(x.dtype)
    if builder == "state_quant_levels":
        return torch.linspace(-1.0, 1.2, 256)
    if builder == "lava_decay":
        return torch.tensor(2048.0, dtype=x.dtype)
    raise AssertionError(f"unknown tensor builder {builder}")


def _cases(spec: Spec, seed: int) -> list[dict]:
    import torch

    cases = []
    for dtype_name in DTYPES:
        dtype = getattr(torch, dtype_name)
        for variant in spec.variants:
            gen = torch.Generator().manual_seed(seed + len(cases))
            x = _x(spec.domain, dtype, gen)
            args, grads = [x], [True]
            for item in variant:
                if isinstance(item, T):
                    args.append(_tensor_arg(item.builder, x, gen))
                    grads.append(item.grad)
                else:
                    args.append(item)
                    grads.append(False)
            cases.append({"id": f"{dtype_name}, args {variant!r}", "args": args, "grad": grads,
                          "seed": seed + 1000 + len(cases)})
    return cases


def _run_workers(jobs: dict[str, tuple[Path, Path, Path, str]]) -> dict[str, dict]:
    """Run one worker per side in parallel: name -> (import root, cases file, results file, kind)."""
    import torch

    procs = {}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for name, (root, cases_file, results_file, kind) in jobs.items():
        procs[name] = subprocess.Popen(
            [sys.executable, __file__, str(root), str(cases_file), str(results_file), kind],
            cwd=str(results_file.parent), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    results = {}
    for name, proc in procs.items():
        try:
            output, _ = proc.communicate(timeout=WORKER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            raise AssertionError(f"worker {name} timed out:\n{output[-4000:]}") from None
        assert proc.returncode == 0, f"worker {name} failed ({proc.returncode}):\n{output[-4000:]}"
        results[name] = torch.load(jobs[name][2])
    return results


def _bits(t: Any) -> Any:
    import torch

    ints = {torch.float64: torch.int64, torch.float32: torch.int32, torch.float16: torch.int16,
            torch.bfloat16: torch.int16}
    return t.view(ints[t.dtype]) if t.dtype in ints else t


def _first_differences(a: Any, b: Any, bad: Any, x: Any, limit: int = 4) -> str:
    idx = bad.nonzero()[:limit].tolist()
    shown = []
    for i in idx:
        i = tuple(i)
        xi = f"x={x[i].item()!r}, " if x is not None and x.shape == a.shape else ""
        shown.append(f"[{','.join(map(str, i))}] {xi}original={a[i].item()!r} rewritten={b[i].item()!r}")
    return f"{int(bad.sum())} element(s) differ, e.g. " + "; ".join(shown)


def _compare_forward(a: Any, b: Any, x: Any, hazard: Any = None) -> str | None:
    """Bitwise, except where the original's own gradient is not finite: there FGI's cancel pair
    is NaN by design (the non-finite hazard of docs/architecture.md, which the guarded style avoids)."""
    import torch

    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        return None if repr(a) == repr(b) else f"original returned {a!r}, rewritten {b!r}"
    if (a.dtype, tuple(a.shape), a.device) != (b.dtype, tuple(b.shape), b.device):
        return f"dtype/shape/device {a.dtype}/{tuple(a.shape)}/{a.device} vs {b.dtype}/{tuple(b.shape)}/{b.device}"
    bad = _bits(a) != _bits(b)
    if hazard is not None:
        bad &= ~hazard
    return _first_differences(a, b, bad, x) if bool(bad.any()) else None


def _ulps(a: Any, b: Any) -> Any:
    """|a - b| in units in the last place of max(|a|, |b|), in a's dtype (0 where bitwise equal)."""
    import torch

    m = torch.maximum(a.abs(), b.abs())
    ulp = torch.nextafter(m, torch.full_like(m, float("inf"))) - m
    diff = (a.to(torch.float64) - b.to(torch.float64)).abs() / ulp.to(torch.float64)
    same = (_bits(a) == _bits(b)) | (torch.isnan(a) & torch.isnan(b)) | (a == b)
    return torch.where(same, torch.zeros_like(diff), diff.nan_to_num(nan=float("inf")))


def _compare_grad(a: Any, b: Any, ulps: int, x: Any) -> str | None:
    if a is None or b is None:
        if a is None and b is None:
            return None
        return "no gradient in the original, a tensor in the rewrite" if a is None else \
            "a gradient in the original, None in the rewrite"
    if (a.dtype, tuple(a.shape)) != (b.dtype, tuple(b.shape)):
        return f"gradient dtype/shape {a.dtype}/{tuple(a.shape)} vs {b.dtype}/{tuple(b.shape)}"
    if ulps == 0:
        bad = _bits(a) != _bits(b)
        return f"not bitwise equal: {_first_differences(a, b, bad, x)}" if bool(bad.any()) else None
    dist = _ulps(a, b)
    bad = dist > ulps
    if bool(bad.any()):
        return f"more than {ulps} ulps apart (max {float(dist.max()):.3g}): {_first_differences(a, b, bad, x)}"
    return None


def _hazard(result: dict, out: Any) -> Any:
    """Elements where an original gradient of the output's shape is not finite (None if none)."""
    import torch

    mask = None
    for grad in result.get("grads") or ():
        if isinstance(grad, torch.Tensor) and isinstance(out, torch.Tensor) and grad.shape == out.shape:
            bad = ~torch.isfinite(grad)
            mask = bad if mask is None else mask | bad
    return mask


def _compare_class(label: str, cases: list[dict], orig: dict, new: dict, ulps: int) -> list[str]:
    if orig.get("import_error"):
        return [f"{label}: the original does not import: {orig['import_error']}"]
    if new.get("import_error"):
        return [f"{label}: the rewritten side does not import: {new['import_error']}"]
    problems = [f"{label}: isolation: {p}" for p in orig["isolation"] + new["isolation"]]
    for case, o, n in zip(cases, orig["cases"], new["cases"], strict=True):
        where = f"{label} [{case['id']}]"
        x = case["args"][0]
        if o["error"]:
            problems.append(f"{where}: the original raised (fix the argument table?): {o['error']}")
            continue
        if n["error"]:
            problems.append(f"{where}: the rewrite raised where the original did not: {n['error']}")
            continue
        hazard = _hazard(o, o["out"])
        for what, diff in (("forward", _compare_forward(o["out"], n["out"], x, hazard)),
                           ("forward under no_grad", _compare_forward(o["out_nograd"], n["out_nograd"], x))):
            if diff:
                problems.append(f"{where}: {what}: {diff}")
        if o["out_requires_grad"] != n["out_requires_grad"]:
            problems.append(f"{where}: output requires_grad {o['out_requires_grad']} (original) vs "
                            f"{n['out_requires_grad']} (rewritten)")
        if o["grad_error"] or n["grad_error"]:
            if o["grad_error"] != n["grad_error"]:
                problems.append(f"{where}: backward: original {o['grad_error'] or 'ran'}, "
                                f"rewritten {n['grad_error'] or 'ran'}")
            continue
        positions = [i for i, g in enumerate(case["grad"]) if g]
        for i, go, gn in zip(positions, o["grads"], n["grads"], strict=True):
            diff = _compare_grad(go, gn, ulps, case["args"][i])
            if diff:
                problems.append(f"{where}: gradient of argument {i}: {diff}")
    return problems


@pytest.mark.parametrize("lib", ALL_LIBRARIES)
def test_rewritten_classes_are_equivalent(lib: str, library_run: Callable[[str], LibraryRun],
                                          tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    run = library_run(lib)
    rewritten = {mode: sorted(key for key in run.scan
                              if _class_state(run.root / key[0], tree / key[0], key[1]) == "rewritten")
                 for mode, tree in run.trees.items()}
    wanted = sorted(set(rewritten["safe"]) | set(rewritten["unsafe"]))
    missing = [f"{p}::{q}" for p, q in wanted if (p, q) not in ARGS]
    assert not missing, "rewritten classes without an entry in ARGS (add one): " + ", ".join(missing)
    if not wanted:
        pytest.skip(f"{lib}: nothing rewritten")

    cases = {key: _cases(ARGS[key], seed=zlib.crc32(f"{key[0]}::{key[1]}".encode())) for key in wanted}
    jobs, side_keys = {}, {}
    for side, root, keys in (("original", run.root, wanted),
                             ("safe", run.trees["safe"], rewritten["safe"]),
                             ("unsafe", run.trees["unsafe"], rewritten["unsafe"])):
        if not keys:
            continue
        side_keys[side] = keys
        payload = [{"module": _module_name(p), "qualname": q, "cases": cases[(p, q)]} for p, q in keys]
        (tmp_path / side).mkdir()
        cases_file, results_file = tmp_path / side / "cases.pt", tmp_path / side / "results.pt"
        torch.save(payload, cases_file)
        jobs[side] = (root, cases_file, results_file, "original" if side == "original" else "rewritten")
    results = _run_workers(jobs)
    by_key = {side: dict(zip([(_module_name(p), q) for p, q in side_keys[side]], res["classes"], strict=True))
              for side, res in results.items()}

    problems: list[str] = []
    for side in ("safe", "unsafe"):
        for path, qualname in rewritten[side]:
            key = (_module_name(path), qualname)
            fix = run.scan[(path, qualname)]["fix"]
            ulps = 0 if fix == "safe" else UNSAFE_ULPS
            label = f"{path}::{qualname} ({fix} fix, {side} output)"
            problems += _compare_class(label, cases[(path, qualname)], by_key["original"][key], by_key[side][key], ulps)
    stubs = sorted({s for res in results.values() for s in res["stubbed"]})
    note = f" (modules stubbed because absent here: {', '.join(stubs)})" if stubs else ""
    assert not problems, f"{lib}: {len(problems)} difference(s){note}:\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# The worker: imports one side from its own root and runs the cases. No fgi_rewrite import.
# ---------------------------------------------------------------------------------------------

# Third-party modules some corpus modules import at their top for logging, progress bars,
# datasets (h5py, torchvision) or tensorboard, none of them used by the classes under test. Stubbed only when the
# real one fails to import, identically on every side.
STUB_MODULES = ("loguru", "tqdm", "h5py", "torchvision", "torchvision.transforms", "torch.utils.tensorboard",
                "tensorboardX")


class _AnythingMeta(type):
    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything()


class _Anything(metaclass=_AnythingMeta):
    """Usable as a class, a base class, an instance, a callable and an attribute chain."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> _Anything:
        return _Anything()

    def __getattr__(self, name: str) -> _Anything:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything()


class _StubModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything


def _install_stubs() -> list[str]:
    stubbed = []
    for name in STUB_MODULES:
        try:
            importlib.import_module(name)
        except Exception:
            module = _StubModule(name)
            module.__path__ = []  # a package, so that submodules can be stubbed too
            sys.modules[name] = module
            parent, _, child = name.rpartition(".")
            if parent and parent in sys.modules:
                setattr(sys.modules[parent], child, module)
            stubbed.append(name)
    return stubbed


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def _worker(root: str, cases_file: str, results_file: str, kind: str) -> None:
    sys.path[0] = root            # the script's own directory (tests/) is not importable here
    import torch

    torch.set_num_threads(1)
    stubbed = _install_stubs()
    payload = torch.load(cases_file)
    classes = []
    for item in payload:
        record: dict[str, Any] = {"import_error": None, "isolation": [], "cases": []}
        classes.append(record)
        try:
            module = importlib.import_module(item["module"])
            cls: Any = module
            for part in item["qualname"].split("."):
                cls = getattr(cls, part)
        except Exception as exc:
            record["import_error"] = _error(exc)
            continue
        file = Path(module.__file__ or "").resolve()
        if Path(root).resolve() not in file.parents:
            record["isolation"].append(f"{item['module']} was imported from {file}, not from {root}")
        is_function = isinstance(cls, type) and issubclass(cls, torch.autograd.Function)
        if is_function != (kind == "original"):
            record["isolation"].append(f"{kind} side: {item['qualname']} is "
                                       f"{'a' if is_function else 'no'} torch.autograd.Function subclass")
        for case in item["cases"]:
            record["cases"].append(_run_case(cls, case))
    torch.save({"classes": classes, "stubbed": stubbed}, results_file)


def _run_case(cls: Any, case: dict) -> dict:
    import torch

    def fresh() -> list[Any]:
        return [a.detach().clone().requires_grad_(g) if isinstance(a, torch.Tensor) else a
                for a, g in zip(case["args"], case["grad"], strict=True)]

    result: dict[str, Any] = {"error": None, "out": None, "out_nograd": None, "out_requires_grad": None,
                              "grads": [], "grad_error": None}
    try:
        args = fresh()
        torch.manual_seed(case["seed"])
        out = cls.apply(*args)
        with torch.no_grad():
            torch.manual_seed(case["seed"])
            result["out_nograd"] = cls.apply(*fresh())
    except Exception as exc:
        result["error"] = _error(exc)
        return result
    result["out"] = out.detach().clone() if isinstance(out, torch.Tensor) else out
    result["out_requires_grad"] = bool(getattr(out, "requires_grad", False))
    inputs = [a for a, g in zip(args, case["grad"], strict=True) if g]
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        result["grad_error"] = f"output is {type(out).__name__} {getattr(out, 'dtype', '')}: no backward"
        return result
    gen = torch.Generator().manual_seed(case["seed"] + 1)
    grad_output = torch.randn(out.shape, generator=gen, dtype=torch.float64).to(out.dtype)
    try:
        grads = torch.autograd.grad(out, inputs, grad_output, allow_unused=True)
    except Exception as exc:
        result["grad_error"] = _error(exc)
        return result
    result["grads"] = [g.detach().clone() if g is not None else None for g in grads]
    return result


if __name__ == "__main__":
    _worker(*sys.argv[1:5])

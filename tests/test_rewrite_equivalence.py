"""Every safe rewrite of a shipped fixture computes what the original class computes.

Both versions are imported side by side; forward values must be bitwise identical (signed
zeros, NaN payloads and dtype included) and gradients bit-identical, in float64, float32 and
bfloat16, on random inputs at several scales plus exact threshold points and -0.0.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

torch = pytest.importorskip("torch")

from fgi_rewrite.analysis.discovery import find_function_classes  # noqa: E402
from fgi_rewrite.rewrite import RewriteOptions, rewrite_module  # noqa: E402
from fgi_rewrite.verify.compare import ulps_apart  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

BROADCAST_ULPS = 4  # documented in README: gradients of broadcast parameters
PROBE_ULPS = 16  # documented in README: probe-path (unsafe) gradients; sums of terms round differently
UNSAFE = RewriteOptions(unsafe_fixes=True)

# Constant (non-differentiable) arguments that are not plain numbers: name -> factory(x).
TENSOR_CONSTANTS = {
    "hard": lambda x: torch.round(x.detach() * 4) / 4,
    "x_quant": lambda x: torch.round(x.detach() * 4) / 4,
}
SPECIAL = {
    ("ctx_stores_module.py", "surrogate"): lambda module, x: module.ATanShape(),
    ("round_ste_quantizer.py", "levels"): lambda module, x: 15,
    ("loop_fourier.py", "n_terms"): lambda module, x: 3,
    ("forward_view_as_quantiser.py", "step"): lambda module, x: 0.05,
    ("forward_view_as_quantiser.py", "qmax"): lambda module, x: 7,
    ("ctx_tuple_attributes_quantiser.py", "step"): lambda module, x: 0.05,
    ("ctx_tuple_attributes_quantiser.py", "qmax"): lambda module, x: 7,
    # a hyper-parameter tensor that requires grad while backward returns None for it
    ("hyper_tensor_requires_grad_none.py", "threshold"):
        lambda module, x: torch.tensor(0.25, dtype=x.dtype, requires_grad=True),
}


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _resolve(module: ModuleType, qualname: str):
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _cases(options: RewriteOptions = RewriteOptions(), only_new: bool = False):
    for path in sorted(FIXTURES.glob("*.py")):
        safe = {o.qualname for o in rewrite_module(path.read_bytes()).outcomes if o.outcome == "rewritten"}
        result = rewrite_module(path.read_bytes(), options)
        for outcome in result.outcomes:
            if outcome.outcome == "rewritten" and "<locals>" not in outcome.qualname:
                if only_new and outcome.qualname in safe:
                    continue
                yield pytest.param(path.name, outcome.qualname, outcome.function, id=f"{path.name}::{outcome.qualname}")


def _inputs(file: str, module: ModuleType, cls: str, dtype: torch.dtype, seed: int):
    import libcst as cst

    from fgi_rewrite.analysis.extract import extract
    from fgi_rewrite.verify.arguments import make_arguments

    classes, index = find_function_classes(cst.parse_module((FIXTURES / file).read_bytes()))
    ir = extract(next(c for c in classes if c.qualname == cls), index)
    overrides = {name: TENSOR_CONSTANTS[name] for name in TENSOR_CONSTANTS}
    overrides.update({name: (lambda x, f=factory: f(module, x))
                      for (f_, name), factory in SPECIAL.items() if f_ == file})
    from fgi_rewrite.verify.plan import argument_spec

    arguments, leaves, _ = make_arguments(argument_spec(ir), vars(module), dtype, seed, overrides)
    return arguments, leaves


def _bits(t: torch.Tensor) -> torch.Tensor:
    width = {8: torch.int64, 4: torch.int32, 2: torch.int16, 1: torch.int8}[t.element_size()]
    return t.detach().contiguous().view(width)


def _ulps(a: torch.Tensor, b: torch.Tensor, precision: torch.dtype | None = None) -> float:
    """Largest |a - b| in units in the last place of max(|a|, |b|) (docs/architecture.md, "Verification"),
    in `precision` when the original's arithmetic ran coarser than the gradient's dtype;
    verify's own measure, so the test and the tool cannot disagree on what an ulp is."""
    return ulps_apart(a.detach(), b.detach(), precision or a.dtype)


def _assert_bitwise(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    assert (a.dtype, a.shape, a.device) == (b.dtype, b.shape, b.device), what
    differ = (_bits(a) != _bits(b)).sum().item()
    assert differ == 0, f"{what}: {differ} elements differ"


def _rewrite_all(out: Path, options: RewriteOptions) -> Path:
    for path in FIXTURES.glob("*.py"):
        (out / path.name).write_bytes(rewrite_module(path.read_bytes(), options).source)
    return out


@pytest.fixture(scope="module")
def rewritten(tmp_path_factory) -> Path:
    return _rewrite_all(tmp_path_factory.mktemp("rewritten"), RewriteOptions())


@pytest.fixture(scope="module")
def rewritten_unsafe(tmp_path_factory) -> Path:
    return _rewrite_all(tmp_path_factory.mktemp("rewritten_unsafe"), UNSAFE)


@pytest.mark.parametrize("file,qualname,function", list(_cases()))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16, torch.float16], ids=str)
def test_rewrite_is_bit_identical(rewritten: Path, file: str, qualname: str, function: str, dtype) -> None:
    _compare(rewritten, "safe", file, qualname, function, dtype, gradient_ulps=0)


@pytest.mark.parametrize("file,qualname,function", list(_cases(UNSAFE, only_new=True)))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16], ids=str)
def test_unsafe_rewrite_matches_within_probe_tolerance(rewritten_unsafe: Path, file: str, qualname: str,
                                                      function: str, dtype) -> None:
    _compare(rewritten_unsafe, "unsafe", file, qualname, function, dtype, gradient_ulps=PROBE_ULPS)


def _compare(rewritten: Path, tag: str, file: str, qualname: str, function: str, dtype, gradient_ulps: int) -> None:
    stem = file[:-3]
    original = _load(FIXTURES / file, f"_orig_{stem}")
    new = _load(rewritten / file, f"_fgi_{tag}_{stem}")
    assert new.__file__ != original.__file__
    apply_original = _resolve(original, qualname).apply
    fgi = getattr(new, function)
    assert _resolve(new, qualname).apply is fgi  # the compatibility shim
    for seed in range(3):
        args_a, leaves_a = _inputs(file, original, qualname, dtype, seed)
        args_b, leaves_b = _inputs(file, original, qualname, dtype, seed)
        torch.manual_seed(seed)
        out_a = apply_original(*args_a)
        torch.manual_seed(seed)
        out_b = fgi(*args_b)
        _assert_bitwise(out_a, out_b, f"forward, seed {seed}")
        grad_output = torch.randn(out_a.shape, generator=torch.Generator().manual_seed(seed + 100),
                                  dtype=torch.float64).to(out_a.dtype)
        grads_a = torch.autograd.grad(out_a, leaves_a, grad_output, allow_unused=True)
        grads_b = torch.autograd.grad(out_b, leaves_b, grad_output, allow_unused=True)
        for position, (ga, gb) in enumerate(zip(grads_a, grads_b, strict=True)):
            assert (ga is None) == (gb is None), f"gradient {position} presence"
            if ga is None:
                continue
            if ga.shape == out_a.shape and gradient_ulps == 0:
                _assert_bitwise(ga, gb, f"gradient {position}, seed {seed}")
            elif ga.shape == out_a.shape:
                assert (ga.dtype, ga.shape) == (gb.dtype, gb.shape)
                # grad_output has the value's dtype: a float32 value on float64 inputs makes the
                # original's own arithmetic float32-precise, and the probe rounds like it.
                coarse = max((ga.dtype, out_a.dtype), key=lambda d: torch.finfo(d).eps)
                assert _ulps(ga, gb, coarse) <= gradient_ulps, f"gradient {position}: {_ulps(ga, gb, coarse)} ulps"
            else:
                # A broadcast parameter: autograd's own reduction replaces the hand-written
                # .sum(); its summation order may differ in the last place (seen in bfloat16).
                assert (ga.dtype, ga.shape) == (gb.dtype, gb.shape)
                assert _ulps(ga, gb) <= BROADCAST_ULPS, f"gradient {position}: {_ulps(ga, gb)} ulps"


def test_symbolic_rewrites_contain_no_probe() -> None:
    probed = 0
    for path in FIXTURES.glob("*.py"):
        original = path.read_bytes()
        safe = rewrite_module(original)
        if safe.changed:
            assert safe.source.count(b"ones_like") == original.count(b"ones_like"), path.name
        probed += rewrite_module(original, UNSAFE).source.count(b"ones_like") > original.count(b"ones_like")
    assert probed >= 5  # the probe path does write ones_like: the check above can see it


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "no-fast-path"])
def test_emitted_function_scripts_and_matches_under_no_grad(tmp_path: Path, fast_path: bool) -> None:
    """TorchScript compiles the emitted function (it rejected an early return before a `with`
    block), and grad mode on or off gives the original's value."""
    source = (FIXTURES / "fast_sigmoid_legacy.py").read_bytes()
    target = tmp_path / f"fast_sigmoid_fp{int(fast_path)}.py"
    target.write_bytes(rewrite_module(source, RewriteOptions(fast_path=fast_path)).source)
    assert (b"if torch.jit.is_scripting() or torch.is_grad_enabled():" in target.read_bytes()) == fast_path
    original = _load(FIXTURES / "fast_sigmoid_legacy.py", "_orig_fast_sigmoid_legacy")
    new = _load(target, target.stem)
    scripted = torch.jit.script(new.fast_sigmoid_fgi)
    x = torch.randn(4, 3)
    x[0, 0] = -0.0
    with torch.no_grad():
        _assert_bitwise(original.FastSigmoid.apply(x, 25.0), scripted(x, 25.0), "no_grad forward")
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    original.FastSigmoid.apply(xa, 25.0).sum().backward()
    scripted(xb, 25.0).sum().backward()
    _assert_bitwise(xa.grad, xb.grad, "scripted gradient")


@pytest.mark.parametrize("file,qualname,function", list(_cases()))
def test_forward_mode_tangent_is_the_surrogate_gradient(rewritten: Path, file: str, qualname: str,
                                                        function: str) -> None:
    """torch.func.jvp through the FGI function gives g(x) * t: factors carry no tangent of their
    own (torch.no_grad() does not stop forward-mode AD; .detach() does)."""
    stem = file[:-3]
    original = _load(FIXTURES / file, f"_orig_{stem}")
    new = _load(rewritten / file, f"_fgi_jvp_{stem}")
    args, leaves = _inputs(file, original, qualname, torch.float64, 0)
    position = next(i for i, a in enumerate(args) if a is leaves[0])
    if leaves[0].dim() == 0:
        pytest.skip("scalar parameter")
    tangent = torch.randn(leaves[0].shape, dtype=torch.float64, generator=torch.Generator().manual_seed(5))

    def f(x):
        call = list(args)
        call[position] = x
        return getattr(new, function)(*call)

    torch.manual_seed(0)
    out, jvp_tangent = torch.func.jvp(f, (leaves[0].detach(),), (tangent,))
    x = leaves[0].detach().clone().requires_grad_(True)
    torch.manual_seed(0)
    y = f(x)
    if y.shape != x.shape:
        pytest.skip("input and output shapes differ")
    (vjp,) = torch.autograd.grad(y, x, tangent.to(y.dtype))
    # Same factors, applied to t in forward mode and to grad_output in reverse mode: equal up
    # to the rounding of the value's dtype (the chain runs in it when forward casts to float32).
    rtol = 8 * torch.finfo(y.dtype).eps
    atol = torch.finfo(y.dtype).tiny  # the float32 tangent flushes what a float64 gradient keeps
    assert torch.allclose(jvp_tangent.double(), vjp.double(), rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("style", ["signed-zero", "paper", "guarded"])
def test_styles_keep_values_and_gradients_and_guarded_survives_non_finite_inputs(tmp_path: Path, style: str) -> None:
    source = (FIXTURES / "fast_sigmoid_legacy.py").read_bytes()
    target = tmp_path / f"fast_sigmoid_{style.replace('-', '_')}.py"
    target.write_bytes(rewrite_module(source, RewriteOptions(style=style)).source)
    original = _load(FIXTURES / "fast_sigmoid_legacy.py", "_orig_fast_sigmoid_styles")
    new = _load(target, target.stem)
    x = torch.tensor([-2.0, -0.0, 0.0, 0.5, 3.0, float("inf"), float("-inf"), float("nan")], dtype=torch.float64)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = original.FastSigmoid.apply(xa, 2.7), new.fast_sigmoid_fgi(xb, 2.7)
    finite = torch.isfinite(x)
    _assert_bitwise(ya[finite], yb[finite], "finite inputs")
    ya.sum().backward()
    yb.sum().backward()
    _assert_bitwise(xa.grad[finite], xb.grad[finite], "finite gradients")
    if style == "guarded":
        # The value at ±inf stays the original's 0/1; NaN input gives the original's value too.
        _assert_bitwise(ya[~finite], yb[~finite], "non-finite inputs")
    else:
        assert torch.isnan(yb[~finite]).any()  # the hazard the guarded style removes

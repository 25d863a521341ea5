"""The emitted FGI functions script, and save/load through a Module, whenever the original's
arithmetic is scriptable: every convertible fixture, rewritten with unsafe fixes allowed.

The exceptions are listed with why; one that starts to script fails the test, so the list
stays true.
"""

from __future__ import annotations

import importlib.util
import inspect
import io
import sys
from pathlib import Path

import pytest

from fgi_rewrite.rewrite import RewriteOptions, rewrite_module

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

NOT_SCRIPTABLE = {
    "class_attribute.py": "reads SlopedSigmoidSpike.slope, which the module reassigns: a scripted copy would freeze it",
    "static_configure_method.py": "reads BoxcarSTE.width, which configure() reassigns",
    "module_global.py": "reads SURROGATE_WIDTH, which set_surrogate_width() reassigns through `global`",
    "ctx_stores_module.py": "forward stores a Python object (an nn.Module) on ctx and calls its method",
    "helper_returns_gradient.py": "the module's own helper has no annotations: TorchScript takes alpha for a Tensor",
    "item_scalar.py": "backward multiplies a tensor by `.item()`, which TorchScript types as a Scalar and rejects",
}


def _rewritten_fixtures() -> list[str]:
    names = []
    for path in sorted(FIXTURES.glob("*.py")):
        result = rewrite_module(path.read_bytes(), RewriteOptions(unsafe_fixes=True))
        if result.changed:
            names.append(path.name)
    return names


def _import(path: Path, name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _shims(module) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    found = []
    for name, value in vars(module).items():
        apply = vars(value).get("apply") if isinstance(value, type) else None
        if isinstance(apply, staticmethod) and inspect.isfunction(apply.__func__):
            found.append((name, apply.__func__))
    return found


def _argument(parameter: inspect.Parameter) -> object:
    """A value in the surrogate's range: where a surrogate is not finite (qpseudo's alpha < 1),
    the scripted function's no-grad value is NaN where eager's fast path skips the carrier (the
    documented non-finite hazard), which is not what this test is about."""
    if parameter.default is not inspect.Parameter.empty:
        return parameter.default
    annotation = getattr(parameter.annotation, "__name__", str(parameter.annotation))
    if "Tensor" in annotation:
        return torch.randn(6, 5, generator=torch.Generator().manual_seed(3))
    return {"int": 3, "bool": True}.get(annotation, 2.5)


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal bit for bit, so NaN (an overflowing surrogate) equals NaN and -0.0 differs from 0.0."""
    if (a.dtype, a.shape) != (b.dtype, b.shape):
        return False
    if not a.is_floating_point():
        return torch.equal(a, b)
    bits = {8: torch.int64, 4: torch.int32, 2: torch.int16}[a.element_size()]
    return torch.equal(a.contiguous().view(bits), b.contiguous().view(bits))


def _wrapper(function) -> torch.nn.Module:  # type: ignore[no-untyped-def]
    """A Module whose forward calls `function` with its own signature, scripted."""
    signature = inspect.signature(function)
    params = ", ".join(
        f"{p.name}: {p.annotation if isinstance(p.annotation, str) else p.annotation.__name__}".replace(
            "torch.Tensor", "Tensor")
        for p in signature.parameters.values())
    names = ", ".join(signature.parameters)
    source = (f"class Wrapper(torch.nn.Module):\n    def forward(self, {params}) -> Tensor:\n"
              f"        return function({names})\n")
    path = Path(sys.modules[function.__module__].__file__).with_name(f"wrapper_{function.__name__}.py")
    path.write_text("import torch\nfrom torch import Tensor\n" + source)
    wrapper_module = _import(path, f"wrapper_{function.__name__}")
    wrapper_module.function = function
    return torch.jit.script(wrapper_module.Wrapper())


@pytest.mark.parametrize("fixture", _rewritten_fixtures())
def test_emitted_function_scripts_and_survives_save_and_load(fixture: str, tmp_path: Path) -> None:
    source = (FIXTURES / fixture).read_bytes()
    path = tmp_path / fixture
    path.write_bytes(rewrite_module(source, RewriteOptions(unsafe_fixes=True)).source)
    sys.path.insert(0, str(tmp_path))
    try:
        module = _import(path, f"scriptable_{path.stem}")
        failures = []
        for name, function in _shims(module):
            try:
                scripted = torch.jit.script(function)
                buffer = io.BytesIO()
                torch.jit.save(_wrapper(function), buffer)
                buffer.seek(0)
                loaded = torch.jit.load(buffer)
                args = [_argument(p) for p in inspect.signature(function).parameters.values()]
                for grad_mode in (False, True):
                    results = []
                    for run in (function, scripted, loaded):
                        torch.manual_seed(0)  # stochastic spikes draw the same numbers in each
                        leaves = [a.detach().requires_grad_(grad_mode) if isinstance(a, torch.Tensor) else a
                                  for a in args]
                        with torch.set_grad_enabled(grad_mode):
                            out = run(*leaves)
                        grads = torch.autograd.grad(out.sum(), leaves[0]) if out.requires_grad else ()
                        results.append((out.detach(), grads))
                    for (value, grads), how in zip(results[1:], ("scripted", "loaded"), strict=True):
                        assert _same_bits(value, results[0][0]), f"{name}: {how} value differs"
                        assert all(_same_bits(a, b) for a, b in zip(grads, results[0][1], strict=True)), \
                            f"{name}: {how} gradient differs"
            except (RuntimeError, torch.jit.frontend.FrontendError, AttributeError, TypeError) as error:
                failures.append(f"{name}: {str(error).strip().splitlines()[0]}")
    finally:
        sys.path.remove(str(tmp_path))
    if fixture in NOT_SCRIPTABLE:
        assert failures, f"{fixture} scripts now: remove it from NOT_SCRIPTABLE ({NOT_SCRIPTABLE[fixture]})"
    else:
        assert not failures, "\n".join(failures)


def test_a_jit_ignore_wrapper_that_only_called_apply_is_compiled_after_the_unsafe_fix(tmp_path: Path) -> None:
    """`@torch.jit.ignore` around `Cls.apply(...)` made a scripted model call back into Python;
    with --unsafe-fixes the decorator goes and the whole model compiles."""
    source = (FIXTURES / "jit_ignore_forward.py").read_bytes()
    safe = rewrite_module(source)
    assert "@torch.jit.ignore\ndef script_spike" in safe.source.decode()
    assert any("script_spike: keeps @torch.jit.ignore" in note for note in safe.notes)

    unsafe = rewrite_module(source, RewriteOptions(unsafe_fixes=True))
    assert "@torch.jit.ignore\ndef script_spike" not in unsafe.source.decode()
    assert "\ndef script_spike(x: torch.Tensor, beta: float)" in unsafe.source.decode()
    assert any("script_spike: dropped @torch.jit.ignore" in note for note in unsafe.notes)
    path = tmp_path / "jit_ignore_forward.py"
    path.write_bytes(unsafe.source)
    module = _import(path, "unignored_jit_ignore_forward")
    cell = torch.jit.script(module.Cell())
    assert "prim::PythonOp" not in str(cell.graph) and "prim::PythonOp" not in str(cell.inlined_graph)
    x = torch.randn(6, 5, requires_grad=True)
    (grad,) = torch.autograd.grad(cell(x).sum(), x)
    (want,) = torch.autograd.grad(module.Cell()(x).sum(), x)
    assert torch.equal(grad, want)

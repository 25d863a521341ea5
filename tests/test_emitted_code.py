"""Emitted code reads as if written by hand: no leftovers of the substitution that produced it.

Every fixture is rewritten with unsafe fixes allowed (so probe helpers are emitted too), and
each function the rewrite adds is read back with `ast`: no `if True:` left by an opened
`ctx.needs_input_grad[i]` guard, no `(x,)[0]` left by `ctx.saved_tensors[0]`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fgi_rewrite.rewrite import RewriteOptions, rewrite_module

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _added_functions(path: Path) -> tuple[list[ast.FunctionDef], str]:
    before = {n.name for n in ast.walk(ast.parse(path.read_bytes())) if isinstance(n, ast.FunctionDef)}
    source = rewrite_module(path.read_bytes(), RewriteOptions(unsafe_fixes=True)).source.decode()
    added = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef) and n.name not in before]
    return added, source


def _leftovers(function: ast.FunctionDef, source: str) -> list[str]:
    found = []
    for node in ast.walk(function):
        # The carrier, which the emitter writes whole, carries no brackets that `ast.unparse`
        # (which writes only the needed ones) would not; a named factor, whose text is the
        # user's, gains none around it.
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, written = node.targets[0].id, ast.get_source_segment(source, node.value) or ""
            needed = ast.unparse(node.value)
            if name.startswith("inj") and written.count("(") > needed.count("(") or name.startswith(
                    ("g", "denom")) and written.startswith("(") and not needed.startswith("("):
                found.append(f"line {node.lineno}: brackets no one needs: {written}")
    for node in ast.walk(function):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Constant) and node.test.value is True:
            found.append(f"line {node.lineno}: if True:")
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Tuple):
            found.append(f"line {node.lineno}: a tuple literal indexed: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.py")))
def test_added_functions_have_no_substitution_leftovers(fixture: str) -> None:
    added, source = _added_functions(FIXTURES / fixture)
    problems = [f"{f.name}: {p}" for f in added for p in _leftovers(f, source)]
    assert not problems, "\n".join(problems)


def test_an_opened_guard_and_an_indexed_saved_tensor_read_as_written() -> None:
    """spikingjelly's style: a guarded save, `if ctx.needs_input_grad[0]:`, `saved_tensors[0]`."""
    source = b'''import torch


class PiecewiseQuadratic(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        if x.requires_grad:
            ctx.save_for_backward(x)
            ctx.alpha = alpha
        return (x >= 0).to(x)

    @staticmethod
    def backward(ctx, grad_output):
        grad_x = None
        if ctx.needs_input_grad[0]:
            x_abs = ctx.saved_tensors[0].abs()
            mask = x_abs > (1 / ctx.alpha)
            grad_x = (grad_output * (-(ctx.alpha ** 2) * x_abs + ctx.alpha)).masked_fill_(mask, 0)
        return grad_x, None
'''
    emitted = rewrite_module(source, RewriteOptions(unsafe_fixes=True)).source.decode()
    assert "    x_abs = saved_0.abs()\n    mask = x_abs > (1 / ctx_alpha)\n" in emitted, emitted
    assert "if True" not in emitted and ",)[0]" not in emitted


def test_comments_on_the_def_lines_are_kept() -> None:
    source = b'''import torch


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # Heaviside at 0
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):  # SuperSpike, beta = 10
        (x,) = ctx.saved_tensors
        return grad_output / (10.0 * x.abs() + 1.0) ** 2
'''
    emitted = rewrite_module(source).source.decode()
    assert "def spike(x: torch.Tensor) -> torch.Tensor:  # Heaviside at 0\n" in emitted, emitted
    lines = emitted.splitlines()
    comment = lines.index("        # SuperSpike, beta = 10")  # first in the block backward became
    assert lines[comment - 1].strip().startswith("if torch.jit.is_scripting()"), emitted


def test_continuation_lines_move_with_their_statement_and_wrapped_calls_gain_no_brackets() -> None:
    """A backslash continuation keeps its place one level under the statement it continues
    (libcst keeps its absolute column); a call wrapped over lines needs no extra brackets;
    an annotated float kept on ctx and a dtype-preserving cast leave no dtype to track."""
    source = b'''import torch


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha: float = 2.0):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        out = (x > 0) \\
            .to(x.dtype)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        sg = ctx.alpha / \\
            (1 + (ctx.alpha * x).abs()) ** 2
        grad = grad_output * torch.sigmoid(
            ctx.alpha * x
        ) * (1 - torch.sigmoid(ctx.alpha * x))
        return grad * sg, None
'''
    emitted = rewrite_module(source).source.decode()
    assert "    out = (x > 0) \\\n        .to(x.dtype)\n" in emitted, emitted
    assert "            sg = alpha / \\\n                (1 + (alpha * x).abs()) ** 2\n" in emitted, emitted
    assert "            g = torch.sigmoid(\n                alpha * x\n            )\n" in emitted, emitted
    assert "        inj = x_in * sg * g2 * g\n" in emitted, emitted
    assert "result_type" not in emitted


ACCUMULATORS = b'''import torch


class DampedRippleSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, terms: int = 3):
        ctx.save_for_backward(x)
        ctx.terms = terms
        return (x > 0).to(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        ripple = 0.0
        damping = 1
        for k in range(1, ctx.terms):
            ripple -= torch.sin(k * x) / k
            damping *= 1.0 + x * x / k
        return grad_output * (0.5 - ripple) / damping, None
'''


def _load(path: Path, source: bytes):  # type: ignore[no-untyped-def]
    import importlib.util

    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_number_accumulators_grown_by_tensors_start_as_tensors_and_compute_the_same_bits(tmp_path: Path) -> None:
    """`ripple = 0.0; ripple -= t` turns a float into a Tensor, which TorchScript cannot type:
    the rewrite starts it as a zero-dimensional tensor and grows it out of place."""
    torch = pytest.importorskip("torch")
    emitted = rewrite_module(ACCUMULATORS).source
    text = emitted.decode()
    assert "ripple = torch.zeros((), dtype=x.dtype)" in text and "damping = torch.ones((), dtype=x.dtype)" in text
    assert "ripple = ripple - torch.sin(k * x) / k" in text
    assert "damping = damping * (1.0 + x * x / k)" in text, text
    original = _load(tmp_path / "original_ripple.py", ACCUMULATORS).DampedRippleSpike.apply
    function = _load(tmp_path / "fgi_ripple.py", emitted).damped_ripple_spike
    scripted = torch.jit.script(function)
    for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        for shape, terms in (((5, 4), 3), ((), 3), ((5, 4), 1)):
            x = torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(dtype)
            results = []
            for run in (original, function, scripted):
                leaf = x.clone().requires_grad_()
                out = run(leaf, terms)
                (grad,) = torch.autograd.grad(out, leaf, torch.ones_like(out))
                results.append((out, grad))
            for out, grad in results[1:]:
                assert out.dtype == results[0][0].dtype and torch.equal(out, results[0][0])
                assert grad.dtype == results[0][1].dtype and torch.equal(grad, results[0][1]), (dtype, shape, terms)


def test_an_accumulator_whose_growth_casts_stays_a_number() -> None:
    """`grad += torch.cos(k * x).half()`: the sum's dtype is not the saved tensor's, so a tensor
    start in x's dtype could promote it where the Python number did not; left as written."""
    source = ACCUMULATORS.replace(b"ripple -= torch.sin(k * x) / k", b"ripple -= (torch.sin(k * x) / k).half()")
    text = rewrite_module(source).source.decode()
    assert "ripple = 0.0\n" in text and "ripple -= (torch.sin(k * x) / k).half()" in text, text
    assert "damping = torch.ones((), dtype=x.dtype)" in text  # the other accumulator does not cast


@pytest.mark.parametrize("change", [
    (b"        damping = 1\n", b"        damping = 1\n        damping *= 0.3\n"),  # 1 * 0.3 would round to x's dtype
    (b"        ripple = 0.0\n", b"        ripple = 0.0\n        shift = ripple + 0.1\n"),  # read before it grows
])
def test_an_accumulator_used_otherwise_than_grown_stays_a_number(change: tuple[bytes, bytes]) -> None:
    before, after = change
    text = rewrite_module(ACCUMULATORS.replace(before, after)).source.decode()
    name = before.split(b"=")[0].strip().decode()
    assert f"{name} = torch." not in text, text
    assert after.decode().strip().splitlines()[0] in text

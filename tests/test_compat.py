"""The compatibility matrix `verify` prints for original vs FGI.

The statuses asserted here are the ones a user relies on when choosing FGI; they are
measured, not assumed (torch 2.13, CPU). Full-matrix tests (torch.compile with the
aot_eager backend, torch.export) share one module-scoped computation per side so the
file stays fast; their names contain "full" (deselect with `-k "not full"`).
"""

from __future__ import annotations

import re
import time

import pytest

torch = pytest.importorskip("torch")

from torch.autograd.function import once_differentiable  # noqa: E402

from fgi_rewrite.verify.compat import CELLS_DEFAULT, CELLS_FULL, Cell, _value_difference, compat_matrix  # noqa: E402

ALPHA = 2.0


class FastSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, a):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(x)
        ctx.a = a
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):  # type: ignore[no-untyped-def]
        (x,) = ctx.saved_tensors
        return grad_output / (ctx.a * x.abs() + 1) ** 2, None


class FastSigmoidOnce(FastSigmoid):
    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):  # type: ignore[no-untyped-def]
        (x,) = ctx.saved_tensors
        return grad_output / (ctx.a * x.abs() + 1) ** 2, None


class FastSigmoidNewStyle(torch.autograd.Function):
    """setup_context style, so torch.func accepts it; it still has no jvp."""

    @staticmethod
    def forward(x, a):  # type: ignore[no-untyped-def]
        return (x > 0).float()

    @staticmethod
    def setup_context(ctx, inputs, output):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(inputs[0])
        ctx.a = inputs[1]

    @staticmethod
    def backward(ctx, grad_output):  # type: ignore[no-untyped-def]
        (x,) = ctx.saved_tensors
        return grad_output / (ctx.a * x.abs() + 1) ** 2, None


def fgi(x: torch.Tensor, a: float) -> torch.Tensor:
    inj = x / ((a * x.abs() + 1) ** 2).detach()
    return (x > 0).float().detach() - (inj.detach() - inj)


def fgi_fast_path(x: torch.Tensor, a: float) -> torch.Tensor:
    if not torch.is_grad_enabled():
        return (x > 0).float()
    inj = x / ((a * x.abs() + 1) ** 2).detach()
    return (x > 0).float().detach() - (inj.detach() - inj)


def fgi_threshold(x: torch.Tensor, thr: torch.Tensor, a: float) -> torch.Tensor:
    v = x - thr
    inj = v / ((a * v.abs() + 1) ** 2).detach()
    return (v > 0).float().detach() - (inj.detach() - inj)


def _x() -> torch.Tensor:
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(1))
    x[0, 0] = -0.0
    x[0, 1] = 0.0
    return x


def _show(title: str, matrix: dict[str, Cell]) -> None:
    print(f"\n{title}")
    for name, cell in matrix.items():
        print(f"  {name:22s} {cell.status:8s} {cell.detail}")


def test_twin_is_a_twin() -> None:
    """The test's FGI function really is the FastSigmoid rewrite (values and gradients)."""
    xa, xb = _x().requires_grad_(), _x().requires_grad_()
    ya, yb = FastSigmoid.apply(xa, ALPHA), fgi(xb, ALPHA)
    assert _value_difference(ya, yb) is None
    ya.sum().backward()
    yb.sum().backward()
    assert torch.equal(xa.grad, xb.grad)


def test_default_matrix_original() -> None:
    for cls in (FastSigmoid, FastSigmoidOnce):
        m = compat_matrix(cls.apply, (_x(), ALPHA), (0,))
        _show(cls.__name__, m)
        assert tuple(m) == CELLS_DEFAULT
        assert m["eager"].status == "ok"
        assert m["jit.script"].status == "fails"
        assert "variable number of arguments" in m["jit.script"].detail
        # Scripting a module around it works (opaque Python op); saving it does not.
        assert m["jit.script save/load"].status == "fails"
        assert m["jit.trace"].status == "ok"
        # Legacy forward(ctx, ...): torch.func refuses without setup_context.
        for cell in ("func.grad", "func.vmap", "func.jvp", "func.jvp no_grad"):
            assert m[cell].status == "fails"
            assert "setup_context" in m[cell].detail, m[cell]
    assert compat_matrix(FastSigmoid.apply, (_x(), ALPHA), (0,))["double backward"] == Cell(
        "ok", "second derivative is nonzero"
    )
    once = compat_matrix(FastSigmoidOnce.apply, (_x(), ALPHA), (0,))["double backward"]
    assert once.status == "fails" and "once_differentiable" in once.detail


def test_default_matrix_new_style_original_has_no_jvp() -> None:
    m = compat_matrix(FastSigmoidNewStyle.apply, (_x(), ALPHA), (0,))
    _show("FastSigmoidNewStyle", m)
    assert m["func.grad"].status == "ok"  # setup_context is enough for grad
    assert m["func.vmap"].status == "fails" and "vmap" in m["func.vmap"].detail
    assert m["func.jvp"].status == "fails" and "jvp" in m["func.jvp"].detail
    assert m["func.jvp no_grad"].status == "fails"


def test_default_matrix_fgi() -> None:
    m = compat_matrix(fgi, (_x(), ALPHA), (0,))
    _show("fgi", m)
    assert tuple(m) == CELLS_DEFAULT
    for cell in CELLS_DEFAULT:
        assert m[cell].status == "ok", (cell, m[cell])
    assert "bitwise" in m["jit.script"].detail and "allclose" in m["jit.script"].detail
    assert "zero" in m["double backward"].detail


def test_fast_path_trade_offs_are_reported() -> None:
    m = compat_matrix(fgi_fast_path, (_x(), ALPHA), (0,))
    _show("fgi_fast_path", m)
    assert m["func.jvp"].status == "ok"
    assert m["func.jvp no_grad"].status == "differs"
    assert "zeros" in m["func.jvp no_grad"].detail
    # check_trace re-runs under no_grad and takes the other branch.
    assert m["jit.trace"].status == "fails" and "sanity" in m["jit.trace"].detail
    assert "--no-fast-path" in m["jit.trace"].detail


def test_broadcast_parameter_first() -> None:
    """The transformed input is a broadcast (5,) threshold: jvp's reference expands it."""
    thr = torch.linspace(-0.5, 0.5, 5)
    m = compat_matrix(fgi_threshold, (_x(), thr, ALPHA), (1, 0))
    _show("fgi_threshold", m)
    for cell in CELLS_DEFAULT:
        assert m[cell].status == "ok", (cell, m[cell])


def test_comparisons_can_fail() -> None:
    # Non-elementwise: the JVP is not the VJP with the tangent as cotangent.
    def cumulative(x: torch.Tensor) -> torch.Tensor:
        return x.cumsum(0)

    m = compat_matrix(cumulative, (_x(),), (0,))
    assert m["func.jvp"].status == "differs", m["func.jvp"]
    assert m["func.grad"].status == "ok"
    # Signed zeros and NaN: bitwise comparison with NaN == NaN.
    assert _value_difference(torch.tensor([0.0]), torch.tensor([-0.0])) is not None
    assert _value_difference(torch.tensor([float("nan")]), torch.tensor([float("nan")])) is None
    assert _value_difference(torch.tensor([1.0]), torch.tensor([1.0], dtype=torch.float64)) is not None


def test_failing_function_gives_fails_cells_and_no_exception() -> None:
    def broken(x: torch.Tensor, a: float) -> torch.Tensor:
        raise RuntimeError("boom")

    class BrokenBackward(FastSigmoid):
        @staticmethod
        def backward(ctx, grad_output):  # type: ignore[no-untyped-def]
            raise ValueError("bad backward\nsecond line")

    m = compat_matrix(broken, (_x(), ALPHA), (0,), full=True)
    _show("broken", m)
    assert tuple(m) == CELLS_FULL
    assert m["eager"] == Cell("fails", "RuntimeError: boom")
    for name, cell in m.items():
        assert cell.status in ("fails", "skipped"), (name, cell)
    assert m["jit.script"].status == "fails" and "boom" in m["jit.script"].detail

    m = compat_matrix(BrokenBackward.apply, (_x(), ALPHA), (0,))
    assert m["eager"] == Cell("fails", "ValueError: bad backward")
    assert m["double backward"].status == "fails"
    # Bad arguments are reported, not raised.
    m = compat_matrix(fgi, (_x(), ALPHA), (1,))
    assert all(c.status == "fails" and "position 1" in c.detail for c in m.values())


def test_unsupported_constant_is_skipped_for_save_load() -> None:
    def with_mode(x: torch.Tensor, mode: str) -> torch.Tensor:
        return x * 2 if mode == "double" else x

    m = compat_matrix(with_mode, (_x(), "double"), (0,))
    assert m["jit.script"].status == "ok"
    assert m["jit.script save/load"].status == "skipped" and "str" in m["jit.script save/load"].detail


def test_caller_tensors_are_untouched_and_rng_is_kept() -> None:
    x = _x().requires_grad_()
    before = x.detach().clone()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with torch.no_grad():  # the matrix must enable grad itself
        m = compat_matrix(fgi, (x, ALPHA), (0,))
    assert m["eager"].status == "ok" and m["func.grad"].status == "ok"
    assert x.grad is None and torch.equal(x.detach(), before) and x.requires_grad
    assert torch.equal(torch.rand(3), expected)


def test_default_matrix_is_fast() -> None:
    compat_matrix(fgi, (_x(), ALPHA), (0,))  # warm-up: TorchScript and functorch caches
    start = time.perf_counter()
    compat_matrix(fgi, (_x(), ALPHA), (0,))
    compat_matrix(FastSigmoid.apply, (_x(), ALPHA), (0,))
    elapsed = time.perf_counter() - start
    print(f"\ndefault matrix, both sides: {elapsed * 1000:.1f} ms")
    assert elapsed < 1.0


@pytest.fixture(scope="module")
def full_matrices() -> dict[str, dict[str, Cell]]:
    return {
        "original": compat_matrix(FastSigmoid.apply, (_x(), ALPHA), (0,), full=True, compile_backend="aot_eager"),
        "fgi": compat_matrix(fgi, (_x(), ALPHA), (0,), full=True, compile_backend="aot_eager"),
    }


def test_full_matrix_compile_and_export(full_matrices: dict[str, dict[str, Cell]]) -> None:
    for side, m in full_matrices.items():
        _show(f"{side} (full)", m)
        assert tuple(m) == CELLS_FULL
        assert m["compile"].status == "ok", (side, m["compile"])
        breaks = re.match(r"(\d+) graph breaks", m["compile graph breaks"].detail)
        assert breaks, (side, m["compile graph breaks"])
        assert m["compile graph breaks"].status == ("ok" if breaks.group(1) == "0" else "differs")
    assert full_matrices["fgi"]["export"].status == "ok", full_matrices["fgi"]["export"]
    # Export keeps the original's values but (torch 2.13) drops its custom backward.
    assert full_matrices["original"]["export"].status != "ok"
    # The default cells are the same in the full matrix.
    assert full_matrices["fgi"]["jit.script"].status == "ok"
    assert full_matrices["original"]["jit.script"].status == "fails"

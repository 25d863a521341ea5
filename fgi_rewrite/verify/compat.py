"""Compatibility matrix: which PyTorch tools run a function and reproduce eager.

`verify` calls `compat_matrix` twice, once with the original `Cls.apply` and once
with the emitted FGI function, on the same inputs. Each cell answers one question:
"did this tool run the function, and did its values and gradients match eager?"

Comparison rules (the same for every cell, so cells are comparable):
- values: bitwise (signed zeros count, any NaN equals any NaN), same dtype and shape;
  an FGI rewrite promises exactly the original's value, so nothing looser is honest.
- gradients: `allclose(rtol, atol=0)` with rtol 1e-6 (or the dtype's epsilon when
  coarser), because compilers and `torch.func` may reassociate the reductions that
  autograd performs for broadcast inputs; bit-exact gradients are `verify`'s
  job, not this matrix's.

Only `verify` imports this module, so importing torch at the top is fine.
"""

from __future__ import annotations

import io
import itertools
import linecache
import re
import warnings
from dataclasses import dataclass
from typing import Callable, Literal, Optional, Sequence

import torch

Status = Literal["ok", "fails", "differs", "skipped"]


@dataclass(frozen=True)
class Cell:
    status: Status
    # "fails": first line of the error; "differs": what differed; "skipped": why;
    # "ok": which comparison was made (or what was observed, for report-only cells).
    detail: str = ""


CELLS_DEFAULT: tuple[str, ...] = (
    "eager",
    "jit.script",
    "jit.script save/load",
    "jit.trace",
    "func.grad",
    "func.vmap",
    "func.jvp",
    "func.jvp no_grad",
    "double backward",
)
CELLS_FULL: tuple[str, ...] = CELLS_DEFAULT + ("compile", "compile graph breaks", "export")

SEED = 0
GRAD_RTOL = 1e-6
# Long enough for torch.func's "... it must override the setup_context staticmethod",
# the part of that message a user acts on.
DETAIL_MAX = 160
VMAP_BATCH = 3


def compat_matrix(
    fn: Callable[..., torch.Tensor],
    args: Sequence[object],
    differentiable: Sequence[int],
    full: bool = False,
    compile_backend: str = "aot_eager",
) -> dict[str, Cell]:
    """Run `fn(*args)` under each tool and compare with eager. Never raises.

    `differentiable` lists the positions of the tensors gradients are taken for; the
    caller's tensors are never modified (every cell works on detached copies).
    """
    names = CELLS_FULL if full else CELLS_DEFAULT
    try:
        case = _Case(fn, args, differentiable, compile_backend)
    except Exception as exc:  # bad arguments: report them in every cell rather than raise
        return {name: Cell("fails", _first_line(exc)) for name in names}

    cells: dict[str, Cell] = {}
    # The global RNG is reseeded before every call (stochastic functions must draw the
    # same numbers in every cell); fork it so the caller's RNG stream is left alone.
    cuda = sorted({t.device.index or 0 for t in case.tensors() if t.is_cuda})
    with torch.random.fork_rng(devices=cuda), warnings.catch_warnings():
        # TorchScript and tracing emit deprecation warnings on every call in current
        # PyTorch; they are noise here. Cells that need warnings record their own.
        warnings.simplefilter("ignore")
        for name in names:
            try:
                with torch.enable_grad():  # the caller may be under no_grad
                    cells[name] = _CELLS[name](case)
            except _Skip as why:  # the cell does not apply to these arguments
                cells[name] = Cell("skipped", _clip(str(why)))
            except Exception as exc:  # every cell is isolated: an error is its result
                cells[name] = Cell("fails", _first_line(exc))
    return cells


# --------------------------------------------------------------------------- inputs


@dataclass
class _Reference:
    value: torch.Tensor
    grads: tuple[torch.Tensor, ...]  # one per differentiable position, zeros where unused


class _Case:
    """The function, private copies of its inputs, and the eager reference."""

    def __init__(
        self,
        fn: Callable[..., torch.Tensor],
        args: Sequence[object],
        differentiable: Sequence[int],
        compile_backend: str,
    ) -> None:
        self.fn = fn
        # Detached copies: cells set requires_grad and run in-place-prone code on them.
        self.args = [a.detach().clone() if isinstance(a, torch.Tensor) else a for a in args]
        self.diff = list(dict.fromkeys(differentiable))
        for i in self.diff:
            if not isinstance(self.args[i], torch.Tensor):
                raise TypeError(f"differentiable position {i} holds {type(self.args[i]).__name__}, not a Tensor")
        self.compile_backend = compile_backend
        self.weight: Optional[torch.Tensor] = None
        self.reference: Optional[_Reference] = None
        self.reference_error = ""

    def tensors(self) -> list[torch.Tensor]:
        return [a for a in self.args if isinstance(a, torch.Tensor)]

    def leaves(self, requires_grad: bool = True) -> list[torch.Tensor]:
        """Fresh copies of the differentiable inputs (a new graph for every cell)."""
        return [_leaf(_tensor(self.args[i]), requires_grad) for i in self.diff]

    def assemble(self, diff_values: Sequence[torch.Tensor]) -> list[object]:
        """The full argument list with the differentiable positions replaced."""
        full = list(self.args)
        for i, value in zip(self.diff, diff_values, strict=True):
            full[i] = value
        return full

    def call(self, f: Callable[..., object], diff_values: Sequence[torch.Tensor]) -> torch.Tensor:
        torch.manual_seed(SEED)
        return _tensor(f(*self.assemble(diff_values)))

    def weigh(self, out: torch.Tensor) -> torch.Tensor:
        # A fixed random weight instead of `out.sum()`: with all-ones every element's
        # gradient enters with the same factor, which hides permuted or misplaced
        # gradients. Drawn once, for the eager output's shape; batched outputs (vmap)
        # broadcast it.
        if self.weight is None:
            gen = torch.Generator().manual_seed(SEED)
            dtype = out.dtype if out.is_floating_point() else torch.float32
            self.weight = torch.randn(out.shape, generator=gen, dtype=torch.float64).to(out.device, dtype)
        return (out * self.weight).sum()

    def gradients(self, out: torch.Tensor, leaves: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if not leaves:
            return ()
        if not out.requires_grad:
            return tuple(torch.zeros_like(x) for x in leaves)
        grads = torch.autograd.grad(self.weigh(out), list(leaves), allow_unused=True)
        # None (input unused) and zeros mean the same thing to a user of the gradient.
        return tuple(torch.zeros_like(x) if g is None else g for x, g in zip(leaves, grads, strict=True))

    def judge(self, value: object, grads: Optional[Sequence[torch.Tensor]], how: str = "") -> Cell:
        """Compare a cell's results with eager; `grads=None` means values only."""
        ref = self.reference
        if ref is None:
            return Cell("skipped", f"ran, but eager failed, nothing to compare ({self.reference_error})")
        problem = _value_difference(ref.value, value)
        if problem is None and grads is not None:
            for position, want, got in zip(self.diff, ref.grads, grads, strict=True):
                problem = _grad_difference(want, got, f"grad of arg {position}")
                if problem:
                    break
        if problem:
            return Cell("differs", _clip(problem))
        rule = "value bitwise"
        if grads is not None and self.diff:
            rule += f", grads allclose(rtol={_grad_rtol(ref.grads[0].dtype):g}, atol=0)"
        return Cell("ok", _clip(rule + (f"; {how}" if how else "")))


def _leaf(t: torch.Tensor, requires_grad: bool) -> torch.Tensor:
    leaf = t.detach().clone()
    # Only floating/complex tensors can require grad; an integer "differentiable"
    # input simply gets no gradient.
    return leaf.requires_grad_(requires_grad and (leaf.is_floating_point() or leaf.is_complex()))


def _tensor(out: object) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"function returned {type(out).__name__}, expected a Tensor")
    return out


# ----------------------------------------------------------------------- comparison


def _grad_rtol(dtype: torch.dtype) -> float:
    # 1e-6 is below float32's rounding of most sums; half types round far coarser, so
    # their tolerance is one epsilon (still bit-exact for non-reassociated arithmetic).
    if dtype.is_floating_point:
        return max(GRAD_RTOL, torch.finfo(dtype).eps)
    return GRAD_RTOL


_BITS = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def _value_difference(want: torch.Tensor, got: object) -> Optional[str]:
    if not isinstance(got, torch.Tensor):
        return f"returned {type(got).__name__}, not a Tensor"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype} != eager {want.dtype}"
    if got.shape != want.shape:
        return f"shape {tuple(got.shape)} != eager {tuple(want.shape)}"
    if got.device != want.device:
        return f"device {got.device} != eager {want.device}"
    a, b = want.detach(), got.detach()
    if a.is_floating_point() and a.element_size() in _BITS:
        # Compare bit patterns: `==` would call -0.0 equal to +0.0, and the sign of a
        # zero is part of the value an FGI rewrite must keep.
        bits = _BITS[a.element_size()]
        same = a.contiguous().view(bits) == b.contiguous().view(bits)
        same |= a.isnan() & b.isnan()
    elif a.is_floating_point() or a.is_complex():
        same = (a == b) | (a.isnan() & b.isnan())
    else:
        same = a == b
    bad = int((~same).sum())
    if bad:
        return f"value differs bitwise in {bad}/{a.numel()} elements"
    return None


def _grad_difference(want: torch.Tensor, got: object, what: str) -> Optional[str]:
    if not isinstance(got, torch.Tensor):
        return f"{what}: got {type(got).__name__}"
    if (got.dtype, got.shape) != (want.dtype, want.shape):
        return f"{what}: {got.dtype}{tuple(got.shape)} != eager {want.dtype}{tuple(want.shape)}"
    a, b = want.detach(), got.detach().to(want.device)
    rtol = _grad_rtol(a.dtype)
    if torch.allclose(b, a, rtol=rtol, atol=0.0, equal_nan=True):
        return None
    close = torch.isclose(b, a, rtol=rtol, atol=0.0, equal_nan=True)
    return f"{what} not allclose(rtol={rtol:g}) in {int((~close).sum())}/{a.numel()} elements"


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("The following operation failed in the TorchScript"):
        # The interpreter's first line is generic; its last line is the real error,
        # already prefixed with its type ("builtins.RuntimeError: boom").
        text = lines[-1].removeprefix("builtins.")
    else:
        text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    # Object addresses change between runs; drop them so reports are diffable.
    return _clip(re.sub(r" at 0x[0-9a-fA-F]+", "", text))


def _clip(text: str) -> str:
    # torch's messages often end in "For more details, please see <url>": noise here.
    text = re.sub(r"\s*(For more details[^.]*?(see|at|visit):?\s*)?https?://\S+", "", text).rstrip()
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 3] + "..."


# ---------------------------------------------------------------------------- cells


def _eager(case: _Case) -> Cell:
    try:
        leaves = case.leaves()
        out = case.call(case.fn, leaves)
        case.reference = _Reference(out.detach(), tuple(g.detach() for g in case.gradients(out, leaves)))
    except Exception as exc:
        case.reference_error = _first_line(exc)
        raise
    return Cell("ok", f"{case.reference.value.dtype}{tuple(case.reference.value.shape)}")


def _run_and_judge(case: _Case, f: Callable[..., object], how: str = "") -> Cell:
    leaves = case.leaves()
    out = case.call(f, leaves)
    return case.judge(out, case.gradients(out, leaves), how)


def _jit_script(case: _Case) -> Cell:
    # A custom Function's `apply(cls, *args, **kwargs)` is rejected here; an emitted
    # function with annotated parameters should compile.
    return _run_and_judge(case, torch.jit.script(case.fn))


_wrapper_ids = itertools.count()


def _script_module_source(case: _Case) -> tuple[str, dict[str, type], dict[str, object]]:
    """Source of a forward taking the differentiable tensors as parameters.

    TorchScript forwards need a fixed signature (no *args), so it is generated. Other
    arguments become module state: tensors as buffers, float/int/bool as annotated
    attributes (saved with the module), None as a literal.
    """
    call_args: list[str] = []
    annotations: dict[str, type] = {}
    state: dict[str, object] = {}
    diff = set(case.diff)
    # Parameters in `case.diff` order: the caller passes `case.leaves()` positionally.
    params = [f"d{i}: torch.Tensor" for i in case.diff]
    for i, a in enumerate(case.args):
        if i in diff:
            call_args.append(f"d{i}")
        elif isinstance(a, torch.Tensor):
            state[f"b{i}"] = a
            call_args.append(f"self.b{i}")
        elif a is None:
            call_args.append("None")
        elif isinstance(a, (bool, int, float)):  # bool before int: bool is an int
            annotations[f"c{i}"] = bool if isinstance(a, bool) else int if isinstance(a, int) else float
            state[f"c{i}"] = a
            call_args.append(f"self.c{i}")
        else:
            raise _Skip(f"argument {i} is a {type(a).__name__}, which a scripted module cannot hold")
    source = (
        f"def forward(self, {', '.join(params)}) -> torch.Tensor:\n"
        f"    return _fn({', '.join(call_args)})\n"
    )
    return source, annotations, state


class _Skip(Exception):
    """Raised by a cell that cannot apply to these arguments."""


def _jit_script_save_load(case: _Case) -> Cell:
    source, annotations, state = _script_module_source(case)
    # TorchScript reads method source through `inspect`, which finds exec'd code only
    # in linecache; `_fn` resolves through the forward's globals.
    filename = f"<fgi_rewrite.verify.compat script wrapper {next(_wrapper_ids)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, object] = {"torch": torch, "_fn": case.fn}
    exec(compile(source, filename, "exec"), namespace)

    def __init__(self: torch.nn.Module) -> None:
        torch.nn.Module.__init__(self)
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                self.register_buffer(key, value)
            else:
                setattr(self, key, value)

    wrapper_type = type(
        "CompatScriptWrapper",
        (torch.nn.Module,),
        {"__init__": __init__, "forward": namespace["forward"], "__annotations__": annotations},
    )
    try:
        scripted = torch.jit.script(wrapper_type())
        buffer = io.BytesIO()
        torch.jit.save(scripted, buffer)
        buffer.seek(0)
        loaded = torch.jit.load(buffer)
    finally:
        linecache.cache.pop(filename, None)
    leaves = case.leaves()
    torch.manual_seed(SEED)
    out = _tensor(loaded(*leaves))
    return case.judge(out, case.gradients(out, leaves), "after save/load")


def _jit_trace(case: _Case) -> Cell:
    if not case.diff:
        return Cell("skipped", "no differentiable input to trace with")

    def traced_fn(*diff_values: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(SEED)  # trace and check_trace must draw the same numbers
        return _tensor(case.fn(*case.assemble(diff_values)))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", torch.jit.TracerWarning)
        try:
            traced = torch.jit.trace(traced_fn, tuple(case.leaves()), check_trace=True)
        except torch.jit.TracingCheckError as exc:
            # The check's own message is a long diff of graphs; the tracer warnings
            # usually name the cause (a Python branch, a converted tensor).
            tracer = [str(w.message) for w in caught if issubclass(w.category, torch.jit.TracerWarning)]
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            what = f" {lines[1]}" if len(lines) > 1 and lines[1].startswith("ERROR") else ""
            if tracer:
                return Cell("fails", _clip(f"{_first_line(exc)}{what}; TracerWarning: {tracer[0].splitlines()[0]}"))
            # No warning: the tracer cannot see a branch on grad mode, which check_trace (run
            # without grad) takes the other way: the inference fast path is the usual one.
            hint = "; a branch on torch.is_grad_enabled()? (fast path: --no-fast-path)"
            return Cell("fails", _clip(_first_line(exc) + what)[: DETAIL_MAX - len(hint)] + hint)
    count = sum(issubclass(w.category, torch.jit.TracerWarning) for w in caught)
    return _run_and_judge_diff_only(case, traced, f"{count} TracerWarnings" if count else "")


def _run_and_judge_diff_only(case: _Case, f: Callable[..., object], how: str = "") -> Cell:
    """For wrappers that take only the differentiable tensors."""
    leaves = case.leaves()
    torch.manual_seed(SEED)
    out = _tensor(f(*leaves))
    return case.judge(out, case.gradients(out, leaves), how)


def _first_input(case: _Case) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The first differentiable input (a fresh copy) and the other arguments."""
    if not case.diff:
        raise _Skip("no differentiable input")
    return case.leaves(requires_grad=False)[0], _others(case)


def _others(case: _Case) -> list[torch.Tensor]:
    # Differentiable inputs other than the transformed one, as plain constants.
    return [t.detach() for t in case.leaves(requires_grad=False)[1:]]


def _func_grad(case: _Case) -> Cell:
    x, rest = _first_input(case)

    def loss(t: torch.Tensor) -> torch.Tensor:
        return case.weigh(case.call(case.fn, [t, *rest]))

    grad = torch.func.grad(loss)(x)
    ref = case.reference
    if ref is None:
        return case.judge(None, None)
    problem = _grad_difference(ref.grads[0], grad, f"grad of arg {case.diff[0]}")
    if problem:
        return Cell("differs", _clip(problem))
    return Cell("ok", f"grad allclose(rtol={_grad_rtol(ref.grads[0].dtype):g}, atol=0)")


def _func_vmap(case: _Case) -> Cell:
    x, rest = _first_input(case)
    gen = torch.Generator().manual_seed(SEED + 1)
    noise = torch.randn(x.shape, generator=gen, dtype=torch.float64).to(x.device, x.dtype)
    # Slice 0 is the input itself; the others are perturbed so a vmap rule that
    # mixes up batch entries shows.
    slices = [x, x + noise, x - 0.5 * noise]
    batch = torch.stack(slices).requires_grad_(x.is_floating_point())
    out = torch.func.vmap(lambda t: case.call(case.fn, [t, *rest]))(batch)
    if case.reference is None:
        return case.judge(None, None)
    grad_b = case.gradients(out, [batch])[0] if batch.requires_grad else None
    for k, s in enumerate(slices):
        leaf = _leaf(s, True)
        want = case.call(case.fn, [leaf, *rest])
        problem = _value_difference(want.detach(), out[k])
        if problem is None and grad_b is not None:
            want_grad = case.gradients(want, [leaf])[0]
            problem = _grad_difference(want_grad, grad_b[k], "grad")
        if problem:
            return Cell("differs", _clip(f"batch {k}: {problem}"))
    rule = "value bitwise, grad allclose per batch entry"
    return Cell("ok", f"{rule} ({VMAP_BATCH} entries)")


def _jvp_reference(case: _Case, tangent: torch.Tensor) -> torch.Tensor:
    """The tangent eager autograd implies, assuming the function is elementwise.

    For an elementwise function the Jacobian is diagonal, so J t equals the VJP with t
    as cotangent. A broadcast input is first expanded to the output's shape (an
    expanded copy makes the Jacobian diagonal again), so no reduction mixes entries.
    """
    assert case.reference is not None
    shape = case.reference.value.shape
    x = case.leaves(requires_grad=False)[0]
    if x.shape != shape:
        x = x.expand(shape)
        tangent = tangent.expand(shape)
    leaf = _leaf(x, True)
    out = case.call(case.fn, [leaf, *_others(case)])
    if not out.requires_grad:
        return torch.zeros_like(out)
    (g,) = torch.autograd.grad(out, [leaf], grad_outputs=tangent.to(out.dtype), allow_unused=True)
    return torch.zeros_like(out) if g is None else g.to(out.dtype)


def _jvp(case: _Case, no_grad: bool) -> Cell:
    x, rest = _first_input(case)
    gen = torch.Generator().manual_seed(SEED + 2)
    tangent = torch.randn(x.shape, generator=gen, dtype=torch.float64).to(x.device, x.dtype)
    with torch.set_grad_enabled(not no_grad):
        result = torch.func.jvp(lambda t: case.call(case.fn, [t, *rest]), (x,), (tangent,))
    primal, tangent_out = result[0], result[1]
    if case.reference is None:
        return case.judge(None, None)
    want = _jvp_reference(case, tangent)
    problem = _value_difference(case.reference.value, primal)
    if problem is None:
        if no_grad and not tangent_out.any() and want.any():
            # An inference fast path (`if not torch.is_grad_enabled(): return f(x)`)
            # gives exactly this: a documented trade-off, not a crash.
            return Cell("differs", "tangent is all zeros under no_grad (inference fast path?)")
        problem = _grad_difference(want, tangent_out, "tangent vs VJP")
    if problem:
        return Cell("differs", _clip(problem))
    rtol = _grad_rtol(want.dtype)
    return Cell("ok", f"primal bitwise, tangent allclose(rtol={rtol:g}) to eager VJP (elementwise)")


def _func_jvp(case: _Case) -> Cell:
    return _jvp(case, no_grad=False)


def _func_jvp_no_grad(case: _Case) -> Cell:
    return _jvp(case, no_grad=True)


def _double_backward(case: _Case) -> Cell:
    # Report-only: FGI's gradient is a detached constant (second derivative 0), an
    # original without @once_differentiable differentiates g, one with it raises.
    #
    # How the second pass is run matters (measured on torch 2.13):
    # - the cotangent must require grad, as it does inside a network whose later
    #   layers have parameters; with a constant cotangent @once_differentiable
    #   returns a constant gradient and never raises;
    # - the second pass must be `.backward()`: `@once_differentiable` hangs its
    #   error node off fake leaves, which `autograd.grad(..., inputs)` prunes, so
    #   it would silently report zeros.
    if not case.diff:
        return Cell("skipped", "no differentiable input")
    leaves = case.leaves()
    out = case.call(case.fn, leaves)
    if not out.requires_grad:
        return Cell("ok", "output does not require grad; second derivative is all zeros")
    case.weigh(out)  # make sure the fixed weight exists
    assert case.weight is not None
    cotangent = case.weight.detach().clone().requires_grad_(out.is_floating_point())
    grads = torch.autograd.grad((out * cotangent).sum(), leaves, create_graph=True, allow_unused=True)
    live = [g for g in grads if g is not None and g.requires_grad]
    if not live:
        return Cell("ok", "second derivative is all zeros (gradient is constant in the inputs)")
    torch.stack([g.sum() for g in live]).sum().backward()
    if any(x.grad is not None and bool(x.grad.any()) for x in leaves):
        return Cell("ok", "second derivative is nonzero")
    return Cell("ok", "second derivative is all zeros")


def _compile(case: _Case) -> Cell:
    torch._dynamo.reset()  # a cached graph from the other side must not be reused
    compiled = torch.compile(case.fn, fullgraph=True, backend=case.compile_backend)
    return _run_and_judge(case, compiled, f"fullgraph, backend={case.compile_backend}")


def _compile_graph_breaks(case: _Case) -> Cell:
    torch._dynamo.reset()
    leaves = case.leaves()
    torch.manual_seed(SEED)
    explained = torch._dynamo.explain(case.fn)(*case.assemble(leaves))
    count = int(explained.graph_break_count)
    if count == 0:
        return Cell("ok", "0 graph breaks")
    reasons = [r.reason for r in explained.break_reasons]
    first = reasons[0].strip().splitlines()[0] if reasons and reasons[0].strip() else "?"
    return Cell("differs", _clip(f"{count} graph breaks: {first}"))


class _ExportWrapper(torch.nn.Module):
    """torch.export needs a Module; it takes the differentiable tensors as inputs."""

    def __init__(self, case: _Case) -> None:
        super().__init__()
        self._case = case

    def forward(self, *diff_values: torch.Tensor) -> torch.Tensor:
        return _tensor(self._case.fn(*self._case.assemble(diff_values)))


def _export(case: _Case) -> Cell:
    if not case.diff:
        return Cell("skipped", "no differentiable input to export with")
    torch._dynamo.reset()
    torch.manual_seed(SEED)
    program = torch.export.export(_ExportWrapper(case), tuple(case.leaves()))
    # Gradients are compared too: export traces through a custom Function's forward
    # and drops its backward (measured on torch 2.13), so the exported module runs
    # and gives the right values but no longer trains. Say so in plain words.
    leaves = case.leaves()
    torch.manual_seed(SEED)
    out = _tensor(program.module()(*leaves))
    cell = case.judge(out, case.gradients(out, leaves), "exported module")
    ref = case.reference
    if cell.status == "differs" and ref is not None and not out.requires_grad and any(g.any() for g in ref.grads):
        if _value_difference(ref.value, out) is None:
            return Cell("differs", "value bitwise, but the exported output does not require grad (backward dropped)")
    return cell


_CELLS: dict[str, Callable[[_Case], Cell]] = {
    "eager": _eager,
    "jit.script": _jit_script,
    "jit.script save/load": _jit_script_save_load,
    "jit.trace": _jit_trace,
    "func.grad": _func_grad,
    "func.vmap": _func_vmap,
    "func.jvp": _func_jvp,
    "func.jvp no_grad": _func_jvp_no_grad,
    "double backward": _double_backward,
    "compile": _compile,
    "compile graph breaks": _compile_graph_breaks,
    "export": _export,
}

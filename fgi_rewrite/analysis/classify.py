"""Turn a FunctionIR into a decision: which kind of convertible class, and is the fix safe."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from fgi_rewrite.analysis.ir import FunctionIR
from fgi_rewrite.analysis.syntax import calls_named
from fgi_rewrite.codes import CODES, KIND_CODES
from fgi_rewrite.model import Fix, InputReport


@dataclass(frozen=True)
class Decision:
    code: str
    kind: str
    fix: Fix
    reason: str
    inputs: tuple[InputReport, ...]
    notes: tuple[str, ...]


def kind_of(ir: FunctionIR) -> str:
    differentiable = [i for i in ir.inputs if i.gradient is not None]
    if ir.returns_input is not None and any(i.name != ir.returns_input for i in differentiable):
        return "value-replacement"
    if ir.stochastic and ir.has_step:
        return "stochastic-spike"
    if all(i.gradient is not None and not i.gradient.smooth for i in differentiable):
        # Gradient 1 or a 0/1 mask: a straight-through estimator, unless forward is itself a
        # piecewise-linear op (clamp, relu) and the mask is its exact derivative.
        return "smooth-op" if ir.piecewise and not ir.has_step else "straight-through"
    if not ir.has_step:
        return "smooth-op"
    return "surrogate-spike"


def decide(ir: FunctionIR) -> Decision:
    kind = kind_of(ir)
    notes: list[str] = list(ir.notes)
    inputs = tuple(InputReport(i.name, i.role, i.source, i.default) for i in ir.inputs)
    probes = [i for i in ir.inputs if i.source == "probe"]
    helpers = [i for i in ir.inputs if i.gradient is not None and i.gradient.interprocedural]
    for i in probes:
        assert i.gradient is not None
        notes.append(f"gradient of {i.name} needs a probe: {i.gradient.probe_reason}")
    for i in helpers:
        notes.append(f"gradient of {i.name} is computed by a helper that receives grad_output")
    broadcast = [i for i in ir.inputs if i.role == "broadcast"]
    for i in broadcast:
        notes.append(f"gradient of {i.name} is reduced by autograd's broadcasting, whose summation order differs "
                     "from backward's: equal to a few ulps, not bit for bit")
    notes.extend(ir.forward_unproven)
    saved_names = {e.value for e in ir.saved if isinstance(e, cst.Name)}
    tensors_without_gradient = [i.name for i in ir.inputs if i.role == "constant" and i.name in saved_names]
    if tensors_without_gradient:
        notes.append(f"when only {', '.join(tensors_without_gradient)} requires grad, Cls.apply's output requires "
                     "grad and FGI's does not (no gradient flows either way)")
    notes.extend(f"backward returns zeros for {name}; FGI gives it no gradient (None), which optimisers treat "
                 "differently" for name in ir.zero_gradients)
    if ir.late_bound:
        names = ", ".join(ir.late_bound)
        notes.append(f"backward reads {names}, which this module assigns after import: FGI reads "
                     f"{'it' if len(ir.late_bound) == 1 else 'them'} when forward runs, the original when backward "
                     "runs: a change made between forward and backward reaches the original's gradient, not FGI's")
    if ir.backward_def is not None and calls_named(ir.backward_def.body, "exp"):
        notes.append("the surrogate calls exp, which overflows for large |x|: where the original's gradient is "
                     "NaN, FGI's value is NaN too (--style guarded keeps the value)")
    unproven = bool(broadcast or ir.forward_unproven or ir.zero_gradients)
    fix: Fix = "unsafe" if probes or helpers or unproven else "safe"
    code = KIND_CODES[kind]
    how = ("symbolic gradient" if fix == "safe" else "probed gradient" if probes
           else "gradient read through a helper" if helpers
           else "broadcast reduction" if broadcast else "zero gradient dropped" if ir.zero_gradients
           else "forward's shape not proven")
    reason = f"{CODES[code].summary}; {how}"
    return Decision(code, kind, fix, reason, inputs, tuple(notes))

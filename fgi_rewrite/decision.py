"""The one decision every command takes from: is this class convertible, and how safely?

scan, rewrite, verify and report all call `judge`. It reads the class (extract), classifies
it (classify) and then writes the FGI function in memory, so that a class the emitter cannot
write is refused here with a code (FGI116) rather than reported convertible by scan and held
back by rewrite.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, replace

import libcst as cst

from fgi_rewrite.analysis.classify import Decision, decide
from fgi_rewrite.analysis.contract import contract_refusal
from fgi_rewrite.analysis.discovery import ClassInfo, ModuleIndex, dotted_name, torch_name
from fgi_rewrite.analysis.extract import extract
from fgi_rewrite.analysis.ir import FunctionIR, Refusal
from fgi_rewrite.analysis.syntax import module_names, scope_of
from fgi_rewrite.emit.function import Emitted, FunctionWriter
from fgi_rewrite.model import Fix

# The emitter's own "cannot write this" refusals: the analysis read the class, but the form
# is not emitted.
_EMITTER_LIMIT = "FGI116"


@dataclass(frozen=True)
class Verdict:
    ir: FunctionIR
    decision: Decision

    @property
    def fix(self) -> Fix:
        return self.decision.fix


def _autocast_decorator(ir: FunctionIR) -> str | None:
    for method in (ir.forward_def, ir.backward_def):
        for decorator in method.decorators if method is not None else ():
            node = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
            name = (dotted_name(node) or "").split(".")[-1]
            if name in ("custom_fwd", "custom_bwd"):
                return name
    return None


def write_function(ir: FunctionIR, info: ClassInfo, name: str, module: cst.Module, *, allow_probe: bool,
                   style: str = "signed-zero", fast_path: bool = True, torch_name: str = "torch") -> Emitted:
    """The FGI function's source; a Refusal from the emitter becomes FGI116."""
    writer = FunctionWriter(ir, info.name, name, module.default_indent, module.default_newline, style=style,
                            fast_path=fast_path, allow_probe=allow_probe, torch_name=torch_name)
    try:
        emitted = writer.write()
    except Refusal as refusal:
        code = _EMITTER_LIMIT if refusal.code == "FGI111" else refusal.code
        raise Refusal(code, refusal.reason, refusal.node) from None
    if "<locals>" not in info.qualname:  # a class in a function may read its closure
        _check_names_defined(emitted, module, info)
    return emitted


def _check_names_defined(emitted: Emitted, module: cst.Module, info: ClassInfo) -> None:
    """Every name the emitted code reads is a parameter, a local, a module-level name or a
    builtin: a statement the emitter dropped must not leave a name undefined (found by
    fixtures/mask_type_as_grad_output.py). A bug of ours: never written."""
    source = emitted.function if emitted.helper is None else emitted.helper + "\n" + emitted.function
    emitted_module = cst.parse_module(source)
    defined = module_names(module) | module_names(emitted_module) | set(dir(builtins)) | {"torch"}
    for statement in emitted_module.body:
        if isinstance(statement, cst.FunctionDef):
            missing = sorted(scope_of(statement).free - defined)
            if missing:
                raise Refusal(_EMITTER_LIMIT, f"internal: the emitted function would read {missing[0]}, which "
                              "nothing defines", info.node)


def judge(info: ClassInfo, index: ModuleIndex) -> Verdict:
    """Raises Refusal with a stable code for a class that must stay as it is."""
    contract = contract_refusal(info)
    if contract is not None:
        raise contract
    ir = extract(info, index)
    decision = decide(ir)
    autocast = _autocast_decorator(ir)
    if autocast is not None:
        raise Refusal(_EMITTER_LIMIT, f"uses @{autocast}: its autocast casting is not reproduced yet", info.node)
    # Written once in memory: what the emitter cannot write is refused, not held back later.
    emitted = write_function(ir, info, "_fgi_trial", index.module, allow_probe=True,
                             torch_name=torch_name(index) or "torch")
    if emitted.shape_unproven is not None and decision.fix == "safe":
        decision = replace(decision, fix="unsafe", notes=(*decision.notes, emitted.shape_unproven),
                           reason=decision.reason.replace("symbolic gradient", "shapes not proven equal"))
    return Verdict(ir, decision)


def judge_all(classes: list[ClassInfo], index: ModuleIndex,
              subclassed_elsewhere: frozenset[str] = frozenset()) -> dict[int, Verdict | Refusal]:
    """Every class's verdict, keyed by id(node). A converted class stops being a Function, so
    one subclassed by a class that stays a Function must stay too (to a fixpoint)."""
    verdicts: dict[int, Verdict | Refusal] = {}
    for info in classes:
        try:
            verdicts[id(info.node)] = judge(info, index)
        except Refusal as refusal:
            verdicts[id(info.node)] = refusal
            continue
        if info.name in subclassed_elsewhere and "." not in info.qualname:
            verdicts[id(info.node)] = Refusal(
                "FGI114", "subclassed by a class in another file given, which stays a Function", info.node)
    changed = True
    while changed:
        changed = False
        for info in classes:
            if isinstance(verdicts[id(info.node)], Verdict):
                continue
            for base in info.local_bases:
                if isinstance(verdicts.get(id(base)), Verdict):
                    verdicts[id(base)] = Refusal("FGI114", f"subclassed by {info.qualname}, which stays a Function",
                                                 base)
                    changed = True
    return verdicts

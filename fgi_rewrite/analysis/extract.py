"""Build the intermediate description (ir.FunctionIR) of one Function class from its source."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Literal, TypeGuard, cast

import libcst as cst

from fgi_rewrite.analysis.backward import BackwardReader, merge_all
from fgi_rewrite.analysis.discovery import FUNCTION_BASES, ClassInfo, ModuleIndex, code_of, dotted_name
from fgi_rewrite.analysis.forward import read_forward
from fgi_rewrite.analysis.ir import Const, FunctionIR, InputGradient, Refusal, TupleValue, Value
from fgi_rewrite.analysis.operations import PIECEWISE_LINEAR, STEP_FUNCTIONS, STOCHASTIC
from fgi_rewrite.analysis.syntax import mentions, scope_of, without_numbers
from fgi_rewrite.model import Role


def find_method(
    cls: cst.ClassDef, name: str, index: ModuleIndex, seen: frozenset[int] = frozenset()
) -> tuple[cst.FunctionDef | None, cst.ClassDef | None, list[str]]:
    """The method `name` as Python's MRO would find it among local classes.

    Returns the method, the class defining it, and the foreign (imported) bases met on the
    way, which might define it instead.
    """
    for stmt in cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ():
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            return stmt, cls, []
    foreign: list[str] = []
    for arg in cls.bases:
        dotted = dotted_name(arg.value)
        if dotted is None:
            continue
        local = [c for c in index.classes_by_name.get(dotted, []) if c is not cls and id(c) not in seen]
        if local:
            method, owner, more = find_method(local[-1], name, index, seen | {id(cls)})
            foreign.extend(more)
            if method is not None or any(f in FUNCTION_BASES for f in more):
                return method, owner, foreign
        else:
            qualified = index.imports.qualify(dotted)
            foreign.append(qualified)
            if qualified in FUNCTION_BASES:
                # torch's own Function comes next in the MRO: its backward raises and its
                # forward is abstract, so a mixin listed after it never supplies them.
                return None, None, foreign
    return None, None, foreign


def _params(fn: cst.FunctionDef) -> list[cst.Param]:
    return [*fn.params.posonly_params, *fn.params.params]


class _ForwardFacts(cst.CSTVisitor):
    """Steps, randomness, saves, ctx attributes and returns in forward (not nested defs)."""

    def __init__(self, ctx_name: str | None) -> None:
        self.ctx_name = ctx_name
        self.returns: list[cst.Return] = []
        self.step = False
        self.stochastic = False
        self.piecewise = False
        self.mark_dirty: cst.CSTNode | None = None
        self.non_differentiable: list[cst.BaseExpression] = []
        self.saved: list[cst.BaseExpression] = []
        self.save_calls = 0
        self.ctx_attributes: dict[str, cst.BaseExpression] = {}
        self.helper_calls: list[str] = []
        self._depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._depth += 1
        return self._depth == 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._depth -= 1

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Return(self, node: cst.Return) -> None:
        self.returns.append(node)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        self.step = True

    def visit_Call(self, node: cst.Call) -> None:
        name = dotted_name(node.func) or ""
        short = node.func.attr.value if isinstance(node.func, cst.Attribute) else name
        short = short.split(".")[-1]
        if short in STEP_FUNCTIONS or "heaviside" in short.lower() or "spike" in short.lower():
            self.step = True
        if short in ("min", "max") and (len(node.args) == 2 and isinstance(node.args[1].value, cst.Integer)
                                        or any(a.keyword is not None and a.keyword.value == "dim" for a in node.args)):
            self.step = True  # a selection along a dimension (quantisers pick the nearest level)
        if short in PIECEWISE_LINEAR:
            self.piecewise = True
        if short in STOCHASTIC:
            self.stochastic = True
        if isinstance(node.func, cst.Name):
            self.helper_calls.append(node.func.value)
        if self.ctx_name and name.startswith(self.ctx_name + "."):
            method = name[len(self.ctx_name) + 1:]
            if method == "mark_dirty":
                self.mark_dirty = node
            elif method == "mark_non_differentiable":
                self.non_differentiable.extend(a.value for a in node.args)
            elif method in ("save_for_backward", "save_for_forward"):
                self.saved.extend(a.value for a in node.args)
                self.save_calls += 1

    def visit_Assign(self, node: cst.Assign) -> None:
        for target, value in ctx_attribute_pairs(node, self.ctx_name):
            self.ctx_attributes[target] = value


def ctx_attribute_pairs(node: cst.Assign, ctx: str | None) -> list[tuple[str, cst.BaseExpression]]:
    """`ctx.a = v` and `ctx.a, ctx.b = v, w` as (attribute, value) pairs; [] for anything else.
    (A tuple of values is evaluated before any target is set, and ctx attributes are not read
    by it, so the pairs are equivalent to the statement.)"""
    pairs: list[tuple[str, cst.BaseExpression]] = []
    for assign_target in node.targets:
        target, value = assign_target.target, node.value
        if _is_ctx_attribute(target, ctx):
            pairs.append((target.attr.value, value))
        elif isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)) \
                and len(target.elements) == len(value.elements) \
                and all(_is_ctx_attribute(e.value, ctx) for e in target.elements) \
                and not any(isinstance(e, cst.StarredElement) for e in value.elements):
            # cast: every target element is a ctx attribute (checked by the all() above)
            pairs.extend((cast(cst.Attribute, t.value).attr.value, v.value)
                         for t, v in zip(target.elements, value.elements, strict=True))
    return pairs


def _is_ctx_attribute(node: cst.BaseExpression, ctx: str | None) -> TypeGuard[cst.Attribute]:
    return isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == ctx


def _forward_returns_value(facts: _ForwardFacts, fn: cst.FunctionDef) -> cst.BaseExpression:
    values = [r.value for r in facts.returns if r.value is not None]
    if not values:
        raise Refusal("FGI111", "forward returns nothing", fn)
    codes = {code_of(v) for v in values}
    if len(codes) > 1:
        raise Refusal("FGI111", f"forward has {len(values)} different return statements", facts.returns[1])
    return values[0]


def _resolve_alias(value: cst.BaseExpression, fn: cst.FunctionDef) -> cst.BaseExpression:
    """Follow `out = <expr>; return out` one simple assignment at a time."""
    seen = 0
    while isinstance(value, cst.Name) and seen < 8:
        seen += 1
        assigned = None
        for stmt in fn.body.body if isinstance(fn.body, cst.IndentedBlock) else ():
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        target = small.targets[0].target
                        if isinstance(target, cst.Name) and target.value == value.value:
                            assigned = small.value
        if assigned is None:
            break
        value = assigned
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) \
            and value.func.attr.value in ("clone", "detach"):
        return _resolve_alias(value.func.value, fn)
    return value


def _methods(info: ClassInfo, index: ModuleIndex
             ) -> tuple[cst.FunctionDef, cst.FunctionDef, cst.ClassDef | None, cst.FunctionDef | None]:
    """forward, backward, the class defining backward, and setup_context (or None)."""
    forward, _, foreign_fwd = find_method(info.node, "forward", index)
    backward, backward_owner, foreign_bwd = find_method(info.node, "backward", index)
    setup, _, _ = find_method(info.node, "setup_context", index)
    if backward is None:
        outside = [f for f in foreign_bwd if f not in FUNCTION_BASES]
        where = f", maybe inherited from {outside[0]}, outside the files given" if outside else ""
        raise Refusal("FGI109", f"no backward found{where}", info.node)
    if forward is None:
        outside = [f for f in foreign_fwd if f not in FUNCTION_BASES]
        where = f" (inherited from {outside[0]}, outside the files given)" if outside else ""
        raise Refusal("FGI109", f"no forward found{where}", info.node)
    return forward, backward, backward_owner, setup


def _forward_facts(forward: cst.FunctionDef, setup: cst.FunctionDef | None, ctx_name: str,
                   index: ModuleIndex) -> _ForwardFacts:
    """What forward does, with what setup_context saves and what the helpers forward calls do.
    ctx_name: forward's ctx parameter, or setup_context's where there is one (forward has none)."""
    facts = _ForwardFacts(ctx_name if setup is None else None)
    forward.visit(facts)
    if setup is not None:
        setup_facts = _ForwardFacts(ctx_name)
        setup.visit(setup_facts)
        facts.saved.extend(setup_facts.saved)
        facts.save_calls += setup_facts.save_calls
        facts.ctx_attributes.update(setup_facts.ctx_attributes)
        facts.mark_dirty = facts.mark_dirty or setup_facts.mark_dirty
        facts.non_differentiable.extend(setup_facts.non_differentiable)
    for helper_name in facts.helper_calls:
        helper = index.functions_by_name.get(helper_name)
        if helper is not None and helper is not forward:
            helper_facts = _ForwardFacts(None)
            helper.visit(helper_facts)
            facts.step = facts.step or helper_facts.step
            facts.stochastic = facts.stochastic or helper_facts.stochastic
            facts.piecewise = facts.piecewise or helper_facts.piecewise
    return facts


def _check_marked_outputs(facts: _ForwardFacts, value: cst.BaseExpression, outputs: int,
                          setup: cst.FunctionDef | None) -> None:
    """Refuse a forward that marks something non-differentiable (FGI113, FGI116)."""
    if outputs == 1 and facts.non_differentiable:
        marked = facts.non_differentiable[0]
        setup_output = _params(setup)[2].name.value if setup is not None and len(_params(setup)) == 3 else None
        if any(m.deep_equals(value) or isinstance(m, cst.Name) and m.value == setup_output
               for m in facts.non_differentiable):
            raise Refusal("FGI113", "forward marks its output non-differentiable: no gradient flows through it", marked)
        # A mark whose relation to the output the analysis cannot see: the output may or may
        # not require grad afterwards, which FGI must reproduce.
        raise Refusal("FGI116", f"forward marks {code_of(marked)[:40]} non-differentiable, not matched to its output",
                      marked)


def _input_gradients(names: list[str], defaults: list[str | None], gradients: list[Value], variadic: bool,
                     backward: cst.FunctionDef) -> tuple[list[InputGradient], list[str]]:
    """Each input's role and gradient, and the inputs whose gradient is an explicit zero."""
    inputs: list[InputGradient] = []
    zero_gradients: list[str] = []
    for position, name in enumerate(names):
        gradient: Value = gradients[position] if position < len(gradients) else Const(cst.Name("None"))
        role: Role | None = "variadic" if variadic and position == len(names) - 1 else None
        if isinstance(gradient, TupleValue):
            raise Refusal("FGI111", f"gradient of {name} is a tuple", backward)
        if isinstance(gradient, Const):
            if not (gradient.is_none or _is_zeros_like(gradient.node)):
                raise Refusal("FGI102", f"gradient of {name} does not depend on grad_output", backward)
            if not gradient.is_none:
                zero_gradients.append(name)
            inputs.append(InputGradient(name, role or "constant", None, defaults[position]))
            continue
        if gradient.index is not None:
            raise Refusal("FGI103", f"backward is not elementwise: gradient of {name} is read through an index",
                          backward)
        role = role or ("broadcast" if gradient.reduced is not None else "differentiable")
        inputs.append(InputGradient(name, role, gradient, defaults[position]))
    return inputs, zero_gradients


def extract(info: ClassInfo, index: ModuleIndex) -> FunctionIR:
    forward, backward, backward_owner, setup = _methods(info, index)
    forward_params = _params(forward)
    # A forward without @staticmethod is still called with ctx first by torch (old-style
    # classes instantiated once); with setup_context, forward takes the inputs alone.
    style: Literal["ctx", "setup_context"] = "ctx" if setup is None else "setup_context"
    if setup is None:
        if not forward_params and forward.params.star_arg is None:
            raise Refusal("FGI111", "forward takes no ctx argument", forward)
        ctx_name = forward_params[0].name.value if forward_params else "ctx"
        input_params = forward_params[1:]
    else:
        setup_params = _params(setup)
        ctx_name = setup_params[0].name.value if setup_params else "ctx"
        input_params = forward_params
    star = forward.params.star_arg
    variadic = isinstance(star, cst.Param)

    facts = _forward_facts(forward, setup, ctx_name, index)
    if facts.mark_dirty is not None:
        raise Refusal("FGI105", f"forward modifies an input in place: {code_of(facts.mark_dirty)}", facts.mark_dirty)

    value = _forward_returns_value(facts, forward)
    outputs = len(value.elements) if isinstance(value, (cst.Tuple,)) else 1
    _check_marked_outputs(facts, value, outputs, setup)

    for method in (forward, backward):
        if any(isinstance(d.decorator, cst.Name) and d.decorator.value == "classmethod" for d in method.decorators):
            # Its first parameter is the class (a mixin's `cls.slope` differs per subclass):
            # the function would need the class it was called on.
            raise Refusal("FGI116", f"{method.name.value} is a classmethod: the rewrite does not emit it yet", method)
    backward_params = _params(backward)
    if not backward_params:
        raise Refusal("FGI111", "backward takes no ctx argument", backward)
    backward_ctx = backward_params[0].name.value
    grad_names = [p.name.value for p in backward_params[1:]]
    if backward.params.star_arg is not None and isinstance(backward.params.star_arg, cst.Param):
        grad_names.append(backward.params.star_arg.name.value)
    if outputs > 1 or len(grad_names) > 1:
        used = [n for n in grad_names if mentions(backward.body, {n})]
        count = max(len(used), outputs - len(facts.non_differentiable))
        if count > 1:
            raise Refusal("FGI101", f"{count} differentiable outputs", backward)
        raise Refusal("FGI101", f"{max(outputs, len(grad_names))} outputs, one differentiable: not supported yet",
                      backward)

    local_classes = tuple(c for c in (info.node, backward_owner) if c is not None)
    saved = tuple(_resolve_alias(e, forward) for e in facts.saved)
    attributes = {k: _resolve_alias(v, forward) for k, v in facts.ctx_attributes.items()}
    reader = BackwardReader(index, set(grad_names), backward_ctx, info.node, local_classes=local_classes,
                            saved=saved, ctx_attributes=attributes, saved_known=facts.save_calls == 1)
    returns = reader.run(backward.body)
    result = merge_all(returns)
    gradients: list[Value] = list(result.items) if isinstance(result, TupleValue) else [result]

    open_ended = isinstance(result, TupleValue) and result.open_ended
    if not variadic and not open_ended and len(gradients) != len(input_params):
        extra = gradients[len(input_params):]
        if len(gradients) < len(input_params) or not all(isinstance(g, Const) and g.is_none for g in extra):
            raise Refusal(
                "FGI110",
                f"backward returns {_count(len(gradients), 'gradient')} for {_count(len(input_params), 'input')}",
                backward,
            )
        gradients = gradients[: len(input_params)]

    names = [p.name.value for p in input_params]
    defaults = [code_of(p.default) if p.default is not None else None for p in input_params]
    if variadic:
        assert isinstance(star, cst.Param)
        extra = gradients[len(names):]
        if not all(isinstance(g, Const) and g.is_none for g in extra):
            raise Refusal("FGI111", f"gradients for *{star.name.value} are not supported yet", backward)
        gradients = gradients[: len(names)]
        names.append(star.name.value)
        defaults.append(None)

    inputs, zero_gradients = _input_gradients(names, defaults, gradients, variadic, backward)

    differentiable = [i for i in inputs if i.gradient is not None]
    if not differentiable:
        raise Refusal("FGI111", "no input receives a gradient", backward)
    if all(i.gradient is not None and i.gradient.reduced is not None for i in differentiable):
        first = differentiable[0].gradient
        assert first is not None and first.reduced is not None
        raise Refusal("FGI103", f"backward is not elementwise: {code_of(first.reduced)[:80]}", first.reduced)

    _check_scopes(forward, setup, backward, backward_ctx, grad_names)
    read = read_forward(forward, names, frozenset(i.name for i in differentiable), index,
                        ctx_name if style == "ctx" else None)
    if read.is_bool:
        raise Refusal("FGI113", "forward returns a bool tensor: no gradient flows through it", forward)
    resolved = _resolve_alias(value, forward)
    returns_input = resolved.value if isinstance(resolved, cst.Name) and resolved.value in names else None
    return FunctionIR(
        forward_style=style,
        ctx_name=ctx_name,
        inputs=inputs,
        saved=facts.saved,
        ctx_attributes=facts.ctx_attributes,
        has_step=facts.step,
        stochastic=facts.stochastic,
        piecewise=facts.piecewise,
        returns_input=returns_input,
        forward_def=forward,
        setup_def=setup,
        backward_def=backward,
        backward_ctx=backward_ctx,
        params=tuple(input_params),
        star=star if variadic else None,  # type: ignore[arg-type]
        linear_names=frozenset(reader.linear_names),
        gradient_statements=frozenset(reader.gradient_statements),
        returns_tuple=isinstance(result, TupleValue),
        forward_unproven=tuple(dict.fromkeys(read.unproven)),
        zero_gradients=tuple(zero_gradients),
        value_dtype=read.value.dtype,
        value_inputs=read.value.inputs,
        pure_helpers=_pure_helpers(index, frozenset(literals := _numeric_literals(index.module, info.node))),
        numeric_constants=frozenset(literals),
        numeric_literals=tuple(literals.items()),
        late_bound=_late_bound(backward, _reassigned(index.module, info.name)),
    )


def _is_zeros_like(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Call) and (dotted_name(node.func) or "").endswith("zeros_like")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _check_scopes(forward: cst.FunctionDef, setup: cst.FunctionDef | None, backward: cst.FunctionDef,
                  ctx: str, grad_names: list[str]) -> None:
    """forward and backward become one function: each name must keep the meaning it had in
    its own scope (FGI115)."""
    back = scope_of(backward)
    if ctx in back.passed:
        raise Refusal("FGI116", f"backward hands {ctx} itself to a helper, which FGI has no object for", backward)
    fronts = [scope_of(f) for f in (forward, setup) if f is not None]
    forward_locals = frozenset().union(*(f.local for f in fronts))
    forward_free = frozenset().union(*(f.free for f in fronts))
    captured = sorted(back.free & forward_locals)
    if captured:
        raise Refusal("FGI115", f"backward reads the global {captured[0]}, which forward binds as a local", backward)
    shadowed = sorted((back.local - {ctx, *grad_names}) & forward_free)
    if shadowed:
        raise Refusal("FGI115", f"backward binds {shadowed[0]}, which forward reads from outside", backward)


def _pure_helpers(index: ModuleIndex, constants: frozenset[str]) -> frozenset[str]:
    """Module functions that read nothing from outside but their parameters, torch, math,
    builtins and numeric constants: what they return is shaped by their arguments alone."""
    allowed = set(dir(builtins)) | constants | {"math", *(local for local, full in index.imports.names.items()
                                                          if full in ("torch", "math"))}
    return frozenset(name for name, fn in index.functions_by_name.items()
                     if scope_of(without_numbers(fn, constants)).free <= allowed)  # type: ignore[arg-type]


def _numeric_literals(module: cst.Module, cls: cst.ClassDef) -> dict[str, str]:
    """Module-level names and attributes of the class bound exactly once, to a number literal
    (a sign included), and assigned nowhere else in the module (`global X` in a function,
    `Cls.attr = ...`, `cls.attr = ...`): Python numbers, which never broadcast a tensor. Maps
    each (`ALPHA`, `Spike.alpha`) to its literal's source."""
    def numbers(body: Sequence[cst.CSTNode], prefix: str) -> dict[str, str]:
        counts: dict[str, int] = {}
        literal: dict[str, str] = {}
        for stmt in body:
            for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
                if isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    for target in targets:
                        if isinstance(target, cst.Name):
                            counts[target.value] = counts.get(target.value, 0) + 1
                            value = small.value
                            if isinstance(value, cst.UnaryOperation):
                                value = value.expression
                            if isinstance(small, cst.Assign) and isinstance(value, (cst.Integer, cst.Float)):
                                literal[target.value] = code_of(small.value)
        return {prefix + name: code for name, code in literal.items() if counts[name] == 1}

    class_body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    found = numbers(module.body, "") | numbers(class_body, f"{cls.name.value}.")
    reassigned = _reassigned(module, cls.name.value)
    return {name: code for name, code in found.items() if name not in reassigned}


def _late_bound(backward: cst.FunctionDef, reassigned: set[str]) -> tuple[str, ...]:
    """The reassigned globals and class attributes backward reads, in the order it reads them:
    FGI reads them when forward runs, the original when backward runs."""
    found: list[str] = []

    class Reads(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value in reassigned and node.value not in found:
                found.append(node.value)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            name = dotted_name(node)
            if name in reassigned and name not in found:
                found.append(name)
            return True

    free = scope_of(backward).free
    backward.body.visit(Reads())
    return tuple(name for name in found if name.split(".")[0] in free)


def _reassigned(module: cst.Module, class_name: str) -> set[str]:
    """Names assigned inside functions through `global`, and attributes of the class assigned
    anywhere (`Cls.attr = v`, `cls.attr = v` in its classmethods), as `NAME` / `Cls.attr`."""
    found: set[str] = set()

    class Assignments(cst.CSTVisitor):
        def __init__(self) -> None:
            self.declared_global: list[set[str]] = [set()]

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.declared_global.append(set())

        def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
            self.declared_global.pop()

        def visit_Global(self, node: cst.Global) -> None:
            self.declared_global[-1].update(n.name.value for n in node.names)

        def _target(self, target: cst.BaseExpression) -> None:
            if isinstance(target, cst.Name) and target.value in self.declared_global[-1]:
                found.add(target.value)
            elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) \
                    and target.value.value in (class_name, "cls"):
                found.add(f"{class_name}.{target.attr.value}")
            elif isinstance(target, (cst.Tuple, cst.List)):
                for element in target.elements:
                    self._target(element.value)

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            self._target(node.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            self._target(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            self._target(node.target)

    module.visit(Assignments())
    return found

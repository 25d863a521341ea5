"""Read forward abstractly: is its value elementwise in each differentiable input, and of
which dtype?

FGI adds a carrier built from each differentiable input to forward's value, so the carrier
must have the value's shape: forward has to be elementwise in that input, with the value's
shape the broadcast of the inputs. Nothing here recognises shapes of code. Each value is
tracked as the set of tensor inputs it is an elementwise (broadcasting) function of, and only
operations on a whitelist of known elementwise semantics keep that set; a known
shape-changing operation on a differentiable input refuses the class (FGI112), an unknown one
leaves the proof open (the fix is unsafe). Module-level helpers are read through.

dtype is tracked the same way: the value has its input's dtype when only that input's dtype
takes part in every step (Python number literals never promote a floating tensor).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import libcst as cst

from fgi_rewrite.analysis.discovery import ModuleIndex, code_of, dotted_name
from fgi_rewrite.analysis.ir import Refusal
from fgi_rewrite.analysis.operations import (
    BOOL_RESULTS,
    CASTS_TO_ANOTHER,
    ELEMENTWISE,
    FACTORIES,
    FIXED_DTYPE_CASTS,
    LAYOUT,
    METADATA_ATTRIBUTES,
    METADATA_METHODS,
    NEW_TENSORS,
    SHAPE_ATTRIBUTES,
    SHAPE_CHANGING,
    TORCH_ROOTS,
)

_MAX_HELPER_DEPTH = 4


@dataclass(frozen=True)
class Dep:
    """An abstract value: the tensor inputs it is elementwise in, and what decides its dtype.

    `dtype` is the set of inputs whose dtypes are promoted together, or one of the markers
    "bool", "fixed" (an explicit cast) and "unknown".
    """

    inputs: frozenset[str] = frozenset()
    dtype: frozenset[str] | str = frozenset()
    scalar: bool = False  # a Python number literal: never promotes a floating tensor
    # Laid out in another shape (flatten, view, reshape) with its elements in order: fine as
    # long as it meets no other tensor and is reshaped back to its inputs' shape.
    reshaped: bool = False
    # Read under a boolean mask (`v[mask]`): only fit to be written back under the same mask.
    picked: cst.BaseExpression | None = None

    def join(self, other: "Dep") -> "Dep":
        picked = self.picked if self.picked is not None else other.picked
        return Dep(self.inputs | other.inputs, _join_dtype(self, other), reshaped=self.reshaped or other.reshaped,
                   picked=picked)

    @property
    def displaced(self) -> bool:
        return self.reshaped or self.picked is not None


_LITERAL = Dep(scalar=True)


def _join_dtype(a: Dep, b: Dep) -> frozenset[str] | str:
    if a.scalar or not a.inputs and a.dtype == frozenset():
        return b.dtype if not (b.dtype == "bool" and a.scalar) else "fixed"
    if b.scalar or not b.inputs and b.dtype == frozenset():
        return a.dtype if not (a.dtype == "bool" and b.scalar) else "fixed"
    if isinstance(a.dtype, frozenset) and isinstance(b.dtype, frozenset):
        return a.dtype | b.dtype
    if a.dtype == "bool":
        return b.dtype  # bool promotes to the other operand's dtype
    if b.dtype == "bool":
        return a.dtype
    return "unknown"


@dataclass
class ForwardFacts:
    value: Dep
    unproven: list[str] = field(default_factory=list)  # why elementwise-ness is not proven

    def dtype_is_input_dtype(self, name: str) -> bool:
        return self.value.dtype == frozenset({name})

    @property
    def is_bool(self) -> bool:
        return self.value.dtype == "bool"


class ForwardReader:
    def __init__(self, index: ModuleIndex, tensors: dict[str, Dep], differentiable: frozenset[str],
                 depth: int = 0, ctx_name: str | None = None) -> None:
        self.index = index
        self.ctx_name = ctx_name
        self.differentiable = differentiable
        self.env: dict[str, Dep] = dict(tensors)
        self.depth = depth
        self.unproven: list[str] = []
        self.returned: list[Dep] = []
        # Names bound to the shape of one input (`shape = x.shape`): reshaping to it restores it.
        self.shapes: dict[str, str] = {}

    # ------------------------------------------------------------------ statements
    def block(self, body: cst.BaseSuite | cst.Module) -> None:
        if isinstance(body, cst.SimpleStatementSuite):
            for small in body.body:
                self.small(small)
            return
        for stmt in body.body:
            self.statement(stmt)

    def statement(self, stmt: cst.CSTNode) -> None:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self.small(small)
        elif isinstance(stmt, cst.If):
            self.expr(stmt.test)
            before = dict(self.env)
            self.block(stmt.body)
            after_body, self.env = self.env, before
            if stmt.orelse is not None:
                self.statement(stmt.orelse) if isinstance(stmt.orelse, cst.If) else self.block(stmt.orelse.body)
            self.env = _merge_env(after_body, self.env)
        elif isinstance(stmt, cst.Else):
            self.block(stmt.body)
        elif isinstance(stmt, (cst.For, cst.While)):
            if isinstance(stmt, cst.For):
                self._bind_target(stmt.target, self.expr(stmt.iter))
            else:
                self.expr(stmt.test)
            for _ in range(2):  # dependencies only grow: twice reaches the fixpoint of one carry
                before = dict(self.env)
                self.block(stmt.body)
                self.env = _merge_env(before, self.env)
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                self.expr(item.item)
            self.block(stmt.body)
        elif isinstance(stmt, cst.Try):
            self.block(stmt.body)
            for handler in stmt.handlers:
                self.block(handler.body)
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            self.env.pop(stmt.name.value, None)
        else:
            self.unproven.append(f"forward uses a {type(stmt).__name__} statement")

    def small(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.Return):
            self.returned.append(self.expr(small.value) if small.value is not None else Dep())
        elif isinstance(small, cst.Assign):
            value = self.expr(small.value)
            for target in small.targets:
                self._bind_target(target.target, value)
                if isinstance(target.target, cst.Name):
                    shape_of = self._shape_of(small.value)
                    if shape_of is None:
                        self.shapes.pop(target.target.value, None)
                    else:
                        self.shapes[target.target.value] = shape_of
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self._bind_target(small.target, self.expr(small.value))
        elif isinstance(small, cst.AugAssign):
            value = self.expr(small.value)
            if isinstance(small.operator, cst.MatrixMultiplyAssign):
                self._not_elementwise(value.join(self.expr(small.target)), small)
            current = self.expr(small.target)
            self._bind_target(small.target, current.join(value), augmented=True)
        elif isinstance(small, cst.Expr):
            self.expr(small.value)

    def _bind_target(self, target: cst.BaseExpression, value: Dep, augmented: bool = False) -> None:
        if isinstance(target, cst.Name):
            self.env[target.value] = value
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                inner = element.value.value if isinstance(element.value, cst.StarredElement) else element.value
                self._bind_target(inner, value)
        elif isinstance(target, cst.Subscript):
            # `out[mask] = v`: elementwise when the index is a mask computed elementwise from
            # the inputs; an integer or a slice picks positions.
            base = self.expr(target.value)
            index = self._index(target)
            if index is None and (base.inputs | value.inputs) & self.differentiable:
                self._not_elementwise(base.join(value), target)
            mask = _single_index(target) if index is not None else None
            if value.picked is not None and (mask is None or not value.picked.deep_equals(mask)):
                self._not_elementwise(value.join(base), target)
            if value.reshaped:
                self._not_elementwise(value.join(base), target)
            root = _root_name(target)
            if root is not None:
                joined = base.join(value).join(index or Dep())
                # Writing keeps the target's dtype and layout.
                self.env[root] = Dep(joined.inputs, base.dtype, reshaped=base.reshaped)
        # attributes (ctx.x = ...) bind nothing forward's value reads back

    def _index(self, target: cst.Subscript) -> Dep | None:
        """The index of an elementwise masked write, or None when it picks positions."""
        expression = _single_index(target)
        if expression is None:
            return None
        index = self.expr(expression)
        return index if index.dtype == "bool" and index.inputs else None

    # ------------------------------------------------------------------ expressions
    def expr(self, node: cst.BaseExpression) -> Dep:
        if isinstance(node, cst.Name):
            if node.value in ("True", "False"):
                return _LITERAL
            # A global, a closure variable or a builtin: its dtype is not known.
            return self.env.get(node.value, Dep(dtype="unknown"))
        if isinstance(node, (cst.Integer, cst.Float)):
            return _LITERAL
        if isinstance(node, (cst.BinaryOperation, cst.BooleanOperation)):
            return self._operation(node)
        if isinstance(node, cst.UnaryOperation):
            operand = self.expr(node.expression)
            return operand if not isinstance(node.operator, cst.Not) else replace(operand, dtype="unknown")
        if isinstance(node, cst.Comparison):
            joined = self.expr(node.left)
            for comparison in node.comparisons:
                joined = joined.join(self.expr(comparison.comparator))
            return replace(joined, dtype="bool")
        if isinstance(node, cst.IfExp):
            self.expr(node.test)
            return self.expr(node.body).join(self.expr(node.orelse))
        if isinstance(node, cst.Attribute):
            return self._attribute(node)
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.Subscript):
            return self._subscript(node)
        if isinstance(node, (cst.Tuple, cst.List)):
            joined = Dep()
            for element in node.elements:
                joined = joined.join(self.expr(element.value))
            return joined
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return Dep()
        # Lambdas, comprehensions, ...: their use of an input is not followed.
        used = self._inputs_in(node)
        if used & self.differentiable:
            self.unproven.append(f"forward uses {sorted(used)[0]} in {type(node).__name__}")
        return Dep(used, "unknown")

    def _operation(self, node: cst.BinaryOperation | cst.BooleanOperation) -> Dep:
        left, right = self.expr(node.left), self.expr(node.right)
        self._meet([left, right], node)
        joined = left.join(right)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.MatrixMultiply):
            self._not_elementwise(joined, node)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide) \
                and joined.dtype == "bool":
            return replace(joined, dtype="fixed")
        return joined

    def _subscript(self, node: cst.Subscript) -> Dep:
        base = self.expr(node.value)
        for element in node.slice:
            if isinstance(element.slice, cst.Index):
                self.expr(element.slice.value)
        if not base.inputs & self.differentiable:
            return Dep(base.inputs, base.dtype if base.inputs else "unknown")
        mask = self._index(node)
        if mask is None or base.displaced:
            self._not_elementwise(base, node)
        assert mask is not None  # else _not_elementwise raised: base reads a differentiable input
        return Dep(base.inputs | mask.inputs, base.dtype, picked=_single_index(node))

    def _inputs_in(self, node: cst.CSTNode) -> frozenset[str]:
        found: set[str] = set()
        env = self.env

        class Names(cst.CSTVisitor):
            def visit_Name(self, name: cst.Name) -> None:
                if name.value in env:
                    found.update(env[name.value].inputs)

        node.visit(Names())
        return frozenset(found)

    def _attribute(self, node: cst.Attribute) -> Dep:
        base = self.expr(node.value)
        attr = node.attr.value
        if attr in METADATA_ATTRIBUTES:
            return Dep()
        if attr == "data":
            return base
        if attr in SHAPE_ATTRIBUTES and base.inputs & self.differentiable:
            self._not_elementwise(base, node)
        return replace(base, dtype="unknown")

    def _call(self, node: cst.Call) -> Dep:
        args = [self.expr(a.value) for a in node.args]
        func = node.func
        if self.ctx_name is not None and _root_name(func) == self.ctx_name:
            return Dep()  # ctx bookkeeping (save_for_backward, ...) computes nothing
        if isinstance(func, cst.Attribute):
            receiver = self.expr(func.value)
            qualified = self._qualified(func)
            if qualified is None or not receiver.inputs and not self._is_torch(qualified):
                return self._method(node, func.attr.value, receiver, args)
            if not self._is_torch(qualified):
                return self._method(node, func.attr.value, receiver, args)
            return self._function(node, func.attr.value, args)
        if isinstance(func, cst.Name):
            helper = self.index.functions_by_name.get(func.value)
            if func.value in self.env:
                return self._unknown(node, args)
            if helper is not None:
                return self._helper(helper, node, args)
            qualified = self.index.imports.qualify(func.value)
            if self._is_torch(qualified):
                return self._function(node, qualified.rsplit(".", 1)[-1], args)
            if func.value in ("float", "int", "bool", "len", "abs", "round", "min", "max"):
                joined = _join_all(args)
                if joined.inputs & self.differentiable:
                    self.unproven.append(f"forward applies {func.value}() to a tensor input")
                return Dep(joined.inputs, "unknown") if joined.inputs else _LITERAL
        return self._unknown(node, args)

    def _qualified(self, func: cst.Attribute) -> str | None:
        dotted = dotted_name(func)
        return self.index.imports.qualify(dotted) if dotted else None

    def _is_torch(self, qualified: str) -> bool:
        head = qualified.rsplit(".", 1)[0]
        return head in TORCH_ROOTS or qualified.startswith("torch.") and head.count(".") == 0

    def _method(self, node: cst.Call, method: str, receiver: Dep, args: list[Dep]) -> Dep:
        if not receiver.inputs:
            joined = _join_all(args)
            if joined.inputs & self.differentiable and method not in ELEMENTWISE:
                self.unproven.append(f"forward passes an input to {code_of(node.func)[:40]}()")
            return Dep(joined.inputs, "unknown") if joined.inputs else Dep()
        return self._apply(node, method, [receiver, *args])

    def _function(self, node: cst.Call, name: str, args: list[Dep]) -> Dep:
        return self._apply(node, name, args)

    def _shape_of(self, node: cst.BaseExpression) -> str | None:
        """The input whose shape `node` spells (`x.shape`, `x.size()`, a name bound to one)."""
        if isinstance(node, cst.Name):
            return self.shapes.get(node.value)
        if isinstance(node, cst.Call) and not node.args and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value == "size":
            node = node.func.with_changes(attr=cst.Name("shape"))
        if isinstance(node, cst.Attribute) and node.attr.value == "shape" and isinstance(node.value, cst.Name):
            value = self.env.get(node.value.value)
            if value is not None and len(value.inputs) == 1 and not value.reshaped:
                return next(iter(value.inputs))
        return None

    def _layout(self, node: cst.Call, name: str, receiver: Dep) -> Dep:
        """flatten/view/reshape: a round trip back to the input's own shape keeps elementwise-ness."""
        target: str | None = None
        if name in ("view_as", "reshape_as") and len(node.args) == 1:
            target = self._shape_of(cst.Attribute(node.args[0].value, cst.Name("shape")))
        elif name in ("view", "reshape") and len(node.args) == 1:
            target = self._shape_of(node.args[0].value)
        if target is not None and target in receiver.inputs \
                and receiver.inputs & self.differentiable <= {target} and receiver.picked is None:
            return Dep(receiver.inputs, receiver.dtype)
        return Dep(receiver.inputs, receiver.dtype, reshaped=True)

    def _apply(self, node: cst.Call, name: str, args: list[Dep]) -> Dep:
        joined = _join_all(args)
        if name in METADATA_METHODS:
            return Dep()
        if name in LAYOUT and isinstance(node.func, cst.Attribute) and args and args[0].inputs:
            if len(args[0].inputs & self.differentiable) > 1:
                self._not_elementwise(args[0], node)
            return self._layout(node, name, args[0])
        self._meet(args, node)
        if name in ("max", "min") and len(args) == 2 and node.args \
                and not any(a.keyword is not None for a in node.args) \
                and not isinstance(node.args[-1].value, (cst.Integer, cst.UnaryOperation)):
            # `torch.max(a, b)` / `a.max(b)` with a tensor b: the elementwise maximum
            return joined
        if name in SHAPE_CHANGING:
            if joined.inputs & self.differentiable:
                self._not_elementwise(joined, node)
            return replace(joined, dtype="unknown")
        if name in NEW_TENSORS:
            return Dep(frozenset(), args[0].dtype if name != "new_tensor" else "unknown")
        if name in FACTORIES:
            return Dep(frozenset(), "fixed" if name != "tensor" else "unknown")
        if name in FIXED_DTYPE_CASTS:
            return replace(joined, dtype="bool" if name == "bool" else "fixed")
        if name in CASTS_TO_ANOTHER:
            return replace(joined, dtype=self._cast_dtype(node, args))
        if name in ELEMENTWISE:
            if any(a.keyword is not None and a.keyword.value == "dtype" for a in node.args):
                return replace(joined, dtype="fixed")
            if name in BOOL_RESULTS:
                return replace(joined, dtype="bool")
            if name in ("zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like"):
                first = args[0] if args else Dep()
                return replace(first, scalar=False)  # shaped and typed like the argument only
            return joined
        return self._unknown(node, args)

    def _cast_dtype(self, node: cst.Call, args: list[Dep]) -> frozenset[str] | str:
        """`.to(x)`, `.type_as(x)`, `.to(x.dtype)`: the dtype of the tensor named."""
        if len(node.args) != 1:
            return "fixed"
        target = node.args[0].value
        if isinstance(target, cst.Attribute) and target.attr.value == "dtype":
            target = target.value
        if isinstance(target, cst.Name) and target.value in self.env:
            return self.env[target.value].dtype
        return "fixed"

    def _unknown(self, node: cst.Call, args: list[Dep]) -> Dep:
        joined = _join_all(args)
        if joined.inputs & self.differentiable:
            self.unproven.append(f"forward passes an input to {code_of(node.func)[:40]}(), whose shape behaviour "
                                 "is not known")
        return replace(joined, dtype="unknown", scalar=False)

    def _helper(self, helper: cst.FunctionDef, node: cst.Call, args: list[Dep]) -> Dep:
        if self.depth >= _MAX_HELPER_DEPTH or any(a.star for a in node.args):
            return self._unknown(node, args)
        params = [*helper.params.posonly_params, *helper.params.params, *helper.params.kwonly_params]
        bound: dict[str, Dep] = {}
        for param, (arg, value) in zip(params, zip(node.args, args, strict=True), strict=False):
            if arg.keyword is None:
                bound[param.name.value] = value
        for arg, value in zip(node.args, args, strict=True):
            if arg.keyword is not None:
                bound[arg.keyword.value] = value
        for param in params:
            if param.name.value not in bound:
                bound[param.name.value] = _LITERAL if isinstance(param.default, (cst.Integer, cst.Float)) else Dep()
        inner_differentiable = frozenset(n for n, d in bound.items() if d.inputs & self.differentiable)
        reader = ForwardReader(self.index, {}, inner_differentiable, self.depth + 1)
        # Inside, each parameter stands for itself; mapped back to the caller's inputs after.
        reader.env = {n: Dep(frozenset({n}), frozenset({n}) if not d.scalar else frozenset(), scalar=d.scalar)
                      for n, d in bound.items()}
        try:
            reader.block(helper.body)
        except Refusal as refusal:
            raise Refusal("FGI112", f"{refusal.reason} (in {helper.name.value}())", node) from None
        self.unproven.extend(f"{reason} (in {helper.name.value}())" for reason in reader.unproven)
        if not reader.returned:
            return self._unknown(node, args)
        result = _join_all(reader.returned)
        inputs = frozenset().union(*(bound[n].inputs for n in result.inputs if n in bound))
        if not isinstance(result.dtype, frozenset):
            return Dep(inputs, result.dtype)
        promoted = _join_all([bound.get(name, Dep(dtype="unknown")) for name in sorted(result.dtype)])
        return Dep(inputs, promoted.dtype, scalar=promoted.scalar and not inputs)

    def _meet(self, values: list[Dep], node: cst.CSTNode) -> None:
        """A reshaped tensor broadcast against one in the input's own layout pairs elements that
        were not at the same position."""
        displaced = [v for v in values if v.displaced]
        if displaced and any(v.inputs & self.differentiable and (not v.displaced or v.picked is not displaced[0].picked)
                             for v in values if v is not displaced[0]):
            moved = sorted(displaced[0].inputs) or sorted(_join_all(values).inputs & self.differentiable)
            how = "reshaped" if displaced[0].reshaped else "indexed"
            raise Refusal("FGI112", f"forward is not elementwise: {moved[0]} {how} meets another input: "
                          f"{code_of(node).strip()[:70]}", node)

    def _not_elementwise(self, value: Dep, node: cst.CSTNode) -> None:
        names = sorted(value.inputs & self.differentiable)
        if names:
            raise Refusal("FGI112", f"forward is not elementwise in {names[0]}: {code_of(node).strip()[:80]}", node)


def _single_index(target: cst.Subscript) -> cst.BaseExpression | None:
    """The expression of a subscript's one plain index; None for a slice or several indices."""
    element = target.slice[0].slice if len(target.slice) == 1 else None
    return element.value if isinstance(element, cst.Index) else None


def _join_all(values: list[Dep]) -> Dep:
    result = Dep()
    for value in values:
        result = result.join(value)
    return result


def _merge_env(a: dict[str, Dep], b: dict[str, Dep]) -> dict[str, Dep]:
    merged = dict(a)
    for name, value in b.items():
        merged[name] = merged[name].join(value) if name in merged else value
    return merged


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Subscript, cst.Attribute)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def read_forward(forward: cst.FunctionDef, inputs: list[str], differentiable: frozenset[str],
                 index: ModuleIndex, ctx_name: str | None) -> ForwardFacts:
    """Raises Refusal(FGI112) when forward is not elementwise in a differentiable input."""
    tensors = {name: Dep(frozenset({name}), frozenset({name})) for name in inputs}
    reader = ForwardReader(index, tensors, differentiable, ctx_name=ctx_name)
    reader.block(forward.body)
    value = _join_all(reader.returned) if reader.returned else Dep(dtype="unknown")
    if value.displaced and value.inputs & differentiable:
        raise Refusal("FGI112", f"forward returns {sorted(value.inputs & differentiable)[0]} in another shape", forward)
    for name in sorted(differentiable):
        if name not in value.inputs:
            # The value does not spread over this input (value replacement returns another
            # tensor): the carrier's shape equals the value's only if the shapes agree.
            reader.unproven.append(f"forward's value is not computed from {name}: shapes not proven equal")
    return ForwardFacts(value, reader.unproven)

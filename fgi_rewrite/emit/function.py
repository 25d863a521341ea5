"""Write the FGI function for one convertible class (symbolic path).

The function is the class's forward body (ctx bookkeeping turned into locals), then the
backward's grad-free statements under `torch.no_grad()` (they compute the surrogate factors;
the block is left out when they read only detached inputs),
then the carrier: the differentiable input passed through the gradient's chain of operations
in reverse order, so that autograd applies them to grad_output in the original order and the
gradient is bit-identical. The value is returned as

    value.detach() - (inj.detach() - inj)          # style "signed-zero" (default)
    inj - inj.detach() + value.detach()            # style "paper"

The first keeps a -0.0 value (round/clamp counts, value replacement); the second turns it
into +0.0 but costs two fewer negations in backward, so it is used in every style for a value
proven to hold no -0.0 (a boolean cast such as `(x > 0).float()`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import libcst as cst

from fgi_rewrite.analysis.discovery import code_of, dotted_name
from fgi_rewrite.analysis.extract import ctx_attribute_pairs
from fgi_rewrite.analysis.ir import FunctionIR, InputGradient, Refusal
from fgi_rewrite.analysis.syntax import (
    asks_is_none,
    calls_method_on,
    may_change_dtype,
    mentions,
    names_read,
    reads_grad_requirement,
    saved_position,
    saved_unpacking,
    without_numbers,
)
from fgi_rewrite.analysis.value_sign import cannot_be_negative_zero
from fgi_rewrite.emit.accumulators import Accumulators, out_of_place, starting_literal, tensor_accumulators
from fgi_rewrite.emit.continuations import rebase_backslash_continuations
from fgi_rewrite.emit.script_constants import bind_constants
from fgi_rewrite.patterns import BY_OP

_CTX_BOOKKEEPING = frozenset(
    {"save_for_backward", "mark_non_differentiable", "set_materialize_grads", "save_for_forward", "mark_dirty"}
)
_STYLES = ("signed-zero", "paper", "guarded")


@dataclass(frozen=True)
class Emitted:
    function: str  # source of the def, indented at column 0
    name: str
    helper: str | None = None  # probe path: the original backward as a plain function, placed before
    # Why the function is not proven to keep the value's shape (the fix is then unsafe).
    shape_unproven: str | None = None


def snake_case(name: str) -> str:
    """FastSigmoid -> fast_sigmoid, LIFSpike -> lif_spike, ATan -> atan (a one-letter
    capital stays with its word)."""
    name = re.sub(r"([A-Z]{2,})([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


class _Substitute(cst.CSTTransformer):
    """Rename locals and replace ctx reads by the forward values they stand for."""

    def __init__(self, ctx: str, names: dict[str, cst.BaseExpression], attributes: dict[str, cst.BaseExpression],
                 saved: tuple[cst.BaseExpression, ...]) -> None:
        self.ctx = ctx
        self.names = names
        self.attributes = attributes
        self.saved = saved
        self.indexed_needs: set[int] = set()  # ids of `ctx.needs_input_grad` nodes read with [i]

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self.names.get(original_node.value, updated_node)

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        updated_node = updated_node.with_changes(attr=original_node.attr)  # attribute names are not variables
        if isinstance(original_node.value, cst.Name) and original_node.value.value == self.ctx:
            attr = original_node.attr.value
            if attr in ("saved_tensors", "saved_variables"):
                return cst.Tuple([cst.Element(e) for e in self.saved]) if len(self.saved) != 1 else \
                    cst.Tuple([cst.Element(self.saved[0])])
            if attr in self.attributes:
                return self.attributes[attr]
            if attr == "needs_input_grad" and id(original_node) in self.indexed_needs:
                # `ctx.needs_input_grad[i]` becomes True in leave_Subscript, which runs after
                # this: the probe path copies whole backward bodies, guards included (found by
                # tests/test_fuzz_equivalence.py: a clone-and-mask STE under such a guard was held
                # back as "reads ctx.needs_input_grad, which forward never sets").
                return updated_node
            raise Refusal("FGI111", f"backward reads ctx.{attr}, which forward never sets", original_node)
        return updated_node

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if self._is_needs_input_grad(node.value):
            self.indexed_needs.add(id(node.value))

    def _is_needs_input_grad(self, value: cst.BaseExpression) -> bool:
        return isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name) and \
            value.value.value == self.ctx and value.attr.value == "needs_input_grad"

    def leave_Subscript(self, original_node: cst.Subscript, updated_node: cst.Subscript) -> cst.BaseExpression:
        if self._is_needs_input_grad(original_node.value):
            return cst.Name("True")
        position = saved_position(original_node, self.ctx, len(self.saved))
        if position is not None:  # `ctx.saved_tensors[0]` is the saved value itself, not `(x,)[0]`
            return _atom(self.saved[position])
        return updated_node

    def leave_If(self, original_node: cst.If, updated_node: cst.If
                 ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        # `if ctx.needs_input_grad[i]:` is always taken once FGI computes the gradient: its body
        # stands alone, as an engineer would write it, rather than under `if True:`.
        test = original_node.test
        if isinstance(test, cst.Subscript) and self._is_needs_input_grad(test.value) \
                and isinstance(updated_node.test, cst.Name) and updated_node.test.value == "True" \
                and isinstance(updated_node.body, cst.IndentedBlock):
            return cst.FlattenSentinel(updated_node.body.body)
        return updated_node

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)


def _atom(node: cst.BaseExpression) -> cst.BaseExpression:
    """node, parenthesised unless it already binds tighter than any operator around it."""
    if isinstance(node, (cst.Name, cst.Call, cst.Attribute, cst.Subscript)) or node.lpar:
        return node
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


# Names a grad-free statement may read without making a tensor that requires grad.
_HARMLESS_NAMES = frozenset({"True", "False", "None", "abs", "float", "int", "bool", "len", "max", "min", "range",
                             "round", "pow", "math"})


def _reads_and_binds(statement: cst.BaseStatement) -> tuple[set[str], set[str]]:
    """Names a statement reads and names it binds. A plain `name = ...` does not read its
    target; anything else that binds a name (augmented or subscript assignment, a block)
    counts as reading it too, so its old value's status carries over."""
    bound = _assigned_names([statement])
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 \
            and isinstance(statement.body[0], cst.Assign) \
            and all(isinstance(t.target, cst.Name) for t in statement.body[0].targets):
        return names_read(statement.body[0].value), bound
    return names_read(statement), bound


def _is_detach_assignment(statement: cst.BaseStatement) -> bool:
    """`x = x.detach()`: the name holds a tensor without a graph whatever it held before."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Assign)):
        return False
    value = statement.body[0].value
    return isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) \
        and value.func.attr.value == "detach" and not value.args


def _statements(body: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(body, cst.IndentedBlock):
        return list(body.body)
    assert isinstance(body, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=body.body)]


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def _ctx_call(small: cst.BaseSmallStatement, ctx: str) -> tuple[str, cst.Call] | None:
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        name = dotted_name(small.value.func) or ""
        if name.startswith(ctx + "."):
            return name[len(ctx) + 1:], small.value
    return None


def _assigned_names(statements: Sequence[cst.CSTNode]) -> set[str]:
    names: set[str] = set()

    class Collector(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            _targets(node.target, names)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            _targets(node.target, names)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            _targets(node.target, names)

        def visit_For(self, node: cst.For) -> None:
            _targets(node.target, names)

    for stmt in statements:
        stmt.visit(Collector())
    return names


def _detach(value: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "detach":
        return value
    return cst.Call(func=cst.Attribute(value=value, attr=cst.Name("detach")))


def _parses(statement: str) -> bool:
    try:
        cst.parse_statement(statement)
    except cst.ParserSyntaxError:
        return False
    return True


def _receiver(term: str) -> str:
    """term ready for a method call: bracketed unless it is a name or a call chain."""
    expression = cst.parse_expression(term)
    return term if isinstance(expression, (cst.Name, cst.Attribute, cst.Call)) and not expression.lpar else f"({term})"


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _forward_sources(forward: cst.FunctionDef) -> dict[str, set[str]]:
    """For each name forward binds, the names read by every statement that writes it
    (`y = ...`, `y += ...`, `y[mask] = ...`, `y.mul_(...)` is not followed: its reads are the
    call's, which the caller's own reads include)."""
    sources: dict[str, set[str]] = {}

    class Writes(cst.CSTVisitor):
        def _record(self, target: cst.BaseExpression, reads: set[str]) -> None:
            while isinstance(target, (cst.Subscript, cst.Attribute)):
                if isinstance(target, cst.Subscript):
                    reads = reads | names_read(target)
                target = target.value
            if isinstance(target, cst.Name):
                sources.setdefault(target.value, set()).update(reads - {target.value})
            elif isinstance(target, (cst.Tuple, cst.List)):
                for element in target.elements:
                    self._record(element.value, reads)

        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                self._record(target.target, names_read(node.value))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            self._record(node.target, names_read(node.value))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            if node.value is not None:
                self._record(node.target, names_read(node.value))

        def visit_For(self, node: cst.For) -> None:
            self._record(node.target, names_read(node.iter))

    forward.body.visit(Writes())
    return sources


def _ctx_reads(fn: cst.FunctionDef, ctx: str) -> set[str]:
    """Attributes read as ctx.<name> in a function body."""
    return _ctx_reads_in(fn.body, ctx)


def _ctx_reads_in(node: cst.CSTNode, ctx: str) -> set[str]:
    found: set[str] = set()

    class Reader(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            if isinstance(attribute.value, cst.Name) and attribute.value.value == ctx:
                found.add(attribute.attr.value)

    node.visit(Reader())
    return found


def _assignment_count(fn: cst.FunctionDef, name: str) -> int:
    count = 0

    class Counter(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            nonlocal count
            found: set[str] = set()
            _targets(node.target, found)
            count += name in found

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            nonlocal count
            count += isinstance(node.target, cst.Name) and node.target.value == name

    fn.body.visit(Counter())
    return count


def _targets(target: cst.BaseExpression, names: set[str]) -> None:
    if isinstance(target, cst.Name):
        names.add(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            _targets(element.value, names)
    elif isinstance(target, cst.StarredElement):
        _targets(target.value, names)


class FunctionWriter:
    """Builds the source of one FGI function from a FunctionIR.

    Three parts: the forward body (depth 1); a `torch.no_grad()` block with ctx values, the
    backward's grad-free statements and the gradient factors, so none of them carries a
    gradient of its own; the carrier and the returned value.
    """

    def __init__(self, ir: FunctionIR, class_name: str, function_name: str, indent: str, newline: str,
                 style: str = "signed-zero", fast_path: bool = False, allow_probe: bool = False,
                 torch_name: str = "torch") -> None:
        if style not in _STYLES:
            raise ValueError(f"unknown style {style!r}")
        self.allow_probe = allow_probe
        self.torch = torch_name  # the module's own name for torch (`import torch as th`)
        self.dtype_names: dict[str, str] = {}
        self.helper_source: str | None = None  # the probe's helper, when write() emits one
        self.inputs: dict[str, str] = {}  # differentiable input -> the name holding its argument
        self.detached: set[str] = set()  # inputs forward rebinds to their detached selves
        self.rebound_later: set[str] = set()
        self.detached_parameters: dict[str, str] = {}
        self.shape_unproven: str | None = None
        self.ir = ir
        self.class_name = class_name
        self.name = function_name
        self.indent = indent
        self.newline = newline
        self.style = style
        self.fast_path = fast_path
        self.forward_lines: list[str] = []
        self.no_grad_lines: list[str] = []
        self.forward_names: set[str] = {p.name.value for p in ir.params}
        self.saved: list[cst.BaseExpression] = []
        self.saved_names: set[str] = set()
        self.attributes: dict[str, cst.BaseExpression] = {}
        self.value: cst.BaseExpression = cst.Name("value")
        backward = ir.backward_def
        self.grad_names = [p.name.value for p in backward.params.params[1:]] if backward else []

    def _fresh(self, base: str) -> str:
        name, n = base, 1
        while name in self.forward_names:
            n += 1
            name = f"{base}{n}"
        self.forward_names.add(name)
        return name

    @staticmethod
    def _add(target: list[str], code: str) -> None:
        target.extend(code.rstrip("\r\n").splitlines())

    # ------------------------------------------------------------ forward
    def _forward(self) -> cst.BaseExpression:
        ir = self.ir
        assert ir.forward_def is not None
        body = [s for s in _statements(ir.forward_def.body) if not _is_docstring(s)]
        self.forward_names |= _assigned_names(body)
        ctx = ir.ctx_name if ir.forward_style == "ctx" else None
        if not body:
            raise Refusal("FGI111", "forward is empty", ir.forward_def)
        *head, last = body
        if not (isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], cst.Return)):
            raise Refusal("FGI111", "forward does not end with its return statement", ir.forward_def)
        # A differentiable input that forward rebinds (`x = x.flatten()`) must still be the
        # carrier's input: keep the argument under another name first.
        # Forward computes the value from detached inputs, as Function.forward ran without
        # autograd: no graph is recorded for it, and torch.func.jvp never meets an op without a
        # forward-mode formula (torch.heaviside has none). The carrier keeps the argument.
        # (A forward that asks x.requires_grad must see the real input: left as it is.)
        self.inputs = {}
        detach = not reads_grad_requirement(ir.forward_def.body)
        for item in ir.inputs:
            if item.gradient is not None and (detach or item.name in _assigned_names(body)):
                self.inputs[item.name] = self._fresh(f"{item.name}_in")
                self._add(self.forward_lines, f"{self.inputs[item.name]} = {item.name}")
                if detach:
                    self._add(self.forward_lines, f"{item.name} = {item.name}.detach()")
                    self.detached.add(item.name)
        for position, stmt in enumerate(head):
            self.rebound_later = _assigned_names(head[position + 1:]) | _assigned_names(last.body[:-1])
            self._forward_statement(stmt, ctx)
        self.rebound_later = set()
        for small in last.body[:-1]:
            self._forward_statement(cst.SimpleStatementLine(body=[small]), ctx)
        returned = last.body[-1].value
        assert returned is not None
        before_return = [*head, cst.SimpleStatementLine(body=list(last.body[:-1]))]
        self.value_is_signless = cannot_be_negative_zero(before_return, returned, ctx)
        if isinstance(returned, cst.Name):
            value: cst.BaseExpression = returned
        else:
            value = cst.Name(self._fresh("value"))
            self._add(self.forward_lines, f"{value.value} = {code_of(returned)}")
        if ir.setup_def is not None:
            self._setup_context(value)
        return value

    def _forward_statement(self, stmt: cst.BaseStatement, ctx: str | None) -> None:
        if ctx is None or not mentions(stmt, {ctx}):
            if isinstance(stmt, cst.SimpleStatementLine) and any(isinstance(s, cst.Return) for s in stmt.body):
                raise Refusal("FGI111", "forward returns early", stmt)
            self._add(self.forward_lines, code_of(stmt))
            return
        if isinstance(stmt, cst.If) and stmt.orelse is None and reads_grad_requirement(stmt.test):
            # Conditional saves: FGI computes the carrier unconditionally.
            for inner in _statements(stmt.body):
                self._forward_statement(inner, ctx)
            return
        if not isinstance(stmt, cst.SimpleStatementLine):
            raise Refusal("FGI111", f"forward uses {ctx} inside a block the rewrite does not follow", stmt)
        for small in stmt.body:
            self._ctx_small(small, ctx)

    def _ctx_small(self, small: cst.BaseSmallStatement, ctx: str) -> None:
        call = _ctx_call(small, ctx)
        if call is not None:
            method, node = call
            if method not in _CTX_BOOKKEEPING:
                raise Refusal("FGI111", f"forward calls {ctx}.{method}()", node)
            if method == "save_for_backward":
                for arg in node.args:
                    if arg.star:
                        raise Refusal("FGI111", "save_for_backward(*...) is not followed by the rewrite", node)
                    saved = self._stable(arg.value, "saved")
                    self.saved.append(saved)
                    if isinstance(saved, cst.Name):
                        self.saved_names.add(saved.value)
            return
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            pairs = ctx_attribute_pairs(small, ctx)
            if pairs:
                for attribute, value in pairs:
                    self.attributes[attribute] = self._stable(value, f"ctx_{attribute}")
                return
        if mentions(small, {ctx}):
            raise Refusal("FGI111", f"forward uses {ctx} in: {code_of(small).strip()}", small)
        self._add(self.forward_lines, code_of(cst.SimpleStatementLine(body=[small])))

    def _stable(self, value: cst.BaseExpression, base: str) -> cst.BaseExpression:
        """What backward will read for a value put on ctx.

        A parameter forward never rebinds is used by name. Anything computed is evaluated
        again under no_grad after forward, so it carries no gradient path of its own.
        """
        if isinstance(value, cst.Name) and value.value in self.forward_names:
            assert self.ir.forward_def is not None
            if _assignment_count(self.ir.forward_def, value.value) <= (
                    0 if value.value in {p.name.value for p in self.ir.params} else 1):
                return value  # bound once: the name means the same value everywhere
        if isinstance(value, (cst.Integer, cst.Float, cst.SimpleString)) or (
                isinstance(value, cst.Name) and value.value in ("True", "False", "None")):
            return value
        name = self._fresh(base)
        if mentions(value, self.rebound_later):
            # It reads a name forward rebinds afterwards: capture it here, as ctx did.
            self._add(self.forward_lines, f"{name} = {code_of(value)}")
        else:
            self._add(self.no_grad_lines, f"{name} = {code_of(value)}")
        return cst.Name(name)

    def _setup_context(self, value: cst.BaseExpression) -> None:
        ir = self.ir
        assert ir.setup_def is not None
        params = [p.name.value for p in ir.setup_def.params.params]
        if len(params) != 3:
            raise Refusal("FGI111", "setup_context does not take (ctx, inputs, output)", ir.setup_def)
        ctx, inputs, output = params
        input_tuple = cst.Tuple([cst.Element(cst.Name(p.name.value)) for p in ir.params])
        substitute = _Substitute("\0", {inputs: input_tuple, output: value}, {}, ())
        statements = list(_statements(ir.setup_def.body))
        while statements:
            stmt = statements.pop(0)
            if _is_docstring(stmt):
                continue
            if isinstance(stmt, cst.If) and stmt.orelse is None and reads_grad_requirement(stmt.test):
                # Conditional saves: FGI computes the carrier unconditionally.
                statements[:0] = _statements(stmt.body)
                continue
            if not isinstance(stmt, cst.SimpleStatementLine):
                raise Refusal("FGI111", "setup_context has a block the rewrite does not follow", stmt)
            for small in stmt.body:
                small = small.visit(substitute)  # type: ignore[assignment]
                if mentions(small, {ctx}):
                    self._ctx_small(small, ctx)
                    continue
                if isinstance(small, cst.Assign) and all(
                        isinstance(t.target, (cst.Name, cst.Tuple)) for t in small.targets):
                    # `x, alpha = inputs` rebinds forward's own parameter names to themselves.
                    target = small.targets[0].target
                    names = [e.value for e in target.elements] if isinstance(target, cst.Tuple) else [target]
                    if [n.value if isinstance(n, cst.Name) else None for n in names] == \
                            [p.name.value for p in ir.params]:
                        continue
                self.forward_names |= _assigned_names([small])
                self._add(self.forward_lines, code_of(cst.SimpleStatementLine(body=[small])))

    # ------------------------------------------------------------ backward
    def _backward_prelude(self) -> _Substitute:
        """Emit backward's grad-free statements; return the renaming in force at its return.

        Renaming is flow-sensitive: `beta = beta.item()` reads the saved value and binds a new
        name, which must not collide with a forward name of different meaning.
        """
        ir = self.ir
        assert ir.backward_def is not None
        if any(i.gradient is not None and i.gradient.interprocedural for i in ir.inputs):
            raise Refusal("FGI111", "gradient computed by a helper that receives grad_output: "
                          "held back without --unsafe-fixes", ir.backward_def)
        # grad_output has the output's dtype, shape and device: what backward asks of it is
        # asked of the value (any other use made the statement a gradient one).
        current: dict[str, cst.BaseExpression] = {name: self.value for name in self.grad_names}
        forward_only = set(self.forward_names)
        statements = self._grad_free(_statements(ir.backward_def.body))
        accumulators = tensor_accumulators(statements, ir.backward_ctx, len(self.saved))
        for stmt in statements:
            if self._unpacks_saved(stmt, current):
                continue
            stmt = out_of_place(stmt, accumulators.growth)
            reads = _Substitute(ir.backward_ctx, current, self._detached_attributes(), self._detached_saved())
            if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 \
                    and isinstance(stmt.body[0], cst.Assign):
                assign = stmt.body[0]
                value = self._tensor_start(stmt, accumulators) or assign.value.visit(reads)
                for name in sorted(_assigned_names([assign])):
                    if name in self.forward_names:
                        current[name] = cst.Name(self._fresh(f"{name}_g"))
                    else:
                        current.pop(name, None)
                        self.forward_names.add(name)
                writes = _Substitute(ir.backward_ctx, current, self._detached_attributes(), self._detached_saved())
                targets = [t.with_changes(target=t.target.visit(writes)) for t in assign.targets]
                stmt = stmt.with_changes(body=[assign.with_changes(targets=targets, value=value)])
            else:
                # A block may rebind backward's own names (consistently renamed) but not forward's.
                clashing = _assigned_names([stmt]) & (forward_only - set(current))
                if clashing:
                    raise Refusal("FGI111", f"backward rebinds {sorted(clashing)[0]} inside a block", stmt)
                self.forward_names |= _assigned_names([stmt])
                visited = stmt.visit(reads)
                assert isinstance(visited, cst.BaseStatement)  # reads rewrites names, never statements
                stmt = visited
            self._add(self.no_grad_lines, code_of(stmt))
        return _Substitute(ir.backward_ctx, current, self._detached_attributes(), self._detached_saved())

    def _tensor_start(self, stmt: cst.SimpleStatementLine, accumulators: Accumulators) -> cst.BaseExpression | None:
        """`grad = 0.0` for an accumulator backward grows with tensors: a zero-dimensional
        tensor in the dtype of the saved tensor it grows by (emit/accumulators.py), which
        TorchScript can type, when that tensor is a forward name."""
        literal = starting_literal(stmt)
        assign = stmt.body[0]
        assert isinstance(assign, cst.Assign)
        target = assign.targets[0].target
        if literal is None or not isinstance(target, cst.Name) or target.value not in accumulators.positions:
            return None
        position = accumulators.positions[target.value]
        saved = self.saved[position] if position < len(self.saved) else None
        if not isinstance(saved, cst.Name):
            return None
        factory = "zeros" if literal.evaluated_value == 0 else "ones"
        return cst.parse_expression(f"{self.torch}.{factory}((), dtype={saved.value}.dtype)")

    def _unpacks_saved(self, stmt: cst.BaseStatement, renames: dict[str, cst.BaseExpression]) -> bool:
        """`x, = ctx.saved_tensors` / `x = ctx.saved_tensors[0]`: read forward's names directly."""
        unpacked = saved_unpacking(stmt, self.ir.backward_ctx, len(self.saved))
        for name, position in (unpacked or {}).items():
            renames[name] = self._detach(self.saved[position])
        return unpacked is not None

    # torch.no_grad() stops reverse-mode gradients but not forward-mode tangents (torch.func.jvp):
    # the factors must be computed from detached tensors so only the carrier's input carries one.
    def _detached_saved(self) -> tuple[cst.BaseExpression, ...]:
        return tuple(self._detach(e) for e in self.saved)  # save_for_backward only takes tensors

    def _detached_attributes(self) -> dict[str, cst.BaseExpression]:
        return {name: self._detach(value) if self._tensor_from_inputs(value) else value
                for name, value in self.attributes.items()}

    def _detach(self, value: cst.BaseExpression) -> cst.BaseExpression:
        if isinstance(value, cst.Name) and self._already_detached(value.value):
            return value
        return _detach(value)

    def _already_detached(self, name: str) -> bool:
        """Forward rebound the inputs to their detached selves, so the name holds no graph and
        no tangent: it is such an input, or a forward local computed from them."""
        differentiable = {i.name for i in self.ir.inputs if i.gradient is not None}
        if not differentiable or not differentiable <= self.detached:
            return False
        assert self.ir.forward_def is not None
        if name in differentiable:
            return _assignment_count(self.ir.forward_def, name) == 0
        return name in _assigned_names([self.ir.forward_def.body])

    def _tensor_from_inputs(self, value: cst.BaseExpression) -> bool:
        """A differentiable input, or a forward value computed from one (so a tensor)."""
        differentiable = {i.name for i in self.ir.inputs if i.gradient is not None}
        if not isinstance(value, cst.Name):
            return False
        if value.value in differentiable:
            return True
        assert self.ir.forward_def is not None
        for stmt in _statements(self.ir.forward_def.body):
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and value.value in _assigned_names([small]):
                        return mentions(small.value, differentiable)
        return False

    def _grad_free(self, statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        """The backward statements that do not touch a gradient, needs_input_grad guards opened."""
        kept: list[cst.BaseStatement] = []
        linear = self.ir.linear_names
        for stmt in statements:
            if _is_docstring(stmt):
                continue
            if isinstance(stmt, cst.If):
                if reads_grad_requirement(stmt.test):
                    kept.extend(self._grad_free(_statements(stmt.body)))
                    continue
                if mentions(stmt.test, linear) and asks_is_none(stmt.test):
                    continue  # `if grad_output is None`: never true when FGI's gradient flows
            if isinstance(stmt, cst.SimpleStatementLine) and any(isinstance(s, cst.Return) for s in stmt.body):
                break
            if id(stmt) in self.ir.gradient_statements or self._initialises_gradient(stmt):
                if isinstance(stmt, cst.SimpleStatementLine):
                    continue
                raise Refusal("FGI111", "backward mixes the gradient into a block the symbolic rewrite does not follow",
                              stmt)
            kept.append(stmt)
        return kept

    def _initialises_gradient(self, stmt: cst.BaseStatement) -> bool:
        """`grad_x = grad_thr = None` before needs_input_grad branches: dead once they are opened."""
        if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
                and isinstance(stmt.body[0], cst.Assign)):
            return False
        assign = stmt.body[0]
        names = _assigned_names([assign])
        empty = isinstance(assign.value, cst.Name) and assign.value.value == "None"
        return empty and bool(names) and names <= self.ir.linear_names

    def _operand(self, node: cst.BaseExpression, substitute: _Substitute, op: str) -> tuple[str, bool]:
        """The factor's code, and whether it is a Python scalar (which never changes a tensor's dtype)."""
        expr = node.visit(substitute)
        assert isinstance(expr, cst.BaseExpression)
        if isinstance(expr, cst.Name) and (expr.value in self.saved_names or self._tensor_from_inputs(expr)):
            if self._already_detached(expr.value):
                return expr.value, False
            return f"{expr.value}.detach()", False  # its value, not its gradient path or tangent
        if isinstance(expr, (cst.Integer, cst.Float)):
            return code_of(expr), True
        if isinstance(expr, cst.Name):
            if expr.value in self._scalar_params(explicit=True):
                return expr.value, True
            if expr.value in {p.name.value for p in self.ir.params}:
                return self._detached_hyper_parameter(expr.value), False
            return expr.value, False
        name = self._fresh("denom" if op == "div" else "g")
        bare = code_of(expr.with_changes(lpar=[], rpar=[]))
        # An operand spanning lines outside its own brackets relied on brackets around it in
        # backward: only then does it keep one pair.
        self._add(self.no_grad_lines, f"{name} = {bare}" if _parses(f"{name} = {bare}") else f"{name} = ({bare})")
        return name, False

    def _detached_hyper_parameter(self, name: str) -> str:
        """A hyper-parameter used as a factor as it is: backward gives it no gradient, but a
        caller may pass a tensor that requires grad, which the carrier must not differentiate.
        TorchScript resolves the isinstance test statically, so a float costs nothing."""
        if name in self.detached_parameters:
            return self.detached_parameters[name]
        local = self._fresh(f"{name}_value")
        self._add(self.no_grad_lines, f"{local} = {name}")
        self._add(self.no_grad_lines, f"if isinstance({local}, {self.torch}.Tensor):")
        self._add(self.no_grad_lines, f"{self.indent}{local} = {local}.detach()")
        self.detached_parameters[name] = local
        return local

    def _scalar_params(self, explicit: bool = False) -> set[str]:
        """Non-differentiable parameters annotated as Python numbers (explicit: by the
        original's own annotation, not a guess from a default)."""
        differentiable = {i.name for i in self.ir.inputs if i.gradient is not None}
        return {p.name.value for p in self.ir.params if p.name.value not in differentiable
                and (p.annotation is not None or not explicit)
                and self._annotation(p, False) in ("float", "int", "bool")}

    def _carrier(self, source: InputGradient, substitute: _Substitute, track_dtype: bool) -> str:
        """Replay the gradient's chain on the input, last operation first.

        With track_dtype, each step also reproduces the dtype the original intermediate had
        (grad_output has the value's dtype; each tensor factor may promote it), casting back
        after each step, so that autograd computes every step in the original's dtype.
        """
        gradient = source.gradient
        assert gradient is not None and gradient.chain is not None
        value = code_of(self.value)
        # (op, operand, dtype before the op, in place)
        steps: list[tuple[Literal["mul", "div", "neg"], str | None, str, bool]] = []
        dtype = f"{value}.dtype"
        for op in gradient.chain:  # original order: grad_output op1 c1, then op2 c2, ...
            if op.op == "neg":
                steps.append(("neg", None, dtype, False))
                continue
            assert op.operand is not None
            operand, scalar = self._operand(op.operand, substitute, op.op)
            # An in-place update rounds to the gradient's own dtype: cast back after it.
            steps.append((op.op, operand, dtype, op.in_place and not scalar))
            if track_dtype and not scalar and operand != value and not op.in_place:
                # the value's own dtype cannot promote it
                current = value if dtype == f"{value}.dtype" else f"{value}.to({dtype})"
                question = f"{self.torch}.result_type({current}, {operand})"
                if question not in self.dtype_names:  # the same question for two inputs: ask once
                    self.dtype_names[question] = self._fresh("dtype")
                    self._add(self.no_grad_lines, f"{self.dtype_names[question]} = {question}")
                dtype = self.dtype_names[question]
        term = self.inputs.get(source.name, source.name)
        if track_dtype:
            term = f"{term}.to({dtype})"
            if source.role == "broadcast":
                term = f"{term}.expand_as({value})"  # promote like the full-size intermediate it stands for
        for kind, factor, before, in_place in reversed(steps):
            pattern = BY_OP[kind]
            term = pattern.render(term, factor)
            if not pattern.takes_operand:
                continue
            if track_dtype and (before != dtype or in_place):
                term = f"{_receiver(term)}.to({before})"
                dtype = before
        if track_dtype and dtype != f"{value}.dtype":
            term = f"{_receiver(term)}.to({value}.dtype)"
        return term[1:-1] if term.startswith("(") and term.endswith(")") and _balanced(term[1:-1]) else term

    # ------------------------------------------------------------ whole function
    def _needs_probe(self) -> bool:
        return any(i.gradient is not None and (i.gradient.chain is None or i.gradient.interprocedural)
                   for i in self.ir.inputs)

    def _probe(self, differentiable: list[InputGradient], value: str) -> tuple[list[tuple[str, str]], str]:
        """Probe path: the original backward becomes a plain function evaluated once with
        grad_output = ones; its result is each input's factor g. Gradients then match to a few
        ulps rather than bit for bit, which is why this is an unsafe fix."""
        ir = self.ir
        assert ir.backward_def is not None
        if any(i.role == "broadcast" for i in differentiable):
            raise Refusal("FGI111", "a probe cannot recover the gradient of a broadcast (reduced) input",
                          ir.backward_def)
        helper = self._fresh(f"_{self.name.lstrip('_')}_gradient")
        saved_params = [self._fresh(f"saved_{n}") for n in range(len(self.saved))]
        read = _ctx_reads(ir.backward_def, ir.backward_ctx)
        attr_params = {attr: self._fresh(f"ctx_{attr}") for attr in sorted(read) if attr in self.attributes}
        missing = sorted(read - set(self.attributes) - {"saved_tensors", "saved_variables", "needs_input_grad"})
        if missing:
            raise Refusal("FGI111", f"backward reads ctx.{missing[0]}, which forward never sets", ir.backward_def)
        substitute = _Substitute(ir.backward_ctx, {}, {a: cst.Name(p) for a, p in attr_params.items()},
                                 tuple(cst.Name(p) for p in saved_params))
        body = [s for s in _statements(ir.backward_def.body) if not _is_docstring(s)]
        params = [f"{name}: {self.torch}.Tensor" for name in self.grad_names]
        params += [f"{p}: {self.torch}.Tensor" for p in saved_params]
        params += [f"{p}: {self._annotation_of(self.attributes[a])}" for a, p in attr_params.items()]
        ind = self.indent
        lines = [f"def {helper}({', '.join(params)}):",
                 f'{ind}"""The backward of {self.class_name}, called by {self.name} with grad_output = 1."""']
        for stmt in body:
            assert isinstance(stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
            # Visited inside a module, so that an opened `if ctx.needs_input_grad[i]:` guard can
            # leave its statements in its place.
            for opened in cst.Module(body=[stmt]).visit(substitute).body:
                lines += [ind + line if line.strip() else "" for line in code_of(opened).rstrip("\r\n").splitlines()]
        self.helper_source = self.newline.join(rebase_backslash_continuations(lines, ind)) + self.newline
        arguments = [f"{self.torch}.ones_like({value})"] + [code_of(s) for s in self.saved]
        arguments += [code_of(self.attributes[a]) for a in attr_params]
        factor = self._fresh("g")
        self._add(self.no_grad_lines, f"{factor} = {helper}({', '.join(arguments)})")
        positions = {i.name: n for n, i in enumerate(ir.inputs)}
        pairs = [(self.inputs.get(source.name, source.name),
                  f"{factor}[{positions[source.name]}]" if ir.returns_tuple else factor) for source in differentiable]
        return pairs, helper

    def _annotation_of(self, value: cst.BaseExpression) -> str:
        for param in self.ir.params:
            if isinstance(value, cst.Name) and param.name.value == value.value:
                return self._annotation(param, False)
        return "float"

    def write(self) -> Emitted:
        ir = self.ir
        differentiable = [i for i in ir.inputs if i.gradient is not None]
        probe = self._needs_probe()
        if probe and not self.allow_probe:
            raise Refusal("FGI111", "a gradient needs a probe: held back without --unsafe-fixes", ir.backward_def)
        if ir.star is not None:
            raise Refusal("FGI111", "forward takes *args: variadic functions are not emitted yet", ir.forward_def)
        self.value = self._forward()
        value = code_of(self.value)
        params = self._signature()
        # The value may have another dtype than the inputs (a cast in forward, another input's
        # value returned), or a factor may (a bool mask times a float literal is float32 even for
        # bfloat16 inputs): then every step reproduces the original's dtype.
        track = (self._changes_dtype([i.name for i in differentiable]) or ir.returns_input is not None
                 or self._factors_may_change_dtype())
        self.helper_source = None
        if probe:
            pairs, _ = self._probe(differentiable, value)
            # The probe's factor has whatever dtype backward produced: build in it, cast once.
            terms = [f"({x}.to({g}.dtype) * {g}).to({value}.dtype)" for x, g in pairs]
        else:
            substitute = self._backward_prelude()
            terms = [self._carrier(source, substitute, track) for source in differentiable]
        inj = self._fresh("inj")
        carrier = " + ".join(terms)
        ind = self.indent
        # A comment on the `def forward(...):` line stays on the new def line, one on the
        # `def backward(...):` line above the carrier, which is what backward became.
        forward_comment, backward_comment = _header_comment(ir.forward_def), _header_comment(ir.backward_def)
        header = f"def {self.name}({params}) -> {self.torch}.Tensor:"
        lines = [header + (f"  {forward_comment}" if forward_comment else ""),
                 f'{ind}"""FGI form of {self.class_name}: same value, surrogate gradient injected in forward."""']
        self.forward_lines = rebase_backslash_continuations(self.forward_lines, ind)
        self.no_grad_lines = rebase_backslash_continuations(self.no_grad_lines, ind)
        lines += [ind + line if line.strip() else "" for line in self.forward_lines]
        if self.style == "paper" or self.value_is_signless:
            # For a value without -0.0 both groupings give the same bits; this one saves two
            # negations in backward (value_sign.py).
            result = f"{inj} - {inj}.detach() + {value}.detach()"
        else:
            result = f"{value}.detach() - ({inj}.detach() - {inj})"
        carrier_lines = [backward_comment] if backward_comment else []
        if self.no_grad_lines and self._prelude_may_record_a_graph():
            carrier_lines.append(f"with {self.torch}.no_grad():")
            carrier_lines += [ind + line if line.strip() else "" for line in self.no_grad_lines]
        else:
            carrier_lines += self.no_grad_lines
        carrier_lines.append(f"{inj} = {carrier}")
        if self._carrier_may_outgrow_value(probe):
            # Back to the value's shape: autograd expands the gradient again and reduces it to
            # the input's shape exactly as it reduced the original's larger gradient.
            carrier_lines.append(f"{inj} = {inj}.sum_to_size({value}.shape)")
        if self.style == "guarded":
            # Where the surrogate overflows (or the input is ±inf/NaN) the cancel pair would be
            # NaN: zero the carrier there, so the value stays exact and the gradient there is 0
            # (the original's would be NaN).
            carrier_lines.append(f"{inj} = {self.torch}.nan_to_num({inj}, nan=0.0, posinf=0.0, neginf=0.0)")
        if self.fast_path:
            # No gradient can flow: skip the carrier. One return at the end, because TorchScript
            # rejects an early return followed by a `with` block (internal assert, torch 2.13).
            # TorchScript resolves is_scripting() statically and keeps no branch: the `if` split
            # the graph its autodiff differentiates and cost scripted training 4-7% of a step
            # (benchmarks/fast_path_forms.py); scripted inference still beats the custom Function.
            lines.append(f"{ind}# Only gradients need the carrier: skipped in no-grad eager code "
                         "(TorchScript keeps one graph)")
            lines.append(f"{ind}if {self.torch}.jit.is_scripting() or {self.torch}.is_grad_enabled():")
            lines += [ind * 2 + line if line.strip() else "" for line in carrier_lines]
            lines.append(f"{ind * 2}{value} = {result}")
            lines.append(f"{ind}return {value}")
        else:
            lines += [ind + line if line.strip() else "" for line in carrier_lines]
            lines.append(f"{ind}return {result}")
        literals = dict(ir.numeric_literals)
        function = bind_constants(self.newline.join(lines) + self.newline, literals, self.torch, self._fresh)
        helper = self.helper_source and bind_constants(self.helper_source, literals, self.torch, self._fresh)
        return Emitted(function, self.name, helper=helper, shape_unproven=self.shape_unproven)

    def _prelude_may_record_a_graph(self) -> bool:
        """Whether backward's grad-free statements need `torch.no_grad()`: only when they read
        something that may require grad. The detached inputs, names computed from them alone,
        the torch module, literals and a few builtins cannot; a hyper-parameter (a caller may
        pass a learnable tensor), a module global or a helper may. The block costs about a tenth
        of a small spike's training step under TorchScript, so it is left out when it guards
        nothing."""
        safe = {self.torch, *_HARMLESS_NAMES}
        for lines, guarded in ((self.forward_lines, False), (self.no_grad_lines, True)):
            for statement in cst.parse_module("".join(f"{line}\n" for line in lines)).body:
                reads, bound = _reads_and_binds(statement)
                detaching = _is_detach_assignment(statement)
                for name in bound:
                    if detaching or reads <= safe:
                        safe.add(name)
                    else:
                        safe.discard(name)
                if guarded and not reads <= safe:
                    return True
        return False

    def _factors_may_change_dtype(self) -> bool:
        """Whether a gradient factor may have another dtype than the value: a comparison, a
        cast, or a name whose dtype is not the value's (a global, a hyper-parameter that may
        be a tensor)."""
        assert self.ir.backward_def is not None
        if may_change_dtype(self.ir.backward_def.body):
            return True
        known = self._dtype_neutral_names()
        for item in self.ir.inputs:
            for op in item.gradient.chain or () if item.gradient is not None else ():
                if op.operand is not None and not self._dtype_reads(op.operand) <= known:
                    return True
        return False

    def _carrier_may_outgrow_value(self, probe: bool) -> bool:
        """Whether a factor may read a tensor that broadcasts beyond the value (a hyper-parameter
        passed as a [1, 64] tensor to a spike of an [8, 1] input): the carrier would then give
        the value its larger shape, where the original's backward had autograd sum the larger
        gradient back to the input's shape (found on spikingjelly's surrogates)."""
        known = self._dtype_neutral_names(shape_only=True)
        outgrows = probe or any(
            op.operand is not None and not self._backward_reads(op.operand) <= known
            for item in self.ir.inputs if item.gradient is not None for op in item.gradient.chain or ())
        differentiable = {i.name for i in self.ir.inputs if i.gradient is not None}
        if outgrows and not self.ir.value_inputs - self._scalar_params(explicit=True) <= differentiable:
            # The value also spreads over another tensor (a threshold): the carrier may be
            # smaller than the value in one dimension and larger in another, which no single
            # reduction to the value's shape undoes. Written as it is, and not proven.
            other = sorted(self.ir.value_inputs - differentiable - self._scalar_params(explicit=True))[0]
            self.shape_unproven = (f"a gradient factor may broadcast beyond the value, which also spreads over "
                                   f"{other}: shapes not proven equal")
            return False
        return outgrows

    def _forward_reads(self, node: cst.BaseExpression) -> set[str]:
        """Names a forward expression reads; a forward local counts as everything any of its
        assignments reads (flow-insensitive, so an over-approximation)."""
        assert self.ir.forward_def is not None
        sources = _forward_sources(self.ir.forward_def)
        reads, seen = names_read(node), set()
        while True:  # follow locals back to the inputs they are computed from
            local = next((n for n in reads if n in sources and n not in seen and n not in self.ir.value_inputs), None)
            if local is None:
                return reads
            seen.add(local)
            reads = (reads - {local}) | sources[local]

    def _backward_reads(self, node: cst.BaseExpression) -> set[str]:
        """Names a backward expression reads, with `ctx.attr` read as the forward value put there."""
        ctx = self.ir.backward_ctx
        position = saved_position(node, ctx, len(self.ir.saved))
        if position is not None:
            return self._forward_reads(self.ir.saved[position])  # `ctx.saved_tensors[0]`
        # Numbers the module or the class sets once (`ALPHA = 2.7`, `Spike.alpha`) broadcast nowhere.
        plain = without_numbers(node, self.ir.numeric_constants)
        reads = names_read(plain)
        if ctx in reads:
            reads.discard(ctx)
            for attribute in _ctx_reads_in(plain, ctx):
                if attribute not in self.ir.ctx_attributes:
                    return reads | {ctx}
                reads |= self._forward_reads(self.ir.ctx_attributes[attribute])
        return reads

    def _dtype_reads(self, node: cst.BaseExpression) -> set[str]:
        """Names whose dtypes a backward expression's dtype depends on. A module or class
        number is a Python scalar, which never promotes a tensor; `ctx.attr` holding an
        annotated scalar parameter that forward leaves alone is that parameter."""
        ctx = self.ir.backward_ctx
        plain = without_numbers(node, self.ir.numeric_constants)
        reads = names_read(plain)
        if ctx not in reads:
            return reads
        reads.discard(ctx)
        assert self.ir.forward_def is not None
        rebound = _forward_sources(self.ir.forward_def)
        scalars = self._scalar_params(explicit=True)
        for attribute in _ctx_reads_in(plain, ctx):
            stored = self.ir.ctx_attributes.get(attribute)
            if not (isinstance(stored, cst.Name) and stored.value in scalars and stored.value not in rebound):
                return reads | {ctx}
            reads.add(stored.value)
        return reads

    def _dtype_neutral_names(self, shape_only: bool = False) -> set[str]:
        """Names in backward holding the differentiable input's dtype or a Python number:
        the input, explicitly annotated scalars, saved copies of the input and locals computed
        from them alone. With shape_only, names whose shape is within the input's (a
        comparison or a cast keeps it)."""
        assert self.ir.backward_def is not None
        differentiable = {i.name for i in self.ir.inputs if i.gradient is not None}
        known = differentiable | self._scalar_params(explicit=True) | {self.torch, *self.grad_names}
        if shape_only:
            # The value already spreads over its inputs; math's constants and functions are numbers.
            known |= self.ir.value_inputs | self.ir.pure_helpers | {"math"}
            setup = self.ir.setup_def
            if setup is not None and len(setup.params.params) == 3:
                known.add(setup.params.params[2].name.value)  # setup_context's output: the value itself
        for stmt in _statements(self.ir.backward_def.body):
            unpacked = saved_unpacking(stmt, self.ir.backward_ctx, len(self.ir.saved))
            for name, position in (unpacked or {}).items():
                saved = self.ir.saved[position]
                if isinstance(saved, cst.Name) and saved.value in differentiable \
                        or shape_only and self._forward_reads(saved) <= known:
                    known.add(name)
                else:
                    known.discard(name)
            if unpacked is not None:
                continue
            if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
                    and isinstance(stmt.body[0], cst.Assign) and len(stmt.body[0].targets) == 1):
                known -= _assigned_names([stmt])
                continue
            value = stmt.body[0].value
            for name in _assigned_names([stmt]):
                reads = self._backward_reads(value) if shape_only else self._dtype_reads(value)
                if reads <= known and (shape_only or not may_change_dtype(value)):
                    known.add(name)
                else:
                    known.discard(name)
        return known

    def _changes_dtype(self, inputs: list[str]) -> bool:
        """Whether forward's value may have another dtype than its differentiable input
        (analysis/forward.py proves it has that input's dtype, or it may not)."""
        return not (len(inputs) == 1 and self.ir.value_dtype == frozenset(inputs))

    def _used_as_tensor(self, name: str) -> bool:
        """A constant input that forward saves or calls tensor methods on is a tensor."""
        methods = [d for d in (self.ir.forward_def, self.ir.setup_def) if d is not None]
        return any(calls_method_on(d.body, name, frozenset({"item"})) for d in methods) or any(
            isinstance(s, cst.Name) and s.value == name for s in self.saved)

    def _annotation(self, param: cst.Param, differentiable: bool) -> str:
        if param.annotation:
            return code_of(param.annotation.annotation)
        name = param.name.value
        returned = isinstance(self.value, cst.Name) and self.value.value == name
        return _guess_annotation(param, differentiable or returned or self._used_as_tensor(name), self.torch,
                                 counts=name in self._counts())

    def _counts(self) -> set[str]:
        """Inputs that count something (a `range()` bound, in forward or through ctx in
        backward): TorchScript needs them to be ints."""
        ir = self.ir
        names = _range_operands(ir.forward_def.body) if ir.forward_def is not None else set()
        if ir.backward_def is not None:
            for operand in _range_operands(ir.backward_def.body):
                ctx, _, attr = operand.partition(".")
                stored = self.attributes.get(attr) if ctx == ir.backward_ctx else None
                if isinstance(stored, cst.Name):
                    names.add(stored.value)
        return names

    def _signature(self) -> str:
        parts = []
        differentiable = {i.name for i in self.ir.inputs if i.gradient is not None}
        for param in self.ir.params:
            annotation = self._annotation(param, param.name.value in differentiable)
            default = f" = {code_of(param.default)}" if param.default is not None else ""
            parts.append(f"{param.name.value}: {annotation}{default}")
        return ", ".join(parts)


def _guess_annotation(param: cst.Param, differentiable: bool, torch: str = "torch", counts: bool = False) -> str:
    """TorchScript assumes unannotated parameters are Tensors: say what each one is. A number is
    a float unless it counts something: `w=1` is a default, and callers pass 0.5."""
    if differentiable:
        return f"{torch}.Tensor"
    if counts:
        return "int"
    default = param.default
    if isinstance(default, cst.Name) and default.value in ("True", "False"):
        return "bool"
    if isinstance(default, (cst.SimpleString, cst.ConcatenatedString)):
        return "str"
    if isinstance(default, cst.Call) and "tensor" in (dotted_name(default.func) or ""):
        return f"{torch}.Tensor"
    return "float"


def _range_operands(body: cst.CSTNode) -> set[str]:
    """Names and `obj.attr` reads inside the arguments of `range(...)` calls."""
    found: set[str] = set()

    class Ranges(cst.CSTVisitor):
        def __init__(self) -> None:
            self.depth = 0

        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == "range":
                self.depth += 1

        def leave_Call(self, original_node: cst.Call) -> None:
            if isinstance(original_node.func, cst.Name) and original_node.func.value == "range":
                self.depth -= 1

        def visit_Name(self, node: cst.Name) -> None:
            if self.depth:
                found.add(node.value)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            name = dotted_name(node)
            if self.depth and name is not None:
                found.add(name)
            return name is None  # the parts of `ctx.n` are not reads of their own

    body.visit(Ranges())
    return found


def _header_comment(function: cst.FunctionDef | None) -> str | None:
    """The comment after `def name(...):`, if the line has one."""
    body = function.body if function is not None else None
    header = body.header if isinstance(body, cst.IndentedBlock) else None
    return header.comment.value if header is not None and header.comment is not None else None

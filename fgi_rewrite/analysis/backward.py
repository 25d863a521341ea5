"""Read a backward body abstractly: how does each returned gradient depend on grad_output?

The reader walks the statements in order with an environment of abstract values (see ir.py).
Anything that would make FGI wrong raises a `Refusal` with the node that caused it: a
non-linear use of grad_output, a non-elementwise one, a side effect, randomness, or a call
whose source is not in the module. Helpers defined in the module are read through (and the
result marked interprocedural when grad_output was passed in).
"""

from __future__ import annotations

from dataclasses import replace
from typing import cast, overload

import libcst as cst

from fgi_rewrite.analysis.discovery import ModuleIndex, code_of, dotted_name
from fgi_rewrite.analysis.ir import ChainOp, Const, Linear, Refusal, TupleValue, Value
from fgi_rewrite.analysis.operations import (
    BROADCAST_REDUCTIONS,
    EXPANDING,
    GRADIENT_IDENTITY,
    MASK_FUNCTIONS,
    MASK_PRESERVING_CASTS,
    MIXING_ELEMENTS,
    NONLINEAR,
    RANDOM_DRAWS,
    SHAPE_QUESTIONS,
    TAKES_SEQUENCES,
    TEMPLATE_METHODS,
    TORCH_PREFIXES,
)
from fgi_rewrite.analysis.syntax import is_none_padding, mentions, reads_grad_requirement
from fgi_rewrite.patterns import (
    BY_FUNCTION,
    BY_METHOD,
    BY_OPERATOR,
    PROBED_BY_FUNCTION,
    PROBED_BY_METHOD,
    PROBED_BY_OPERATOR,
    ChainPattern,
)

_MAX_HELPER_DEPTH = 4


def _is_zero(node: cst.CSTNode | None) -> bool:
    if isinstance(node, cst.Call):
        name = (dotted_name(node.func) or "").split(".")[-1]
        if name in ("tensor", "as_tensor", "scalar_tensor") and node.args:
            return _is_zero(node.args[0].value)  # `torch.tensor(0.0, device=...)`
        return name in ("zeros_like", "new_zeros", "zeros")
    if isinstance(node, cst.Integer):
        return int(node.value, 0) == 0
    if isinstance(node, cst.Float):
        return float(node.value) == 0.0
    return False


def _qualified_call_name(func: cst.BaseExpression, index: ModuleIndex) -> str | None:
    dotted = dotted_name(func)
    return index.imports.qualify(dotted) if dotted else None


class BackwardReader:
    """Abstract interpreter for one backward body (and the helpers it calls)."""

    def __init__(
        self,
        index: ModuleIndex,
        grad_names: set[str],
        ctx_name: str,
        owner: cst.ClassDef,
        depth: int = 0,
        local_classes: tuple[cst.ClassDef, ...] = (),
        saved: tuple[cst.BaseExpression, ...] = (),
        saved_known: bool = False,
        ctx_attributes: dict[str, cst.BaseExpression] | None = None,
    ) -> None:
        self.index = index
        self.saved = saved
        # One save_for_backward call: ctx.saved_tensors has exactly these items (several calls
        # on different paths, or none seen, leave its length unknown).
        self.saved_known = saved_known
        self.ctx_attributes = ctx_attributes or {}
        self.ctx_name = ctx_name
        self.owner = owner
        self.depth = depth
        self.local_classes = local_classes
        self.env: dict[str, Value] = {name: Linear(chain=()) for name in grad_names}
        # Every name that held a gradient at some point: the rewrite drops their statements.
        self.linear_names: set[str] = set(grad_names)
        self.linear_touches = 0
        self.gradient_statements: set[int] = set()  # ids of statements that touch a gradient
        self.locals: set[str] = set(grad_names) | {ctx_name}
        self.globals_declared: set[str] = set()
        self.local_functions: dict[str, cst.FunctionDef] = {}
        self.returns: list[Value] = []
        self.raised_unconditionally: cst.CSTNode | None = None

    def _bind(self, name: str, value: Value) -> None:
        self.env[name] = value
        if isinstance(value, Linear):
            self.linear_names.add(name)
            self.linear_touches += 1

    # ---------------------------------------------------------------- statements
    def run(self, body: cst.BaseSuite) -> list[Value]:
        ended = self._block(body, top=True)
        if not self.returns and self.raised_unconditionally is not None:
            raise Refusal("FGI108", f"backward always raises: {code_of(self.raised_unconditionally).strip()}",
                          self.raised_unconditionally)
        if not self.returns and not ended:
            raise Refusal("FGI111", "backward returns nothing")
        return self.returns

    def _block(self, body: cst.BaseSuite | cst.CSTNode, top: bool = False) -> bool:
        """Run a block; return True when every path through it ended (return/raise)."""
        statements = body.body if isinstance(body, (cst.IndentedBlock, cst.Module)) else [body]
        if isinstance(body, cst.SimpleStatementSuite):
            statements = [cst.SimpleStatementLine(body=body.body)]
        for stmt in statements:
            if self._statement(stmt, top):
                return True
        return False

    def _statement(self, stmt: cst.CSTNode, top: bool) -> bool:
        """Run one statement, noting whether it read or wrote a gradient (flow-sensitive: a
        name may hold a plain factor first and a gradient later)."""
        before = self.linear_touches
        try:
            return self._run_statement(stmt, top)
        finally:
            if self.linear_touches != before:
                self.gradient_statements.add(id(stmt))

    def _run_statement(self, stmt: cst.CSTNode, top: bool) -> bool:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if self._small(small, top):
                    return True
            return False
        if isinstance(stmt, cst.If):
            return self._if(stmt, top)
        if isinstance(stmt, (cst.For, cst.While)):
            return self._loop(stmt)
        if isinstance(stmt, cst.With):
            for item in stmt.items:
                self.expr(item.item)
            return self._block(stmt.body, top)
        if isinstance(stmt, cst.Try):
            return self._block(stmt.body, top)
        if isinstance(stmt, cst.FunctionDef):
            self.local_functions[stmt.name.value] = stmt
            self.locals.add(stmt.name.value)
            return False
        if isinstance(stmt, cst.ClassDef):
            self.locals.add(stmt.name.value)
            return False
        raise Refusal("FGI111", f"backward uses an unsupported statement: {type(stmt).__name__}", stmt)

    def _small(self, small: cst.BaseSmallStatement, top: bool) -> bool:
        if isinstance(small, cst.Return):
            value = self.expr(small.value) if small.value is not None else Const(cst.Name("None"))
            self.returns.append(value)
            return True
        if isinstance(small, cst.Raise):
            if top and not self.returns:
                self.raised_unconditionally = small
                return True
            # FGI has no backward to raise from: the error would silently disappear.
            raise Refusal("FGI108", f"backward may raise: {code_of(small).strip()}", small)
        if isinstance(small, cst.Assign):
            value = self.expr(small.value)
            for target in small.targets:
                self._assign(target.target, value, small)
            return False
        if isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self._assign(small.target, self.expr(small.value), small)
            return False
        if isinstance(small, cst.AugAssign):
            self._aug_assign(small)
            return False
        if isinstance(small, cst.Expr):
            self._expression_statement(small.value)
            return False
        if isinstance(small, (cst.Global, cst.Nonlocal)):
            self.globals_declared.update(n.name.value for n in small.names)
            return False
        if isinstance(small, (cst.Pass, cst.Assert, cst.Import, cst.ImportFrom)):
            return False
        if isinstance(small, cst.Del):
            return False
        raise Refusal("FGI111", f"backward uses an unsupported statement: {type(small).__name__}", small)

    def _if(self, stmt: cst.If, top: bool) -> bool:
        test_code = code_of(stmt.test)
        if reads_grad_requirement(stmt.test):
            # Gradients are only ever read when they are needed: follow the branch that computes them.
            return self._block(stmt.body, top)
        test = self.expr(stmt.test)
        if isinstance(test, Linear):
            raise Refusal("FGI102", f"backward branches on grad_output: if {test_code}", stmt.test)
        before = dict(self.env)
        ended_body = self._block(stmt.body)
        after_body = self.env
        self.env = dict(before)
        ended_else = False
        if stmt.orelse is not None:
            orelse = stmt.orelse
            ended_else = self._statement(orelse, False) if isinstance(orelse, cst.If) else self._block(orelse.body)
        after_else = self.env
        if ended_body and ended_else:
            return True
        if ended_body:
            self.env = after_else
        elif ended_else:
            self.env = after_body
        else:
            self.env = after_else | {k: _merge(v, after_else.get(k)) for k, v in after_body.items()}
        return False

    def _loop(self, stmt: cst.For | cst.While) -> bool:
        if isinstance(stmt, cst.For):
            iterable = self.expr(stmt.iter)
            if isinstance(iterable, Linear):
                raise Refusal("FGI103", f"backward iterates over grad_output: for ... in {code_of(stmt.iter)}", stmt)
            self._assign(stmt.target, Const(), stmt)
        else:
            if isinstance(self.expr(stmt.test), Linear):
                raise Refusal("FGI102", "backward loops on a condition of grad_output", stmt)
        before = dict(self.env)
        self._block(stmt.body)
        # A loop may run any number of times: whatever it touched is no longer a simple chain.
        for name, value in list(self.env.items()):
            if isinstance(value, Linear) and before.get(name) is not value:
                self._bind(name, value.opaque("computed in a loop"))
        return False

    def _assign(self, target: cst.BaseExpression, value: Value, stmt: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            if target.value in self.globals_declared:
                raise Refusal("FGI104", f"backward has a side effect: assigns global {target.value}", stmt)
            self._bind(target.value, value)
            self.locals.add(target.value)
            return
        if isinstance(target, (cst.Tuple, cst.List)):
            elements = [e.value for e in target.elements]
            if isinstance(value, TupleValue) and len(value.items) == len(elements) \
                    and not (value.saved and value.open_ended):
                for element, item in zip(elements, value.items, strict=True):
                    self._assign(element, item, stmt)
                return
            starred = any(isinstance(e, cst.StarredElement) for e in elements)
            if isinstance(value, TupleValue) and not value.open_ended and not starred:
                raise Refusal("FGI108", f"backward cannot run as written: unpacks {len(value.items)} values into "
                              f"{len(elements)}: {code_of(stmt).strip()[:60]}", stmt)
            if isinstance(value, Linear):
                raise Refusal("FGI111", f"backward unpacks a gradient: {code_of(stmt).strip()}", stmt)
            for element in elements:
                self._assign(element.value if isinstance(element, cst.StarredElement) else element, Const(), stmt)
            return
        if isinstance(target, cst.Subscript):
            self._subscript_assign(target, value, stmt)
            return
        if isinstance(target, cst.Attribute):
            root = _root_name(target)
            if root == self.ctx_name or (root in self.locals and root not in self.globals_declared):
                return
            raise Refusal("FGI104", f"backward has a side effect: {code_of(stmt).strip()}", stmt)
        raise Refusal("FGI111", f"backward assigns to {code_of(target)}", stmt)

    def _subscript_assign(self, target: cst.Subscript, value: Value, stmt: cst.CSTNode) -> None:
        root = _root_name(target)
        read_in_place = False  # the value was read from a gradient under this same index
        if isinstance(value, Linear) and value.index is not None:
            if value.index != _index_code(target):
                raise Refusal("FGI103", f"backward is not elementwise: moves elements: {code_of(stmt).strip()}", stmt)
            value = replace(value, index=None)
            read_in_place = True
        current = self.env.get(root) if root else None
        if root is not None and isinstance(current, Linear):
            if isinstance(value, Linear) or (isinstance(value, Const) and self.is_zero(value.node)):
                self._bind(root, current.opaque(f"masked assignment {code_of(stmt).strip()}"))
                return
            raise Refusal(
                "FGI102", f"backward is not linear in grad_output: assigns a constant into the gradient: "
                f"{code_of(stmt).strip()}", stmt,
            )
        if isinstance(value, Linear):
            if not read_in_place:
                # The whole gradient written into part of another tensor: its shape and the
                # positions of its elements change.
                raise Refusal("FGI103", f"backward is not elementwise: moves elements: {code_of(stmt).strip()}", stmt)
            if root in self.locals:
                self._bind(root, value.opaque(f"assembled by indexing: {code_of(stmt).strip()}"))
                return
        if root is None or root not in self.locals or root in self.globals_declared:
            raise Refusal("FGI104", f"backward has a side effect: {code_of(stmt).strip()}", stmt)
        if isinstance(current, Const):
            self._bind(root, Const())  # `g[idx] = c` on a zeros tensor: no longer zeros

    def _aug_assign(self, stmt: cst.AugAssign) -> None:
        op_map = {cst.MultiplyAssign: cst.Multiply(), cst.DivideAssign: cst.Divide(), cst.AddAssign: cst.Add(),
                  cst.SubtractAssign: cst.Subtract(), cst.PowerAssign: cst.Power()}
        target = stmt.target
        root = _root_name(target)
        if not isinstance(target, cst.Name):
            if root not in self.locals or root in self.globals_declared:
                raise Refusal("FGI104", f"backward has a side effect: {code_of(stmt).strip()}", stmt)
            if isinstance(target, cst.Subscript):
                self._subscript_assign(target, self.expr(stmt.value) if not isinstance(self.env.get(root), Linear)
                                       else self.env[root], stmt)
            return
        if target.value in self.globals_declared or (target.value not in self.locals):
            raise Refusal("FGI104", f"backward has a side effect: {code_of(stmt).strip()}", stmt)
        operator = op_map.get(type(stmt.operator))
        if operator is None:
            raise Refusal("FGI102", f"backward is not linear in grad_output: {code_of(stmt).strip()}", stmt)
        binary = cst.BinaryOperation(left=target, operator=operator, right=stmt.value)
        self._bind(target.value, _in_place(self.env.get(target.value), self.expr(binary)))

    def _expression_statement(self, value: cst.BaseExpression) -> None:
        if isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Ellipsis)):
            return  # docstring
        if not isinstance(value, cst.Call):
            self.expr(value)
            return
        func = value.func
        if isinstance(func, cst.Attribute):
            root = _root_name(func.value)
            method = func.attr.value
            receiver = self.env.get(root) if root else None
            if root is not None and isinstance(receiver, Linear) and isinstance(func.value, cst.Name):
                # In-place method on the gradient: same algebra as the out-of-place call.
                out_of_place = method[:-1] if method.endswith("_") else method
                call = value.with_changes(func=func.with_changes(attr=cst.Name(out_of_place)))
                self._check_random(value)
                result = self.expr(call)
                self._bind(root, _in_place(receiver, result) if method.endswith("_") else result)
                return
            if root is not None and root in self.locals and root not in self.globals_declared and root != self.ctx_name:
                self.expr(value)
                if method.endswith("_") and isinstance(func.value, cst.Name):
                    # `gy = zeros_like(y); gy.scatter_(...)`: no longer zeros, and not linear in
                    # grad_output (a linear term would have been refused above).
                    self._bind(root, Const())
                return
        name = dotted_name(func)
        if isinstance(func, cst.Name) and (name in self.index.functions_by_name or name in self.local_functions):
            self.expr(value)
            return
        if name and name.split(".")[-1] in RANDOM_DRAWS:
            self._check_random(value)
        if name and name in ("torch.cuda.synchronize",):
            return
        raise Refusal("FGI104", f"backward has a side effect: {code_of(value).strip()}", value)

    def _known(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """The expression a local name or ctx attribute stands for, when known (for mask/zero tests)."""
        for _ in range(8):
            if isinstance(node, cst.Name) and isinstance(bound := self.env.get(node.value), Const):
                known = bound.node
                if known is None or known is node:
                    break
                node = known
            elif (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
                  and node.value.value == self.ctx_name and node.attr.value in self.ctx_attributes):
                node = self.ctx_attributes[node.attr.value]
            else:
                break
        return node

    def _mask(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        """A factor that only keeps or zeroes elements: comparisons, their logical
        combinations and casts, or the literal 1."""
        node = self._known(node)
        if depth > 8:
            return False
        if isinstance(node, cst.Comparison):
            return True
        if isinstance(node, (cst.Integer, cst.Float)):
            return float(node.value) == 1.0
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.BitInvert):
            return self._mask(node.expression, depth + 1)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.BitAnd, cst.BitOr)):
            return self._mask(node.left, depth + 1) and self._mask(node.right, depth + 1)
        if isinstance(node, cst.Call):
            name = node.func.attr.value if isinstance(node.func, cst.Attribute) else (dotted_name(node.func) or "")
            short = name.split(".")[-1]
            if short in MASK_FUNCTIONS:
                return True
            if short in MASK_PRESERVING_CASTS and isinstance(node.func, cst.Attribute):
                return self._mask(node.func.value, depth + 1)
            if short in MASK_PRESERVING_CASTS and node.args:
                return self._mask(node.args[0].value, depth + 1)
        return False

    def is_zero(self, node: cst.BaseExpression | None) -> bool:
        return node is not None and _is_zero(self._known(node))

    # ---------------------------------------------------------------- expressions
    def expr(self, node: cst.BaseExpression) -> Value:
        value = self._expr(node)
        if isinstance(value, Linear) or (isinstance(value, TupleValue) and any(
                isinstance(v, Linear) for v in value.items)):
            self.linear_touches += 1
        return value

    def _expr(self, node: cst.BaseExpression) -> Value:
        if isinstance(node, cst.Name):
            if node.value in self.env:
                return self.env[node.value]
            return Const(node)
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString,
                             cst.ConcatenatedString, cst.FormattedString, cst.Ellipsis)):
            return Const(node)
        if isinstance(node, cst.Attribute):
            return self._attribute(node)
        if isinstance(node, cst.BinaryOperation):
            return self._binary(node)
        if isinstance(node, cst.UnaryOperation):
            return self._unary(node)
        if isinstance(node, (cst.Tuple, cst.List)):
            items = tuple(self.expr(e.value) for e in node.elements)
            if isinstance(node, cst.List) and any(isinstance(i, Linear) for i in items):
                raise Refusal("FGI111", f"backward builds a list of gradients: {code_of(node)}", node)
            return TupleValue(items) if isinstance(node, cst.Tuple) else Const(node)
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.Subscript):
            return self._subscript(node)
        if isinstance(node, cst.Comparison):
            return self._comparison(node)
        if isinstance(node, cst.IfExp):
            if isinstance(self.expr(node.test), Linear):
                raise Refusal("FGI102", f"backward branches on grad_output: {code_of(node)}", node)
            return _merge(self.expr(node.body), self.expr(node.orelse)) or Const(node)
        if isinstance(node, cst.BooleanOperation):
            values = [self.expr(node.left), self.expr(node.right)]
            if any(isinstance(v, Linear) for v in values):
                raise Refusal("FGI102", f"backward is not linear in grad_output: {code_of(node)}", node)
            return Const(node)
        # Lambdas, comprehensions, f-strings, ...: fine as long as grad_output is not inside.
        if self._mentions_gradient(node):
            raise Refusal("FGI111", "gradient used in an expression the analysis does not follow: "
                          f"{code_of(node)[:60]}", node)
        return Const(node)

    def _unary(self, node: cst.UnaryOperation) -> Value:
        operand = self.expr(node.expression)
        if not isinstance(operand, Linear):
            return Const(node)
        pattern = BY_OPERATOR.get(type(node.operator))
        if pattern is not None:
            return operand.with_op(ChainOp(pattern.op, None), smooth=False)
        if isinstance(node.operator, cst.Plus):
            return operand
        raise Refusal("FGI102", f"backward is not linear in grad_output: {code_of(node)}", node)

    def _comparison(self, node: cst.Comparison) -> Value:
        if all(isinstance(c.operator, (cst.Is, cst.IsNot)) for c in node.comparisons):
            return Const(node)  # `grad is None`: a question about presence, not about values
        values = [self.expr(node.left)] + [self.expr(c.comparator) for c in node.comparisons]
        if any(isinstance(v, Linear) for v in values):
            raise Refusal("FGI102", f"backward compares grad_output: {code_of(node)}", node)
        return Const(node)

    def _mentions_gradient(self, node: cst.CSTNode) -> bool:
        return mentions(node, {k for k, v in self.env.items() if isinstance(v, Linear)})

    def _attribute(self, node: cst.Attribute) -> Value:
        if (isinstance(node.value, cst.Name) and node.value.value == self.ctx_name
                and node.attr.value in ("saved_tensors", "saved_variables")):
            return TupleValue(tuple(Const(e) for e in self.saved), open_ended=not self.saved_known, saved=True)
        # Not expr(): `grad_output.dtype` asks about the gradient without using it, and must not
        # make its statement a gradient one (the emitter would drop it; found by a quantiser
        # computing `mask.to(grad_output.dtype)`). A use that is the gradient is counted by the caller.
        base = self._expr(node.value)
        if isinstance(base, Linear):
            attr = node.attr.value
            if attr in ("data",):
                return base
            if attr in ("shape", "dtype", "device", "ndim", "requires_grad", "is_cuda", "layout"):
                return Const(node)
            if attr in MIXING_ELEMENTS:
                raise Refusal("FGI103", f"backward is not elementwise: {code_of(node)}", node)
            # Method calls never come here (_call reads the receiver itself): this is a data
            # attribute such as .real or .grad, which is not the gradient.
            raise Refusal("FGI111", f"backward reads {code_of(node)}, which the analysis does not follow", node)
        if isinstance(base, TupleValue):
            return Const(node)
        return Const(node)

    def _binary(self, node: cst.BinaryOperation) -> Value:
        left, right = self.expr(node.left), self.expr(node.right)
        if isinstance(left, TupleValue) and isinstance(node.operator, cst.Add) and isinstance(right, Const):
            # `(grad_x,) + (None,) * n`: gradients padded with Nones for extra (variadic) inputs.
            if right.node is not None and is_none_padding(right.node):
                return TupleValue(left.items, open_ended=True)
        repetition = isinstance(node.operator, (cst.Multiply, cst.Add)) and not any(
            isinstance(v, Linear) or isinstance(v, TupleValue) and v.saved for v in (left, right))  # `(None,) * n`
        if (isinstance(left, TupleValue) or isinstance(right, TupleValue)) and not repetition:
            # `x = ctx.saved_tensors` (no unpacking) used as a tensor: backward fails as written,
            # and the rewrite must not move that failure into forward.
            raise Refusal("FGI108", f"backward cannot run as written: arithmetic on a tuple: {code_of(node)[:60]}",
                          node)
        left_lin, right_lin = isinstance(left, Linear), isinstance(right, Linear)
        if not left_lin and not right_lin:
            return Const(node)
        op = node.operator
        text = code_of(node)
        if isinstance(op, cst.MatrixMultiply):
            raise Refusal("FGI103", f"backward is not elementwise: {text}", node)
        pattern = BY_OPERATOR.get(type(op))
        if pattern is not None and pattern.takes_operand:
            if left_lin and right_lin:
                raise Refusal("FGI102", f"backward is not linear in grad_output: {text}", node)
            if right_lin and not pattern.commutative:
                raise Refusal("FGI102", f"backward is not linear in grad_output: grad_output on the right: {text}",
                              node)
            lin, other = (left, node.right) if left_lin else (right, node.left)
            assert isinstance(lin, Linear)
            return self._link(lin, pattern, other)
        probed = PROBED_BY_OPERATOR.get(type(op))
        if probed is not None:
            return probed.read(self, node, [left, right])
        raise Refusal("FGI102", f"backward is not linear in grad_output: {text}", node)

    def _subscript(self, node: cst.Subscript) -> Value:
        base = self.expr(node.value)
        if isinstance(base, TupleValue):
            index = node.slice[0].slice if len(node.slice) == 1 else None
            if isinstance(index, cst.Index) and isinstance(index.value, cst.Integer):
                position = int(index.value.value)
                if -len(base.items) <= position < len(base.items):
                    return base.items[position]
            if any(isinstance(i, Linear) for i in base.items):
                raise Refusal("FGI111", f"gradients selected dynamically: {code_of(node)}", node)
            return Const(node)
        if isinstance(base, Linear):
            # Reading part of the gradient (grad[mask]) is only fine when written back in place,
            # which _subscript_assign accounts for; an index may also move elements.
            return replace(base.opaque(f"indexed: {code_of(node)}"), index=_index_code(node))
        return Const(node)

    def _call(self, node: cst.Call) -> Value:
        self._check_random(node)
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in SHAPE_QUESTIONS:
            receiver = self._expr(func.value)  # `grad_output.size(0)`, `grad_output.new_zeros(...)`
            if isinstance(receiver, Linear):
                for arg in node.args:
                    if isinstance(self.expr(arg.value), Linear):
                        raise Refusal("FGI102", f"backward is not linear in grad_output: {code_of(node)[:80]}", node)
                return Const(node)
        template = func.attr.value in TEMPLATE_METHODS or func.attr.value == "to" if isinstance(func, cst.Attribute) \
            else False  # `mask.to(grad_output)` borrows only its dtype and device
        if isinstance(func, cst.Attribute) and template and len(node.args) == 1 and node.args[0].keyword is None:
            receiver = self.expr(func.value)
            if not isinstance(receiver, (Linear, TupleValue)):
                # `mask.type_as(grad_output)` reads only grad_output's dtype: the statement is
                # not a gradient one, and its argument is not a use of the gradient.
                self._expr(node.args[0].value)
                return Const(node)
        args = [self.expr(a.value) for a in node.args]
        lin_args = [a for a in args if isinstance(a, Linear)]
        if isinstance(func, cst.Attribute):
            receiver = self.expr(func.value)
            if isinstance(receiver, TupleValue) and receiver.saved and func.attr.value not in ("index", "count"):
                raise Refusal("FGI108", f"backward cannot run as written: calls .{func.attr.value}() on a tuple", node)
            if isinstance(receiver, Linear):
                return self._method_on_gradient(node, receiver, func.attr.value, args)
        name = dotted_name(func) or ""
        qualified = _qualified_call_name(func, self.index) if name else None
        short = name.split(".")[-1] if name else ""
        helper = self._helper(func)
        if helper is not None:
            return self._inline(helper, node, args)
        if any(isinstance(a, TupleValue) and a.saved for a in args) and qualified and qualified.startswith("torch.") \
                and not qualified.startswith("torch.ops.") \
                and short not in TAKES_SEQUENCES:
            raise Refusal("FGI108", f"backward cannot run as written: passes a tuple to {name}()", node)
        if not lin_args:
            return Const(node)
        if qualified and qualified.startswith("torch.ops."):
            raise Refusal("FGI107", f"backward passes grad_output to the extension op {name}(), whose semantics "
                          "cannot be read", node)
        if qualified and (qualified.startswith("torch.") or name.startswith(TORCH_PREFIXES)):
            return self._torch_function(node, short, args)
        if short in MIXING_ELEMENTS:
            raise Refusal("FGI103", f"backward is not elementwise: {code_of(node)[:80]}", node)
        raise Refusal("FGI107", f"backward passes grad_output to {name or code_of(func)}(), which is not defined in "
                      "this module (only a helper in the same module is read)", node)

    def _method_on_gradient(self, node: cst.Call, receiver: Linear, method: str, args: list[Value]) -> Value:
        text = code_of(node)
        if receiver.reduced is not None and method in EXPANDING:
            # A reduction spread back over the elements (`g.sum(-1, keepdim=True).expand_as(x)`)
            # is no broadcast reduction: dropping it, as for one, would hand x the unreduced
            # gradient (found by tests/test_fuzz_equivalence.py; the expand_as(grad_output)
            # spelling was refused as non-linear, the expand_as(x) one converted wrongly).
            raise Refusal("FGI103", f"backward is not elementwise: spreads a reduced gradient: {text[:80]}", node)
        if method in TEMPLATE_METHODS and len(args) == 1:
            args = []  # `expand_as(grad_output)` reads only the shape (or dtype) of its argument
        if any(isinstance(a, Linear) for a in args):
            raise Refusal("FGI102", f"backward is not linear in grad_output: {text[:80]}", node)
        if method in GRADIENT_IDENTITY or method in ("detach",):
            return receiver
        pattern = BY_METHOD.get(method)
        if pattern is not None:
            if any(a.keyword is not None and a.keyword.value in pattern.refused_keywords for a in node.args):
                raise Refusal("FGI102", f"backward is not linear in grad_output: {text[:80]}", node)
            if pattern.takes_operand and not node.args:
                raise Refusal("FGI111", f"backward calls .{method}() without an operand", node)
            linked = self._link(receiver, pattern, node.args[0].value if pattern.takes_operand else None)
            return _in_place(receiver, linked) if method.endswith("_") else linked
        probed = PROBED_BY_METHOD.get(method)
        if probed is not None:
            return probed.read(self, node, [receiver, *args])
        if method in BROADCAST_REDUCTIONS:
            if receiver.reduced is not None:
                raise Refusal("FGI103", f"backward is not elementwise: reduces twice: {text[:80]}", node)
            _check_broadcast_reduction(node, method, list(node.args))
            return replace(receiver, reduced=node)
        if method in NONLINEAR:
            raise Refusal("FGI102", f"backward is not linear in grad_output: {text[:80]}", node)
        if method in MIXING_ELEMENTS:
            raise Refusal("FGI103", f"backward is not elementwise: {text[:80]}", node)
        if method in SHAPE_QUESTIONS:
            return Const(node)
        raise Refusal("FGI111", f"backward calls .{method}() on the gradient, which the analysis does not follow", node)

    def negate(self, gradient: Linear) -> Linear:
        return self._link(gradient, BY_METHOD["neg"], None)

    def _link(self, gradient: Linear, pattern: ChainPattern, operand: cst.BaseExpression | None) -> Linear:
        """The gradient with one more link of a symbolic chain (fgi_rewrite/patterns/). A
        product by a 0/1 mask keeps a straight-through estimator a straight-through one."""
        smooth = pattern.takes_operand and not (pattern.op == "mul" and operand is not None and self._mask(operand))
        return gradient.with_op(ChainOp(pattern.op, operand), smooth=smooth)

    def _torch_function(self, node: cst.Call, short: str, args: list[Value]) -> Value:
        text = code_of(node)
        first = args[0] if args else None
        pattern = BY_FUNCTION.get(short)
        if pattern is not None and not any(
                a.keyword is not None and a.keyword.value in pattern.refused_keywords for a in node.args):
            if not pattern.takes_operand and isinstance(first, Linear):
                return self._link(first, pattern, None)
            if pattern.takes_operand and len(args) == 2 and not all(isinstance(a, Linear) for a in args):
                lin_index = 0 if isinstance(first, Linear) else 1
                if lin_index == 0 or pattern.commutative:
                    lin = args[lin_index]
                    assert isinstance(lin, Linear)
                    return self._link(lin, pattern, node.args[1 - lin_index].value)
        probed = PROBED_BY_FUNCTION.get(short)
        if probed is not None:
            return probed.read(self, node, args)
        if short in ("zeros_like", "empty_like", "ones_like", "full_like"):
            return Const(node)
        if short in ("sum", "sum_to_size") and isinstance(first, Linear):
            _check_broadcast_reduction(node, short, list(node.args[1:]))
            return replace(first, reduced=node)
        if short in ("clone", "detach") and isinstance(first, Linear):
            return first
        if short in MIXING_ELEMENTS:
            raise Refusal("FGI103", f"backward is not elementwise: {text[:80]}", node)
        raise Refusal("FGI102", f"backward is not linear in grad_output: {text[:80]}", node)

    def _check_random(self, node: cst.Call) -> None:
        name = dotted_name(node.func) or (node.func.attr.value if isinstance(node.func, cst.Attribute) else "")
        if name and name.split(".")[-1] in RANDOM_DRAWS:
            qualified = _qualified_call_name(node.func, self.index) or name
            plain_python = qualified.startswith(("random.", "numpy.random", "np.random"))
            torch_like = isinstance(node.func, cst.Attribute) or qualified.startswith(("torch.", "F."))
            if plain_python or torch_like:
                raise Refusal("FGI106", f"backward draws random numbers: {code_of(node)[:80]}", node)

    # ---------------------------------------------------------------- helpers
    def _helper(self, func: cst.BaseExpression) -> cst.FunctionDef | None:
        if isinstance(func, cst.Name):
            if func.value in self.local_functions:
                return self.local_functions[func.value]
            if func.value in self.env:
                return None
            return self.index.functions_by_name.get(func.value)
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            owner_name = func.value.value
            method = func.attr.value
            classes: list[cst.ClassDef] = []
            if owner_name in (self.ctx_name, "self", "cls"):
                classes = [self.owner, *self.local_classes]
            else:
                classes = self.index.classes_by_name.get(owner_name, [])
            for cls in classes:
                for stmt in cls.body.body:
                    if isinstance(stmt, cst.FunctionDef) and stmt.name.value == method:
                        return stmt
        return None

    def _inline(self, helper: cst.FunctionDef, call: cst.Call, args: list[Value]) -> Value:
        if self.depth >= _MAX_HELPER_DEPTH:
            raise Refusal("FGI111", f"helpers nested too deeply at {helper.name.value}()", call)
        passes_gradient = any(isinstance(a, Linear) for a in args) or any(
            isinstance(self.expr(a.value), Linear) for a in call.args if a.keyword is not None
        )
        params = [p for p in helper.params.params]
        is_method = any(_decorator_name(d) in ("staticmethod",) for d in helper.decorators) is False and bool(
            params) and params[0].name.value in ("self", "cls") and isinstance(call.func, cst.Attribute)
        if is_method:
            params = params[1:]
        reader = BackwardReader(self.index, set(), self.ctx_name, self.owner, self.depth + 1, self.local_classes)
        bound: dict[str, Value] = {}
        positional = [(a, v) for a, v in zip(call.args, args, strict=True) if a.keyword is None and not a.star]
        if any(a.star for a in call.args):
            if passes_gradient:
                raise Refusal("FGI111", f"gradient passed with * to {helper.name.value}()", call)
            return Const(call)
        for param, (_, value) in zip(params, positional, strict=False):
            bound[param.name.value] = value
        for arg in call.args:
            if arg.keyword is not None:
                bound[arg.keyword.value] = self.expr(arg.value)
        for param in [*params, *helper.params.kwonly_params]:
            bound.setdefault(param.name.value, Const(param.default) if param.default else Const())
        reader.env.update(bound)
        reader.locals.update(bound)
        if not passes_gradient:
            try:
                returns = reader.run(helper.body)
            except Refusal as refusal:
                if refusal.code in ("FGI104", "FGI106", "FGI108"):
                    raise
                return Const(call)
            return Const(call) if not any(_contains_linear(r) for r in returns) else merge_all(returns)
        returns = reader.run(helper.body)
        result = merge_all(returns)
        return _mark_interprocedural(result)


def _leading_dims(node: cst.BaseExpression) -> bool:
    """`0`, `(0,)`, `(0, 1)`, `[0, 1]`: the leading dimensions, which autograd's broadcasting
    adds in front of an input (and reduces away again)."""
    if isinstance(node, cst.Integer):
        return int(node.value) == 0
    if isinstance(node, (cst.Tuple, cst.List)):
        values = [e.value for e in node.elements]
        return all(isinstance(v, cst.Integer) for v in values) and \
            [int(cast(cst.Integer, v).value) for v in values] == list(range(len(values)))  # cast: all() checked
    return False


def _check_broadcast_reduction(node: cst.Call, method: str, args: list[cst.Arg]) -> None:
    """A reduction FGI may drop must reduce what autograd's broadcasting reduces: everything
    (`.sum()`), the leading dimensions, or to the input's own size (`sum_to_size`). Others
    (`.sum((0, 2, 3))` for an unviewed per-channel threshold) hand the gradient to other
    elements (found by fixtures/threshold_sum_dims_not_broadcast.py)."""
    if method == "sum_to_size":
        return
    dims = [a.value for a in args if a.keyword is None or a.keyword.value == "dim"]
    if not dims or len(dims) == 1 and _leading_dims(dims[0]):
        return
    raise Refusal("FGI103", f"backward reduces over dimensions autograd's broadcasting would not: "
                  f"{code_of(node)[:60]}", node)


def _index_code(node: cst.Subscript) -> str:
    return "".join(code_of(element) for element in node.slice).replace(" ", "")


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Attribute, cst.Subscript, cst.Call)):
        node = node.value if not isinstance(node, cst.Call) else node.func
    return node.value if isinstance(node, cst.Name) else None


def _decorator_name(decorator: cst.Decorator) -> str:
    node = decorator.decorator
    if isinstance(node, cst.Call):
        node = node.func
    return (dotted_name(node) or "").split(".")[-1]


def _in_place(before: Value | None, after: Value) -> Value:
    """Mark the operation an in-place update (`grad *= g`, `grad.mul_(g)`) added to a chain:
    its result keeps the gradient's dtype where `grad * g` would promote it (a float32
    grad_output times a float64 factor), so the emitter must round like it (found by
    tests/test_fuzz_equivalence.py)."""
    if isinstance(before, Linear) and isinstance(after, Linear) and before.chain is not None \
            and after.chain is not None and len(after.chain) == len(before.chain) + 1:
        return replace(after, chain=(*after.chain[:-1], replace(after.chain[-1], in_place=True)))
    return after


def _contains_linear(value: Value) -> bool:
    if isinstance(value, Linear):
        return True
    if isinstance(value, TupleValue):
        return any(_contains_linear(v) for v in value.items)
    return False


def _mark_interprocedural(value: Value) -> Value:
    if isinstance(value, Linear):
        return replace(value, interprocedural=True)
    if isinstance(value, TupleValue):
        return TupleValue(tuple(_mark_interprocedural(v) for v in value.items))
    return value


@overload
def _merge(a: Value, b: Value | None) -> Value: ...


@overload
def _merge(a: Value | None, b: Value | None) -> Value | None: ...


def _merge(a: Value | None, b: Value | None) -> Value | None:
    """Join two values reaching the same point on different paths."""
    if a is None or b is None:
        return a if b is None else b
    if a is b or a == b:
        return a
    if isinstance(a, TupleValue) and isinstance(b, TupleValue) and len(a.items) == len(b.items):
        return TupleValue(tuple(_merge(x, y) or Const() for x, y in zip(a.items, b.items, strict=True)))
    if isinstance(a, Linear) or isinstance(b, Linear):
        lin = a if isinstance(a, Linear) else b
        assert isinstance(lin, Linear)
        other = b if lin is a else a
        if isinstance(other, Linear):
            if other.chain is not None and lin.chain is not None and _same_chain(lin, other):
                return lin
            return lin.opaque("differs between branches", smooth=other.smooth)
        if isinstance(other, Const) and (other.is_none or _is_zero(other.node)):
            return lin if lin.chain is not None and other.is_none else lin.opaque("differs between branches")
        return lin.opaque("differs between branches")
    return Const()


def _same_chain(a: Linear, b: Linear) -> bool:
    if a.chain is None or b.chain is None or len(a.chain) != len(b.chain):
        return False
    return all(x.op == y.op and (x.operand is None or y.operand is not None and x.operand.deep_equals(y.operand))
               for x, y in zip(a.chain, b.chain, strict=True)) and (a.reduced is None) == (b.reduced is None)


def merge_all(values: list[Value]) -> Value:
    result: Value | None = None
    for value in values:
        result = _merge(result, value)
    return result or Const()

"""What verify can tell statically about realistic inputs (libcst only: no torch, no user code).

From forward: the value domain an input needs (`torch.bernoulli(x)`: probabilities; `x.log()`:
positive; an input used only as a mask or a spike: 0/1), the constants and inputs it is
compared with or shifted by (`x >= 0.3`, `x - thr`: values near them show a moved threshold),
and the rank it needs (`x[:, t]`, `x.shape[2]`, `T, B, C = x.shape`).

From call sites (`Cls.apply(...)`, or a name bound to `Cls.apply`): literal shapes
(`torch.zeros(4, 3, 8)`) and which hyper-parameters are tensors (`torch.tensor(2.0)`,
`self.alpha` bound to `nn.Parameter(...)`), and whether they require grad.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from fgi_rewrite.analysis.discovery import code_of, dotted_name

PROBABILITY_CALLS = ("bernoulli", "Bernoulli", "RelaxedBernoulli")
POSITIVE_CALLS = ("log", "log2", "log10", "sqrt", "rsqrt", "lgamma", "digamma")
RANDOM_CALLS = ("rand", "rand_like")
COMPARE_METHODS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "==", "ne": "!=", "greater": ">",
                   "greater_equal": ">=", "less": "<", "less_equal": "<="}
MASK_METHODS = ("bool", "byte", "logical_not")
KEEPING_CALLS = ("save_for_backward", "save_for_forward", "mark_non_differentiable")
# Calls that take a dimension: the input needs rank > dim.
DIM_METHODS = ("size", "sum", "mean", "amax", "amin", "max", "min", "cumsum", "softmax", "unbind", "select",
               "narrow", "flatten", "squeeze", "split", "chunk", "flip", "roll", "argmax", "std", "var", "prod")
TENSOR_FACTORIES = ("tensor", "as_tensor", "zeros", "ones", "full", "randn", "rand", "empty", "arange",
                    "linspace", "logspace", "eye", "from_numpy", "randint", "normal")
SHAPED_FACTORIES = ("zeros", "ones", "randn", "rand", "empty", "full")
SAME_TENSOR_METHODS = ("to", "float", "double", "half", "cuda", "cpu", "detach", "clone", "contiguous", "type",
                       "bfloat16", "requires_grad_")


@dataclass
class ForwardUse:
    """What forward tells about one input."""

    domain: str | None = None  # "probability", "positive", "spikes"
    domain_origin: str = ""
    near: list[float] = field(default_factory=list)
    near_inputs: list[str] = field(default_factory=list)
    near_origin: list[str] = field(default_factory=list)
    min_rank: int = 0
    exact_rank: int | None = None
    rank_origin: str = ""


@dataclass
class SiteArgument:
    """One argument at one call site."""

    source: str
    literal: str | None = None  # a number, string or bool literal, as written
    tensor: bool = False
    requires_grad: bool = False
    value: float | None = None  # the number inside a 0-d tensor (torch.tensor(2.0))
    shape: tuple[int, ...] | None = None  # torch.zeros(4, 3, 8)
    why: str = ""  # how it was found to be a tensor


def _number(node: cst.BaseExpression, constants: dict[str, float] | None = None) -> float | None:
    """A number literal (a sign and a module constant included)."""
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        inner = _number(node.expression, constants)
        return None if inner is None else (-inner if isinstance(node.operator, cst.Minus) else inner)
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return float(node.evaluated_value)
        except (ValueError, OverflowError):
            return None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
        top, bottom = _number(node.left, constants), _number(node.right, constants)
        return top / bottom if top is not None and bottom else None
    name = dotted_name(node)
    if constants and name in constants:
        return constants[name]
    return None


def module_constants(module: cst.Module) -> dict[str, float]:
    """`THRESHOLD = 0.3` at module level and `thr = 0.3` in a top-level class (as `Cls.thr`)."""
    found: dict[str, float] = {}

    def read(body: Any, prefix: str) -> None:
        for statement in body:
            if isinstance(statement, cst.ClassDef) and not prefix and isinstance(statement.body, cst.IndentedBlock):
                read(statement.body.body, statement.name.value + ".")
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                        and isinstance(small.targets[0].target, cst.Name):
                    value = _number(small.value)
                    if value is not None:
                        found[prefix + small.targets[0].target.value] = value

    read(module.body, "")
    return found


def _is_input(node: cst.CSTNode, names: frozenset[str]) -> str | None:
    return node.value if isinstance(node, cst.Name) and node.value in names else None


def _short(node: cst.BaseExpression) -> str:
    """The last part of a called name: torch.bernoulli -> bernoulli, x.log -> log."""
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return node.value if isinstance(node, cst.Name) else ""


class _Forward(cst.CSTVisitor):
    """Uses of each input in forward, read in source order until the name is rebound."""

    def __init__(self, names: frozenset[str], constants: dict[str, float]) -> None:
        self.names = names
        self.constants = constants
        self.uses = {name: ForwardUse() for name in names}
        self.rebound: set[str] = set()
        self.mask_only = {name: True for name in names}
        self.mask_uses = {name: 0 for name in names}
        self.strong_mask_uses = {name: 0 for name in names}  # s.bool(), s == 1: a 0/1 tensor for sure
        self.stack: list[cst.CSTNode] = []
        self.depth = 0

    def live(self, node: cst.CSTNode) -> str | None:
        name = _is_input(node, self.names)
        return name if name is not None and name not in self.rebound else None

    # Parents, for the mask/spike test of each use.
    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            self.depth += 1
            if self.depth > 1:
                return False
        self.stack.append(node)
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        super().on_leave(original_node)
        if self.stack and self.stack[-1] is original_node:
            self.stack.pop()
        if isinstance(original_node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            self.depth -= 1

    def _bind(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name) and target.value in self.names:
            self.rebound.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            self._bind(target.target)
        self._unpacked_shape(original_node)

    def leave_AugAssign(self, original_node: cst.AugAssign) -> None:
        self._bind(original_node.target)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if original_node.value is not None:
            self._bind(original_node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target)

    # Domains and rank.
    def visit_Name(self, node: cst.Name) -> None:
        name = self.live(node)
        if name is None or len(self.stack) < 2:
            return
        parent = self.stack[-2]
        if isinstance(parent, cst.Param) or isinstance(parent, cst.Attribute) and parent.attr is node \
                or isinstance(parent, cst.Arg) and parent.keyword is node:
            return  # a parameter, an attribute or a keyword that happens to share the name
        kind = self._mask_context(node)
        if kind == "neutral":
            return
        if kind in ("mask", "strong mask"):
            self.mask_uses[name] += 1
            self.strong_mask_uses[name] += kind == "strong mask"
        else:
            self.mask_only[name] = False

    def _mask_context(self, node: cst.Name) -> str:
        """"strong mask" for a 0/1 use (`s.bool()`, `s == 1`), "mask" for one a spike would have
        (`1 - s`, `v - s * thr`), "neutral" where forward only keeps it (ctx.save_for_backward(s),
        ctx.s = s, s is None), else "value"."""
        parents = self.stack[-2::-1]
        parent = parents[0]
        grand = parents[1] if len(parents) > 1 else None
        if isinstance(parent, cst.Attribute):
            method = parent.attr.value
            if isinstance(grand, cst.Call) and grand.func is parent and \
                    (method in MASK_METHODS or method == "to" and any(
                        (dotted_name(arg.value) or "").split(".")[-1] == "bool" for arg in grand.args)):
                return "strong mask"
            return "value"
        if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call) and _short(grand.func) in KEEPING_CALLS:
            return "neutral"
        if isinstance(parent, cst.Assign) and all(isinstance(t.target, cst.Attribute) for t in parent.targets):
            return "neutral"
        comparison = grand if isinstance(parent, cst.ComparisonTarget) else parent
        if isinstance(comparison, cst.Comparison):
            if any(isinstance(t.operator, (cst.Is, cst.IsNot)) for t in comparison.comparisons):
                return "neutral"  # s is not None: asks whether it was given
            operands = [comparison.left] + [t.comparator for t in comparison.comparisons]
            equality = len(operands) == 2 and isinstance(comparison.comparisons[0].operator, (cst.Equal, cst.NotEqual))
            other = operands[1] if operands[0] is node else operands[0]
            return "strong mask" if equality and _number(other) in (0.0, 1.0) else "value"
        if isinstance(parent, cst.BinaryOperation):
            if isinstance(parent.operator, cst.Subtract) and parent.right is node and _number(parent.left) == 1.0:
                return "mask"  # 1 - s: the not-spiked factor of a reset, v * (1 - s)
            if isinstance(parent.operator, cst.Multiply):
                child: cst.CSTNode = parent  # v - s * thr: a reset by subtraction
                for outer in parents[1:]:
                    if isinstance(outer, cst.BinaryOperation) and isinstance(outer.operator, cst.Multiply):
                        child = outer
                        continue
                    if isinstance(outer, cst.BinaryOperation) and isinstance(outer.operator, cst.Subtract) \
                            and outer.right is child:
                        return "mask"
                    break
        return "value"

    def visit_Call(self, node: cst.Call) -> None:
        short = _short(node.func)
        args = node.args
        receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
        receiver_name = self.live(receiver) if receiver is not None else None
        first = self.live(args[0].value) if args and args[0].keyword is None else None
        keyword = next((self.live(a.value) for a in args if a.keyword is not None
                        and a.keyword.value in ("input", "probs", "p")), None)
        subject = receiver_name if receiver_name is not None and not _is_module(receiver) else first or keyword
        text = _text(node)
        if short == "bernoulli_":
            subject = first  # torch.empty_like(x).bernoulli_(p): p is the probability
        if short in PROBABILITY_CALLS + ("bernoulli_",) and subject is not None:
            self._domain(subject, "probability", text)
        elif short in POSITIVE_CALLS and subject is not None:
            self._domain(subject, "positive", text)
        elif short == "pow" and subject is not None:
            exponent = args[0].value if receiver_name is not None and args else args[1].value if len(args) > 1 else None
            if exponent is not None and _fractional(exponent):
                self._domain(subject, "positive", text)
        if short in COMPARE_METHODS and len(args) >= 1:
            pair = (receiver, args[0].value) if receiver is not None and not _is_module(receiver) else \
                (args[0].value, args[1].value) if len(args) > 1 else None
            if pair is not None:
                self._compared(pair[0], pair[1], text)
        if receiver_name is not None:
            self._rank_from_method(receiver_name, short, args, text)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        text = _text(node)
        if isinstance(node.operator, cst.Power):
            name = self.live(node.left)
            if name is not None and _fractional(node.right):
                self._domain(name, "positive", text)
        if isinstance(node.operator, (cst.Subtract, cst.Add)):
            self._compared(node.left, node.right, text, negate=isinstance(node.operator, cst.Add))

    def visit_Comparison(self, node: cst.Comparison) -> None:
        text = _text(node)
        left = node.left
        for target in node.comparisons:
            self._compared(left, target.comparator, text)
            # rand_like(p) < p: a Bernoulli draw of p, which must be a probability.
            for this, other in ((left, target.comparator), (target.comparator, left)):
                name = self.live(this)
                if name is not None and isinstance(other, cst.Call) and _short(other.func) in RANDOM_CALLS:
                    self._domain(name, "probability", text)
            left = target.comparator

    def visit_Subscript(self, node: cst.Subscript) -> None:
        name = self.live(node.value)
        if name is not None:
            elements = [e.slice for e in node.slice]
            counted = [e for e in elements if not (isinstance(e, cst.Index) and (
                isinstance(e.value, cst.Ellipsis) or isinstance(e.value, cst.Name) and e.value.value == "None"))]
            if len(counted) > 1:  # x[t] fits every rank; x[:, t] needs two dimensions
                self._rank(name, len(counted), _text(node))
        # x.shape[2], x.size()[2]
        base = node.value
        if isinstance(base, cst.Call) and isinstance(base.func, cst.Attribute) and base.func.attr.value == "size" \
                and not base.args:
            base = base.func
        if isinstance(base, cst.Attribute) and base.attr.value in ("shape", "size"):
            owner = self.live(base.value)
            index = node.slice[0].slice if len(node.slice) == 1 else None
            if owner is not None and isinstance(index, cst.Index):
                dim = _number(index.value)
                if dim is not None and dim == int(dim):
                    self._rank(owner, int(dim) + 1 if dim >= 0 else int(-dim), _text(node))

    def _unpacked_shape(self, node: cst.Assign) -> None:
        """`T, B, C = x.shape` needs rank 3 exactly; `T, B, *rest = x.shape` at least 2."""
        value = node.value
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "size" \
                and not value.args:
            value = value.func
        if not (isinstance(value, cst.Attribute) and value.attr.value in ("shape", "size")):
            return
        owner = _is_input(value.value, self.names)
        if owner is None:
            return
        for target in node.targets:
            if isinstance(target.target, (cst.Tuple, cst.List)):
                elements = target.target.elements
                starred = any(isinstance(e, cst.StarredElement) for e in elements)
                count = len(elements) - starred
                self._rank(owner, count, _text(node), exact=not starred)

    def _rank_from_method(self, name: str, method: str, args: Any, text: str) -> None:
        if any(a.star for a in args):
            return  # x.permute(*order): nothing to count
        positional = [a.value for a in args if a.keyword is None]
        dims = [a.value for a in args if a.keyword is not None and a.keyword.value in ("dim", "dim0", "dim1")]
        if method == "permute":
            order = positional[0].elements if len(positional) == 1 and isinstance(
                positional[0], (cst.Tuple, cst.List)) else positional
            self._rank(name, len(order), text, exact=True)
            return
        if method in ("transpose", "swapaxes", "movedim"):
            dims += positional
        elif method in ("split", "chunk"):
            dims += positional[1:2]  # x.split(size, dim)
        elif method in DIM_METHODS:
            dims += positional[:1]
        for dim in dims:
            value = _number(dim)
            if value is not None and value == int(value):
                self._rank(name, int(value) + 1 if value >= 0 else int(-value), text)

    def _rank(self, name: str, rank: int, text: str, exact: bool = False) -> None:
        use = self.uses[name]
        if exact and use.exact_rank is None:
            use.exact_rank = rank
        if rank > use.min_rank:
            use.min_rank, use.rank_origin = rank, text

    def _domain(self, name: str, domain: str, text: str) -> None:
        use = self.uses[name]
        order = ("probability", "positive")
        if use.domain is None or order.index(domain) < order.index(use.domain):
            use.domain, use.domain_origin = domain, text

    def _compared(self, left: cst.BaseExpression, right: cst.BaseExpression, text: str, negate: bool = False) -> None:
        """x OP c, x - c, c - x: x near c (x + c: near -c); x - y for two inputs: each near the other."""
        for this, other in ((left, right), (right, left)):
            name = self.live(this)
            if name is None:
                continue
            use = self.uses[name]
            value = _number(other, self.constants)
            other_name = _is_input(other, self.names)
            if value is not None and value != 0:
                value = -value if negate else value
                if value not in use.near:
                    use.near.append(value)
                    use.near_origin.append(text)
            elif other_name is not None and other_name != name and not negate and other_name not in use.near_inputs:
                use.near_inputs.append(other_name)
                use.near_origin.append(text)


def _text(node: cst.CSTNode, limit: int = 60) -> str:
    """Source of a node for a description, without its outer parentheses."""
    if getattr(node, "lpar", None):
        node = node.with_changes(lpar=[], rpar=[])
    return code_of(node)[:limit]


def _is_module(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value in ("torch", "th", "F", "math", "np") or \
        isinstance(node, cst.Attribute) and (dotted_name(node) or "").startswith(("torch.", "th."))


def _contains(tree: cst.CSTNode, node: cst.CSTNode) -> bool:
    if tree is node:
        return True
    return any(_contains(child, node) for child in tree.children)


def _fractional(node: cst.BaseExpression) -> bool:
    value = _number(node)
    return value is not None and value != int(value)


def forward_uses(forward: cst.FunctionDef | None, names: list[str], constants: dict[str, float] | None = None,
                 differentiable: frozenset[str] = frozenset()) -> dict[str, ForwardUse]:
    """Domain, nearby constants and rank of each input, as forward uses them. A differentiable
    input is taken for a spike only on strong evidence (`s.bool()`, `s == 1`): `1 - x` alone
    would shrink a membrane potential's test values to 0 and 1."""
    names_set = frozenset(names)
    visitor = _Forward(names_set, constants or {})
    if forward is not None:
        forward.visit(visitor)
    uses = visitor.uses
    for name in names:
        evidence = visitor.strong_mask_uses[name] if name in differentiable else visitor.mask_uses[name]
        if uses[name].domain is None and visitor.mask_only[name] and evidence:
            uses[name].domain, uses[name].domain_origin = "spikes", "used only as a 0/1 mask or spike"
    return uses


# ---------------------------------------------------------------------------------------- call sites


class _Scopes(cst.CSTVisitor):
    """Assignments by scope (module, each function, each class's `self.` attributes) and the
    `Cls.apply(...)` calls with the scopes they were made in."""

    def __init__(self) -> None:
        self.module: dict[str, cst.BaseExpression] = {}
        self.functions: list[dict[str, cst.BaseExpression | None]] = []
        self.classes: list[dict[str, cst.BaseExpression]] = []
        self.calls: list[tuple[cst.Call, dict[str, cst.BaseExpression | None], dict[str, cst.BaseExpression]]] = []
        self.aliases: dict[str, str] = {}  # spike = Cls.apply / self.spike = Cls.apply -> "spike" -> "Cls"

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append({})

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # A wrapper's parameter stands for what its callers pass: its default when it has one
        # (def spike(x, alpha=2.0): return Spike.apply(x, alpha)), else nothing known (None).
        params = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]
        self.functions.append({p.name.value: None if p.default is None or code_of(p.default) == "None" else p.default
                               for p in params})

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._assign(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assign(node.target, node.value)

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        owner = _apply_owner(value)
        if isinstance(target, cst.Name):
            scope = self.functions[-1] if self.functions else self.module
            scope.setdefault(target.value, value)
            if owner is not None:
                self.aliases[target.value] = owner
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
            if self.classes:
                self.classes[-1].setdefault(target.attr.value, value)
            if owner is not None:
                self.aliases["self." + target.attr.value] = owner

    def visit_Call(self, node: cst.Call) -> None:
        # self.register_buffer("alpha", torch.tensor(2.0)): a tensor attribute.
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "register_buffer" and self.classes \
                and len(node.args) >= 2 and isinstance(node.args[0].value, cst.SimpleString):
            name = node.args[0].value.evaluated_value
            if isinstance(name, str):
                self.classes[-1].setdefault(name, node.args[1].value)
        function = self.functions[-1] if self.functions else {}
        attributes = self.classes[-1] if self.classes else {}
        self.calls.append((node, function, attributes))


def _apply_owner(node: cst.BaseExpression) -> str | None:
    """`Cls.apply` / `Cls().apply` / `pkg.Cls.apply` -> "Cls"."""
    if not (isinstance(node, cst.Attribute) and node.attr.value == "apply"):
        return None
    owner = node.value.func if isinstance(node.value, cst.Call) else node.value
    name = owner.attr.value if isinstance(owner, cst.Attribute) else getattr(owner, "value", None)
    return name if isinstance(name, str) else None


def _called_class(call: cst.Call, aliases: dict[str, str]) -> str | None:
    owner = _apply_owner(call.func)
    if owner is not None:
        return owner
    name = dotted_name(call.func)
    return aliases.get(name) if name is not None else None


def _describe(node: cst.BaseExpression, function: dict[str, cst.BaseExpression | None],
              attributes: dict[str, cst.BaseExpression], module: dict[str, cst.BaseExpression],
              depth: int = 0) -> SiteArgument:
    """What one call-site argument is: a literal, a tensor (requiring grad or not), its shape."""
    source, where = _text(node), ""
    literal = node.expression if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) else node
    if isinstance(literal, (cst.Integer, cst.Float, cst.SimpleString)) or \
            isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return SiteArgument(source, literal=code_of(node))
    if depth > 4:
        return SiteArgument(source)
    resolved: cst.BaseExpression | None = None
    if isinstance(node, cst.Name):
        resolved = function[node.value] if node.value in function else module.get(node.value)
        where = f"{node.value} = "
    elif isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        resolved = attributes.get(node.attr.value)
        where = f"self.{node.attr.value} = "
    if resolved is not None and resolved is not node:
        found = _describe(resolved, function, attributes, module, depth + 1)
        found.source = source
        if found.tensor:
            found.why = where + found.why if not found.why.startswith(where) else found.why
        return found
    if isinstance(node, cst.Call):
        name = dotted_name(node.func) or ""
        short = name.split(".")[-1]
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        requires = "requires_grad" in keywords and code_of(keywords["requires_grad"]) == "True"
        if short == "Parameter":
            inner = _describe(positional[0], function, attributes, module, depth + 1) if positional else None
            off = "requires_grad" in keywords and code_of(keywords["requires_grad"]) == "False"
            return SiteArgument(source, tensor=True, requires_grad=not off,
                                value=inner.value if inner else None, shape=inner.shape if inner else None,
                                why=code_of(node)[:50])
        if isinstance(node.func, cst.Attribute) and not name.startswith(("torch.", "th.", "nn.")) \
                and short in SAME_TENSOR_METHODS:
            inner = _describe(node.func.value, function, attributes, module, depth + 1)
            if inner.tensor:
                inner.source = source
                inner.requires_grad = inner.requires_grad or short == "requires_grad_" or requires
                return inner
            return SiteArgument(source)
        if name.startswith(("torch.", "th.")) or short in TENSOR_FACTORIES and name == short:
            found = SiteArgument(source, tensor=True, requires_grad=requires, why=code_of(node)[:50])
            if short in ("tensor", "as_tensor") and positional:
                found.value = _number(positional[0])
                if found.value is not None:
                    found.shape = ()
            elif short in SHAPED_FACTORIES and positional:
                found.shape = _literal_shape(positional[:1] if short == "full" else positional)
            return found
    if isinstance(node, cst.BinaryOperation):
        for side in (node.left, node.right):
            found = _describe(side, function, attributes, module, depth + 1)
            if found.tensor:
                return SiteArgument(source, tensor=True, requires_grad=found.requires_grad, shape=None, why=found.why)
    return SiteArgument(source)


def _literal_shape(values: list[cst.BaseExpression]) -> tuple[int, ...] | None:
    if len(values) == 1 and isinstance(values[0], (cst.Tuple, cst.List)):
        values = [e.value for e in values[0].elements]
    sizes = [_number(v) for v in values]
    if not sizes or any(s is None or s != int(s) or s < 0 for s in sizes):
        return None
    return tuple(int(s) for s in sizes)  # type: ignore[arg-type]


def call_sites(module: cst.Module) -> dict[str, dict[int, list[SiteArgument]]]:
    """Class name -> argument position -> what each call site passes there."""
    scopes = _Scopes()
    module.visit(scopes)
    found: dict[str, dict[int, list[SiteArgument]]] = {}
    for call, function, attributes in scopes.calls:
        owner = _called_class(call, scopes.aliases)
        if owner is None:
            continue
        for position, arg in enumerate(call.args):
            if arg.keyword is not None or arg.star:
                break
            found.setdefault(owner, {}).setdefault(position, []).append(
                _describe(arg.value, function, attributes, scopes.module))
    return found

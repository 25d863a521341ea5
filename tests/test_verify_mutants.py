"""Mutation test of `verify`: every mechanical mutant of the emitter's own FGI functions is caught.

The current emitter (`rewrite_module`) rewrites a few fixtures of different kinds; operators
(libcst) change the emitted FGI function in one place each: drop a `.detach()`, a cast or a
`sum_to_size`, change a numeric constant, swap the operands of `-`, turn `*` into `/` (and back),
`+` into `-`, flip a comparison, delete a rebinding line (the carrier, a cast line, `x =
x.detach()`), unwrap `with torch.no_grad()`, return the carrier instead of the value, draw a
random tensor once more. Each mutant is its own module in one twin tree beside an unchanged
copy of the fixture, and ONE verify run (`--against`) judges them all. A mutant must be
`different` or `error`; one that is provably equivalent is listed in EQUIVALENT with why.
Score = killed / (total - listed equivalent), asserted to be 100%.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import pytest
from click.testing import CliRunner

from fgi_rewrite.cli import main
from fgi_rewrite.rewrite import RewriteOptions, rewrite_module

pytest.importorskip("torch")

FIXTURES = Path(__file__).parent.parent / "fixtures"
# One fixture per kind: a surrogate spike with a hyper-parameter, a straight-through estimator,
# a learnable threshold (two differentiable inputs, broadcast), a probe-path class (backward
# through a helper), a tensor hyper-parameter whose backward returns None, and a stochastic spike
# (RNG, a chain of casts).
KINDS = {
    "fast_sigmoid_legacy": "surrogate spike, float hyper-parameter",
    "round_ste_quantizer": "straight-through estimator",
    "learnable_threshold": "learnable threshold, broadcast (probe path)",
    "masked_fill_piecewise": "probe path through a helper",
    "hyper_tensor_requires_grad_none": "tensor hyper-parameter, backward returns None for it",
    "bernoulli_stochastic": "stochastic spike (RNG)",
}
# float64 kills the dropped outer casts (the value is float32 there), bfloat16 the inner ones;
# float32 kills nothing these two do not.
DTYPES = ("float64", "bfloat16")

# Mutants that compute what the original computes, with why. Keyed by "fixture:operator:first
# line of what was changed" (see Mutant.key). "Read only under no_grad or by a comparison": the
# emitter detaches an input at the top of the function, but every later use of the detached name
# is a comparison (no gradient), a factor computed under torch.no_grad(), or a value that is
# detached again; the input's graph goes through the `_in` name alone.
_REDUNDANT_DETACH = "the detached input is read only by a comparison, under no_grad, or into a value detached again"
_VALUE_NO_GRAD = "value is computed from detached inputs (comparison, round, masked constant): it never requires grad"
_FACTOR_NO_GRAD = "the factor reads only detached tensors and Python floats: it requires no grad without no_grad either"
EQUIVALENT: dict[str, str] = {
    "fast_sigmoid_legacy:drop-detach:membrane.detach()": _REDUNDANT_DETACH,
    "fast_sigmoid_legacy:drop-detach:value.detach()": _VALUE_NO_GRAD,
    "fast_sigmoid_legacy:drop-sum-to-size:inj.sum_to_size(value.shape)":
        "slope is a float at the only call site (fast_sigmoid(slope=25.0)): the carrier has value's shape already "
        "(a tensor slope broadcasting beyond x would differ: corpus case emitter_shape_hyper_broadcast)",
    "fast_sigmoid_legacy:unwrap-no-grad:with torch.no_grad():": _FACTOR_NO_GRAD,
    "round_ste_quantizer:drop-detach:x.detach()": _REDUNDANT_DETACH,
    "round_ste_quantizer:drop-detach:value.detach()": _VALUE_NO_GRAD,
    "round_ste_quantizer:drop-cast:x_in.to(value.dtype)":
        "value has x's dtype (levels is an int at the call site): the cast is the identity",
    "learnable_threshold:drop-detach:v.detach()": _REDUNDANT_DETACH,
    "learnable_threshold:drop-detach:threshold.detach()": _REDUNDANT_DETACH,
    "learnable_threshold:drop-detach:value.detach()": _VALUE_NO_GRAD,
    "learnable_threshold:drop-sum-to-size:inj.sum_to_size(value.shape)":
        "value = (v - threshold > 0) has the broadcast shape of both carrier terms already (alpha is a float)",
    "learnable_threshold:swap-sub:(v - threshold)":
        "the difference is squared, and IEEE subtraction is exactly antisymmetric: (t - v)**2 == (v - t)**2",
    "learnable_threshold:unwrap-no-grad:with torch.no_grad():": _FACTOR_NO_GRAD,
    "masked_fill_piecewise:drop-detach:x.detach()": _REDUNDANT_DETACH,
    "masked_fill_piecewise:drop-detach:value.detach()": _VALUE_NO_GRAD,
    "masked_fill_piecewise:drop-cast:x_in.to(g[0].dtype)":
        "x_in * g[0] promotes x_in to g[0]'s dtype anyway: the same product, and autograd casts its gradient back "
        "to x's dtype as the explicit cast's backward does",
    "masked_fill_piecewise:drop-sum-to-size:inj.sum_to_size(value.shape)":
        "alpha is a float at the only call site: the carrier has value's shape already",
    "masked_fill_piecewise:unwrap-no-grad:with torch.no_grad():": _FACTOR_NO_GRAD,
    "hyper_tensor_requires_grad_none:drop-detach:mem.detach()": _REDUNDANT_DETACH,
    "hyper_tensor_requires_grad_none:drop-detach:value.detach()": _VALUE_NO_GRAD,
    "bernoulli_stochastic:drop-detach:temperature_value.detach()":
        "temperature is a float at the only call site: the isinstance(..., torch.Tensor) branch never runs",
    "bernoulli_stochastic:drop-detach:value.detach()": _VALUE_NO_GRAD,
    "bernoulli_stochastic:unwrap-no-grad:with torch.no_grad():": _FACTOR_NO_GRAD,
    **{f"bernoulli_stochastic:drop-cast:{site}":
       "every tensor here has x's dtype and temperature is a float: each cast is the identity"
       for site in ("value.to(dtype)", "value.to(dtype2)", "x_in.to(dtype3)",
                    "(x_in.to(dtype3) / temperature_value).to(dtype2)",
                    "((x_in.to(dtype3) / temperature_value).to(dtype2) * g).to(dtype)",
                    "(((x_in.to(dtype3) / temperature_value).to(dtype2) * g).to(dtype) * p).to(value.dtype)")},
}
# Mutants that really compute something else, but within the documented tolerance of a
# probe-path (unsafe) rewrite, 16 ulps: dropping the cast to the promoted dtype rounds the
# gradient twice in bfloat16 (grad_output to bfloat16, then the product) instead of once.
_DOUBLE_ROUNDING = "bfloat16 double rounding, under 16 ulps: within the probe path's documented tolerance"
TOLERATED: dict[str, str] = {
    "learnable_threshold:drop-cast:v_in.to(dtype)": _DOUBLE_ROUNDING,
    "hyper_tensor_requires_grad_none:drop-cast:mem_in.to(dtype)": _DOUBLE_ROUNDING,
}


@dataclass
class Mutant:
    fixture: str
    operator: str
    site: str  # the first line of the source of the node that was changed
    source: str  # the whole mutated module

    @property
    def key(self) -> str:
        return f"{self.fixture}:{self.operator}:{self.site}"


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node).strip()


def _is_call_to(node: cst.CSTNode, attribute: str) -> bool:
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == attribute)


class _Mutator(cst.CSTTransformer):
    """Applies `operator` at its `target`-th site inside `function` (and only there); with
    target -1 it only counts the sites."""

    def __init__(self, function: str, operator: str, target: int) -> None:
        self.function, self.operator, self.target = function, operator, target
        self.depth = 0
        self.count = 0
        self.site: str | None = None
        self.bound: set[str] = set()

    def _hit(self, node: cst.CSTNode) -> bool:
        if self.depth == 0:
            return False
        hit = self.count == self.target
        self.count += 1
        if hit:
            self.site = _code(node).splitlines()[0]
        return hit

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.name.value == self.function:
            self.depth += 1
            self.bound = {p.name.value for p in node.params.params}

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if original.name.value == self.function:
            self.depth -= 1
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        for operator, attribute in (("drop-detach", "detach"), ("drop-cast", "to"),
                                    ("drop-sum-to-size", "sum_to_size")):
            if self.operator == operator and _is_call_to(original, attribute) and self._hit(original):
                assert isinstance(updated.func, cst.Attribute)
                return updated.func.value
        return updated

    def _constant(self, original: cst.Integer | cst.Float, updated: cst.BaseExpression) -> cst.BaseExpression:
        if self.operator == "constant" and self._hit(original):
            if isinstance(original, cst.Integer):
                return cst.Integer(str(int(original.value) + 1))
            return cst.Float(repr(float(original.value) + 1.0))
        return updated

    def leave_Integer(self, original: cst.Integer, updated: cst.Integer) -> cst.BaseExpression:
        return self._constant(original, updated)

    def leave_Float(self, original: cst.Float, updated: cst.Float) -> cst.BaseExpression:
        return self._constant(original, updated)

    def leave_BinaryOperation(self, original: cst.BinaryOperation,
                              updated: cst.BinaryOperation) -> cst.BaseExpression:
        if self.operator == "swap-sub" and isinstance(original.operator, cst.Subtract) and self._hit(original):
            return updated.with_changes(left=updated.right, right=updated.left)
        swaps: dict[str, tuple[type, Callable[[], cst.BaseBinaryOp]]] = {
            "mul-to-div": (cst.Multiply, cst.Divide), "div-to-mul": (cst.Divide, cst.Multiply),
            "add-to-sub": (cst.Add, cst.Subtract),
        }
        if self.operator in swaps:
            kind, replacement = swaps[self.operator]
            if isinstance(original.operator, kind) and self._hit(original):
                return updated.with_changes(operator=replacement())
        return updated

    def leave_Comparison(self, original: cst.Comparison, updated: cst.Comparison) -> cst.BaseExpression:
        flips: dict[type, Callable[[], cst.BaseCompOp]] = {
            cst.GreaterThan: cst.GreaterThanEqual, cst.GreaterThanEqual: cst.GreaterThan,
            cst.LessThan: cst.LessThanEqual, cst.LessThanEqual: cst.LessThan,
        }
        first = original.comparisons[0].operator
        if self.operator == "flip-comparison" and type(first) in flips and self._hit(original):
            target = updated.comparisons[0]
            return updated.with_changes(comparisons=[target.with_changes(operator=flips[type(first)]()),
                                                     *updated.comparisons[1:]])
        return updated

    def leave_Return(self, original: cst.Return, updated: cst.Return) -> cst.Return:
        if self.operator == "return-carrier" and self.depth and "inj" in self.bound and self._hit(original):
            return updated.with_changes(value=cst.Name("inj"))
        return updated

    def leave_With(self, original: cst.With, updated: cst.With) -> cst.BaseStatement | cst.FlattenSentinel:
        is_no_grad = any(_code(item.item).endswith("no_grad()") for item in original.items)
        if self.operator == "unwrap-no-grad" and is_no_grad and self._hit(original):
            assert isinstance(updated.body, cst.IndentedBlock)
            return cst.FlattenSentinel(updated.body.body)
        return updated

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
                                  ) -> cst.BaseStatement | cst.FlattenSentinel:
        statement = original.body[0]
        target = None
        if isinstance(statement, cst.Assign) and len(statement.targets) == 1 and \
                isinstance(statement.targets[0].target, cst.Name):
            target = statement.targets[0].target.value
        if self.depth and target is not None:
            rebinding = target in self.bound
            self.bound.add(target)
            # `x = x.detach()` and `inj = inj.sum_to_size(...)`: drop-detach / drop-sum-to-size make those.
            covered = isinstance(statement, cst.Assign) and any(
                _is_call_to(statement.value, name) and _code(statement.value).startswith(f"{target}.")
                for name in ("detach", "sum_to_size"))
            if self.operator == "delete-rebinding" and rebinding and not covered and self._hit(original):
                return cst.SimpleStatementLine([cst.Pass()])
        if self.operator == "extra-draw" and self.depth and isinstance(statement, cst.Assign):
            draws = [node for node in _calls(statement.value)
                     if _code(node.func).split(".")[-1] in ("bernoulli", "rand", "rand_like", "randn", "randn_like")]
            if draws and self._hit(original):
                return cst.FlattenSentinel([updated, cst.SimpleStatementLine([cst.Expr(draws[0])])])
        return updated


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(Calls())
    return found


OPERATORS = ("drop-detach", "drop-cast", "drop-sum-to-size", "constant", "swap-sub", "mul-to-div", "div-to-mul",
             "add-to-sub", "flip-comparison", "delete-rebinding", "unwrap-no-grad", "return-carrier", "extra-draw")


def emitted(fixture: str) -> tuple[cst.Module, str]:
    """The current emitter's output for the fixture and the name of its FGI function."""
    result = rewrite_module((FIXTURES / f"{fixture}.py").read_bytes(), RewriteOptions(unsafe_fixes=True))
    (outcome,) = [o for o in result.outcomes if o.outcome == "rewritten"]
    assert outcome.function
    return cst.parse_module(result.source), outcome.function


def mutants(fixture: str) -> list[Mutant]:
    module, function = emitted(fixture)
    found = []
    for operator in OPERATORS:
        counter = _Mutator(function, operator, -1)
        module.visit(counter)
        for target in range(counter.count):
            mutator = _Mutator(function, operator, target)
            mutated = module.visit(mutator)
            assert mutator.site is not None
            found.append(Mutant(fixture, operator, mutator.site, mutated.code))
    keys = [m.key for m in found]
    for position, mutant in enumerate(found):  # the same text at two sites: number them
        if keys.count(mutant.key) > 1:
            mutant.site += f" #{keys[:position].count(mutant.key) + 1}"
    return found


ALL = [m for fixture in KINDS for m in mutants(fixture)]


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """One verify run: module m<N>_<fixture> holds the fixture unchanged on the original side and
    mutant N on the twin side; c_<fixture> holds the unmutated emitter output (the control)."""
    tmp = tmp_path_factory.mktemp("mutants")
    original, twin = tmp / "project", tmp / "twin"
    original.mkdir()
    twin.mkdir()
    names: dict[str, str] = {}
    for fixture in KINDS:
        source = (FIXTURES / f"{fixture}.py").read_text(encoding="utf-8")
        (original / f"c_{fixture}.py").write_text(source)
        (twin / f"c_{fixture}.py").write_text(emitted(fixture)[0].code)
        names[f"c_{fixture}"] = f"control:{fixture}"
    for number, mutant in enumerate(ALL):
        module = f"m{number}_{mutant.fixture}"
        (original / f"{module}.py").write_text((FIXTURES / f"{mutant.fixture}.py").read_text(encoding="utf-8"))
        (twin / f"{module}.py").write_text(mutant.source)
        names[module] = mutant.key
    options = [item for dtype in DTYPES for item in ("--dtype", dtype)]
    result = CliRunner().invoke(main, ["verify", "--unsafe-fixes", "--compat", "none", "--format", "json",
                                       "--against", str(twin), *options, str(original)])
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"verify gave no JSON (exit {result.exit_code}):\n{result.output[-3000:]}") from None
    return {names[Path(entry["path"]).stem]: entry for entry in document["functions"]}


def test_every_kind_gives_mutants_of_several_operators() -> None:
    for fixture in KINDS:
        operators = {m.operator for m in ALL if m.fixture == fixture}
        assert len(operators) >= 6, f"{fixture}: only {sorted(operators)}"
    unknown = (set(EQUIVALENT) | set(TOLERATED)) - {m.key for m in ALL}
    assert not unknown, f"EQUIVALENT/TOLERATED entries that name no mutant: {sorted(unknown)}"


def test_the_unmutated_emitter_output_is_equivalent(verdicts: dict[str, dict]) -> None:
    for fixture in KINDS:
        entry = verdicts.get(f"control:{fixture}")
        assert entry is not None and entry["status"] == "equivalent", (fixture, entry and entry["reason"])


def test_verify_kills_every_mutant(verdicts: dict[str, dict]) -> None:
    counted = [m for m in ALL if m.key not in EQUIVALENT and m.key not in TOLERATED]
    survivors = []
    for mutant in counted:
        entry = verdicts.get(mutant.key)
        if entry is None or entry["status"] not in ("different", "error"):
            status = "not verified" if entry is None else f"{entry['status']}: {entry['reason']}"
            survivors.append(f"{mutant.key} -> {status}")
    killed = len(counted) - len(survivors)
    score = killed / len(counted)
    assert not survivors, (f"mutation score {killed}/{len(counted)} = {score:.1%} ({len(ALL)} mutants, "
                           f"{len(EQUIVALENT)} listed equivalent, {len(TOLERATED)} within tolerance); survivors:\n"
                           + "\n".join(survivors))


def test_the_listed_equivalent_mutants_are_equivalent(verdicts: dict[str, dict]) -> None:
    """A verify that called everything `different` would kill every mutant: the mutants listed as
    equivalent (or within tolerance) must be `equivalent`, or the listing's reason is wrong."""
    wrong = [f"{key} -> {entry['status']}: {entry['reason']}" if entry else f"{key} -> not verified"
             for key in (*EQUIVALENT, *TOLERATED)
             if (entry := verdicts.get(key)) is None or entry["status"] != "equivalent"]
    assert not wrong, "\n".join(wrong)

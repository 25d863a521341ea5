"""Fuzzed equivalence: random Function classes (tests/fuzz_classes.py), rewritten, then run.

Property, for every generated class:
- marked non-convertible: the scan refuses it with the code the generator intended, and the
  rewrite leaves the module byte-identical;
- marked convertible: the tool rewrites it (with unsafe fixes allowed); the original, the FGI
  function, the compatibility shim and every call site the generator wrote compute the same
  value bit for bit, and gradients within k ulps (k = 0 for safe fixes, PROBE_ULPS for probed
  ones, 4 for broadcast inputs, as `verify` documents); the original also matches the
  generator's own formulas, so a rewrite that broke both sides alike is caught too; a
  hyper-parameter passed as a tensor that requires grad gets no gradient (None) on any side,
  and static and class methods called through the shim return what the class's return.

Verification runs in this process (exec into fresh namespaces registered with linecache),
not through `fgi-rewrite verify`, which costs seconds per call. Profiles and the number of
examples: tests/conftest.py. Every feature the generator can produce must have been drawn at
least once per run (test_every_generator_feature_was_exercised).
"""

from __future__ import annotations

import itertools
import linecache
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import libcst as cst
from fuzz_classes import FEATURES, Generated, function_classes, truth
from hypothesis import currently_in_test_context, event, find, given, note, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from fgi_rewrite.rewrite import RewriteOptions, rewrite_module
from fgi_rewrite.scan import scan_module
from fgi_rewrite.verify.compare import bits_differ, ulps_apart
from fgi_rewrite.verify.plan import PROBE_ULPS

UNSAFE = RewriteOptions(unsafe_fixes=True)
BROADCAST_ULPS = 4  # verify's floor for reduced gradients: autograd sums in its own order
# The truth repeats the class's own arithmetic in the same dtypes, so it agrees exactly (a
# masked zero may differ in sign, which ulps do not count).
TRUTH_ULPS = 0
SCALES = (1e-3, 0.1, 1.0, 10.0, 1e3)
DTYPES = (torch.float64, torch.float32)

# Features drawn over the whole run (the property test fills it; the last test reads it).
COVERED: Counter[str] = Counter()
_modules = itertools.count()


def _load(source: str, tag: str) -> dict[str, Any]:
    """Execute a module's source in a fresh namespace, registered with linecache under a fake
    file name so tracebacks (and torch.jit) can read it."""
    filename = f"<fuzz-{tag}-{next(_modules)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": f"fuzz_{tag}"}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - running generated code is the test
    return namespace


def _arguments(gen: Generated, dtype: torch.dtype, seed: int) -> list[Any]:
    """Random values at several scales (one per column), the threshold points 0, -0.0, ±1,
    ±0.5 and 1.5, and a tensor threshold equal to x in places, so z is exactly ±0 there."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(6, 5, generator=generator, dtype=torch.float64) * torch.tensor(SCALES, dtype=torch.float64)
    x[0] = torch.tensor([0.0, -0.0, 1.0, -1.0, 0.5], dtype=torch.float64)
    x[1, :2] = torch.tensor([-0.5, 1.5], dtype=torch.float64)
    arguments: list[Any] = []
    for item in gen.inputs:
        if item.kind == "scalar":
            arguments.append(item.value)
            continue
        if item.kind == "scalar_tensor":  # a hyper-parameter backward returns None for
            arguments.append(torch.tensor(item.value, dtype=torch.float64, requires_grad=True))
            continue
        if item.kind == "broadcast":
            value = torch.rand(5, generator=generator, dtype=torch.float64) + 0.5
        elif item.role == "x":
            value = x
        else:
            value = torch.randn(6, 5, generator=generator, dtype=torch.float64)
            value[0] = torch.tensor([0.0, 0.0, 1.0, -1.0, 0.5], dtype=torch.float64)
            value[2] = x[2]
        arguments.append(value.to(dtype, copy=True).requires_grad_(item.differentiable))
    return arguments


def _leaves(arguments: list[Any]) -> list[torch.Tensor]:
    return [a for a in arguments if isinstance(a, torch.Tensor) and a.requires_grad]


def _run(fn: Any, arguments: list[Any], arity: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, list[Any]]:
    """(value, grad_output, gradients of the leaves) for one call; grad_output is seeded, so
    every caller of the same class gets the same one."""
    out = fn(*arguments[:arity])
    grad_output = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed + 1000),
                              dtype=torch.float64).to(out.dtype)
    grads = torch.autograd.grad(out, _leaves(arguments), grad_output, allow_unused=True)
    return out, grad_output, list(grads)


def _assert_same_value(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    assert (a.dtype, a.shape) == (b.dtype, b.shape), f"{what}: {a.dtype} {tuple(a.shape)} vs {b.dtype} {tuple(b.shape)}"
    differ = bits_differ(a.detach(), b.detach())
    assert differ == 0, f"{what}: {differ} elements differ bitwise"


def _assert_gradients(expected: list[Any], got: list[Any], out: torch.Tensor, ulps: int, what: str) -> None:
    assert len(expected) == len(got)
    for position, (a, b) in enumerate(zip(expected, got, strict=True)):
        assert (a is None) == (b is None), f"{what}: gradient {position} is None on one side only"
        if a is None:
            continue
        assert (a.dtype, a.shape) == (b.dtype, b.shape), f"{what}: gradient {position} dtype/shape"
        # grad_output has the value's dtype: a float32 value on float64 inputs makes the
        # original's arithmetic float32-precise (verify/compare.py does the same).
        precision = max((a.dtype, out.dtype), key=lambda d: torch.finfo(d).eps)
        tolerance = ulps if a.shape == out.shape else max(ulps, BROADCAST_ULPS)
        measured = ulps_apart(a.detach(), b.detach(), precision)
        assert measured <= tolerance, \
            f"{what}: gradient {position} differs by {measured:.3g} ulps (tolerance {tolerance})"


def _report_and_outcome(gen: Generated) -> tuple[Any, Any, bytes]:
    data = gen.source.encode()
    module = cst.parse_module(data)
    reports, errors = scan_module(module, data, "fuzz.py")
    assert errors == []
    report = next(r for r in reports if r.qualname == gen.class_name)
    result = rewrite_module(data, UNSAFE, parsed=module)
    outcome = next(o for o in result.outcomes if o.qualname == gen.class_name)
    return report, outcome, result.source


def _check_original_against_truth(gen: Generated, original: dict[str, Any], seed: int) -> None:
    """The generated class computes what the generator meant (its own formulas, no tool)."""
    apply = original[gen.class_name].apply
    for dtype in DTYPES:
        arguments = _arguments(gen, dtype, seed)
        out, grad_output, grads = _run(apply, arguments, len(arguments), seed)
        value, expected = truth(gen, arguments, grad_output)
        _assert_same_value(out, value, f"original {dtype} forward vs the generator's formula")
        # one expected gradient per leaf: None for a hyper-parameter tensor that requires grad
        expected = [None if e is None else e.to(a.dtype) for e, a in zip(expected, arguments, strict=True)
                    if isinstance(a, torch.Tensor) and a.requires_grad]
        _assert_gradients(expected, grads, out, TRUTH_ULPS, f"original {dtype} vs the generator's formula")


def _run_refused(gen: Generated, original: dict[str, Any], seed: int) -> None:
    """A refused class still runs forward and backward: it is refused for what it does, not
    because the generator wrote broken code."""
    arguments = _arguments(gen, torch.float64, seed)
    leaves = _leaves(arguments)
    # mark_dirty forward writes into its input, which autograd allows on non-leaf tensors only.
    call = [a.clone() if isinstance(a, torch.Tensor) and a.requires_grad else a for a in arguments]
    outputs = original[gen.class_name].apply(*call)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    assert len(outputs) == gen.outputs
    if gen.runs == "forward_only":  # a bool or non-differentiable output: backward never runs
        assert not any(o.requires_grad for o in outputs)
        return
    seeds = [torch.ones_like(o) for o in outputs]
    if gen.runs == "backward_raises":
        with pytest.raises((TypeError, AttributeError)):
            torch.autograd.grad(outputs, leaves, seeds, allow_unused=True)
        return
    grads = torch.autograd.grad(outputs, leaves, seeds, allow_unused=True)
    assert grads[0] is not None


def _same_result(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and bits_differ(a, b) == 0
    return type(a) is type(b) and a == b


def _check_members(gen: Generated, original: dict[str, Any], fgi: dict[str, Any]) -> None:
    """Static and class methods reached through the shim return what the class's return."""
    t = _arguments(gen, torch.float64, 0)[0].detach()
    for call in gen.member_calls:
        expected = eval(call, {"C": original[gen.class_name], "t": t})  # noqa: S307 - the generator's own call
        got = eval(call, {"C": fgi[gen.class_name], "t": t})  # noqa: S307
        assert _same_result(expected, got), f"{call}: {expected!r} on the class, {got!r} through the shim"


@pytest.mark.filterwarnings("ignore:.*should not be instantiated:DeprecationWarning")  # Cls().apply call sites
@given(gen=function_classes(), seed=st.integers(0, 2**16))
def test_rewrite_of_generated_class_is_equivalent(gen: Generated, seed: int) -> None:
    for feature in gen.features:
        event(feature)
    COVERED.update(gen.features)
    _check_generated(gen, seed)


def _check_generated(gen: Generated, seed: int) -> None:
    """scan, rewrite and every call of one generated class against the original and the truth."""
    report, outcome, rewritten = _report_and_outcome(gen)
    said = f"scan: {report.status} {report.code} {report.fix}: {report.reason}; rewrite: {outcome.outcome}: "
    if currently_in_test_context():  # not when drawn on purpose, outside the property test
        event(f"tool: {outcome.outcome}" + (f" ({report.fix})" if report.fix else f" ({report.code})"))
        note(said + outcome.reason)
    else:
        print(said + outcome.reason)
    original = _load(gen.source, "original")

    if gen.expect == "refuse":
        assert (report.status, report.code) == ("refused", gen.code), report.reason
        assert rewritten == gen.source.encode()
        _run_refused(gen, original, seed)
        return

    _check_original_against_truth(gen, original, seed)
    assert report.status == "convertible", f"{report.code}: {report.reason}"
    # Simple patterns must not fall back to probing; masks and helpers must not pass as safe.
    assert report.fix == ("safe" if gen.symbolic else "unsafe"), report.notes
    assert outcome.outcome == "rewritten", f"{outcome.outcome}: {outcome.reason}"
    assert rewrite_module(rewritten, UNSAFE).source == rewritten, "a second rewrite changed the result"

    fgi = _load(rewritten.decode(), "fgi")
    function = fgi[outcome.function]
    assert fgi[gen.class_name].apply is function  # the shim, and proof this side runs the rewrite
    assert not issubclass(fgi[gen.class_name], torch.autograd.Function)
    _check_members(gen, original, fgi)
    ulps = 0 if report.fix == "safe" else PROBE_ULPS
    apply = original[gen.class_name].apply
    # a hyper-parameter tensor that requires grad gets no gradient (backward returns None)
    # (here on the original; _assert_gradients then requires None on every other side too)
    leaf_inputs = [p for p, a in zip(gen.inputs, _arguments(gen, torch.float64, seed), strict=True)
                   if isinstance(a, torch.Tensor) and a.requires_grad]
    hyper = [i for i, p in enumerate(leaf_inputs) if p.kind == "scalar_tensor"]
    for dtype in DTYPES:
        reference = _run(apply, _arguments(gen, dtype, seed), len(gen.inputs), seed)
        assert all(reference[2][i] is None for i in hyper), "the original gave a hyper-parameter a gradient"
        callers = [(f"{outcome.function}()", function, len(gen.inputs), fgi),
                   (f"{gen.class_name}.apply (shim)", fgi[gen.class_name].apply, len(gen.inputs), fgi)]
        callers += [(f"call site {site.name}", fgi[site.name], site.arity, fgi) for site in gen.call_sites]
        callers += [(f"original call site {site.name}", original[site.name], site.arity, original)
                    for site in gen.call_sites]
        for what, fn, arity, side in callers:
            out, _, grads = _run(fn, _arguments(gen, dtype, seed), arity, seed)
            _assert_same_value(reference[0], out, f"{what} {dtype} forward")
            tolerance = 0 if side is original else ulps
            _assert_gradients(reference[2], grads, reference[0], tolerance, f"{what} {dtype}")


@pytest.mark.filterwarnings("ignore:.*should not be instantiated:DeprecationWarning")
def test_every_generator_feature_was_exercised() -> None:
    """Every feature is exercised: the run's draws show what they covered, and a feature they
    happened to miss (a rare refusal among 300 draws, which depend on Hypothesis's seed and
    so on this file's source) is looked for on purpose and checked the same way."""
    if not COVERED:
        pytest.skip("the property test did not run in this session")
    print("\nfuzz features drawn:", ", ".join(f"{f}={COVERED[f]}" for f in FEATURES))
    missing = sorted(set(FEATURES) - set(COVERED))
    search = settings(max_examples=3000, derandomize=True, database=None, deadline=None)
    for feature in missing:
        try:
            gen = find(function_classes(), lambda g, wanted=feature: wanted in g.features, settings=search)
        except NoSuchExample:
            pytest.fail(f"the generator never draws {feature}")
        print(f"drawn on purpose: {feature}")
        _check_generated(gen, 0)


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("fuzz_found_*.py")), ids=lambda p: p.name)
def test_found_failure_stays_fixed(path: Path) -> None:
    """Failures the fuzz test found, kept as fixtures: every class the scan calls convertible is
    rewritten (unsafe fixes allowed) and a refused one is left byte-identical. Their scan
    results are pinned in expected_scan.toml and their values and gradients compared by
    test_rewrite_equivalence.py, like every fixture."""
    data = path.read_bytes()
    reports, errors = scan_module(cst.parse_module(data), data, path.name)
    assert errors == [] and reports
    result = rewrite_module(data, UNSAFE)
    outcomes = {o.qualname: o.outcome for o in result.outcomes}
    for report in reports:
        expected = "rewritten" if report.status == "convertible" else "refused"
        assert outcomes[report.qualname] == expected, report.qualname
    if all(r.status == "refused" for r in reports):
        assert result.source == data


def test_an_exact_subnormal_match_does_not_hide_a_difference() -> None:
    """Found by this fuzz test: where both sides held the same subnormal value, ulp(scale)
    underflowed to 0, 0/0 gave NaN, and the NaN made the maximum, hence `verify`, blind to
    every other element."""
    a = torch.tensor([1e-320, 1.0], dtype=torch.float64)
    b = torch.tensor([1e-320, 2.0], dtype=torch.float64)
    assert ulps_apart(a, b, torch.float64) > PROBE_ULPS
    assert ulps_apart(a[:1], b[:1], torch.float32) == 0

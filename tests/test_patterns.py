"""Every spelling each pattern claims (fgi_rewrite/patterns/) is read as that pattern and
emitted as it promises: the registry's claims, checked one by one.

Each spelling applies the pattern to grad_output in a small spike. A symbolic pattern's class
must scan as a safe fix and its rewrite give the same value and bit-identical gradients; a
probed pattern's class must scan as an unsafe fix (a probe) and its rewrite give the same
value and gradients within the probe's stated 16 ulps.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from fgi_rewrite.patterns import PATTERNS, PROBED
from fgi_rewrite.rewrite import RewriteOptions, rewrite_module
from fgi_rewrite.scan import scan_source

# How each kind of spelling applies the pattern to `go` with the factor `g`.
# A spelling is backward's statements after `go = grad_output`; the last one's value is returned.
_OPERATOR_SPELLING = {"Multiply": "go * g", "MultiplyAssign": "go = go.clone(); go *= g; go",
                      "Divide": "go / g", "DivideAssign": "go = go.clone(); go /= g; go", "Minus": "-go"}


def _spellings() -> list[tuple[str, str]]:
    cases = []
    for pattern in PATTERNS:
        operand = ", g" if pattern.takes_operand else ""
        for method in sorted(pattern.methods):
            receiver = "go.clone()" if method.endswith("_") else "go"
            cases.append((pattern.op, f"{receiver}.{method}({operand.lstrip(', ')})"))
        for function in sorted(pattern.functions):
            cases.append((pattern.op, f"torch.{function}(go{operand})"))
        for operator in sorted(pattern.operators, key=lambda o: o.__name__):
            cases.append((pattern.op, _OPERATOR_SPELLING[operator.__name__]))
        if pattern.commutative and pattern.takes_operand:
            cases.append((pattern.op, "g * go"))
    return cases


def _source(spelling: str) -> str:
    *statements, result = [part.strip() for part in spelling.split(";")]
    body = "".join(f"        {statement}\n" for statement in statements) + f"        result = {result}"
    return (
        "import torch\n\n\n"
        "class Spike(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x):\n"
        "        ctx.save_for_backward(x)\n"
        "        return (x > 0).float()\n\n"
        "    @staticmethod\n"
        "    def backward(ctx, grad_output):\n"
        "        (x,) = ctx.saved_tensors\n"
        "        g = 1.0 / (3.0 * x.abs() + 1.0) ** 2\n"
        "        go = grad_output\n"
        f"{body}\n"
        "        return result\n"
    )


@pytest.mark.parametrize(("op", "spelling"), _spellings(), ids=str)
def test_every_spelling_of_a_pattern_is_safe_and_bit_exact(op: str, spelling: str, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    source = _source(spelling)
    (report,), errors = scan_source(source.encode(), "spike.py")
    assert not errors
    assert (report.status, report.fix) == ("convertible", "safe"), report.reason
    _assert_equivalent(source, rewrite_module(source.encode()).source, spelling, tolerance_ulps=0, tmp_path=tmp_path)


# One spelling (or more) for everything a probed pattern claims; a claim without one fails.
_PROBED_SPELLINGS = {
    ("where", "where"): ["torch.where(x > 0, go * g, 0.0)", "torch.where(x > 0, torch.zeros_like(go), go * g)"],
    ("masked_fill", "masked_fill"): ["go.masked_fill(x.abs() > 1, 0.0)"],
    ("masked_fill", "masked_fill_"): ["go.clone().masked_fill_(x.abs() > 1, 0)"],
    ("cast", "float"): ["(go * g).float()"],
    ("cast", "double"): ["(go * g).double()"],
    ("cast", "half"): ["go.half()"],
    ("cast", "bfloat16"): ["go.bfloat16()"],
    ("cast", "to"): ["(go * g).to(torch.float64)"],
    ("cast", "type"): ["(go * g).type(torch.float64)"],
    ("cast", "type_as"): ["(go * g).type_as(x)"],
    ("reshape", "view"): ["(go * g).view(go.shape)"],
    ("reshape", "reshape"): ["(go * g).reshape(-1)"],
    ("reshape", "squeeze"): ["(go * g).squeeze()"],
    ("reshape", "unsqueeze"): ["go.unsqueeze(0).mul(g).squeeze(0)"],
    ("reshape", "flatten"): ["(go * g).flatten()"],
    ("reshape", "expand"): ["(go * g).expand(go.shape)"],
    ("sum", "Add"): ["go * g + go * x.abs()", "torch.zeros_like(go) + go * g"],
    ("sum", "Subtract"): ["go * g - go * 0.5", "torch.zeros_like(go) - go * g"],
}


def _probed_claims() -> list[tuple[str, str]]:
    return [(p.name, spelling) for p in PROBED
            for spelling in sorted(p.methods | p.functions | {o.__name__ for o in p.operators})]


def test_every_probed_claim_has_a_spelling() -> None:
    assert sorted(_probed_claims()) == sorted(_PROBED_SPELLINGS)


@pytest.mark.parametrize("spelling", [s for spellings in _PROBED_SPELLINGS.values() for s in spellings], ids=str)
def test_every_spelling_of_a_probed_pattern_is_an_unsafe_probe_within_its_tolerance(spelling: str,
                                                                                    tmp_path: Path) -> None:
    pytest.importorskip("torch")
    source = _source(spelling)
    (report,), errors = scan_source(source.encode(), "spike.py")
    assert not errors
    assert (report.status, report.fix) == ("convertible", "unsafe"), report.reason
    assert any("probe" in note for note in report.notes), report.notes
    rewritten = rewrite_module(source.encode(), RewriteOptions(unsafe_fixes=True)).source
    _assert_equivalent(source, rewritten, spelling, tolerance_ulps=16, tmp_path=tmp_path)


def _assert_equivalent(source: str, rewritten: bytes, spelling: str, tolerance_ulps: int, tmp_path: Path) -> None:
    import torch

    sides, classes = [], []
    for name, text in (("original", source.encode()), ("fgi", rewritten)):
        path = tmp_path / f"{name}.py"
        path.write_bytes(text)
        spec = importlib.util.spec_from_file_location(f"pattern_{name}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        sides.append(module.Spike.apply)
        classes.append(module.Spike)
    # The second side really runs the rewrite: its Spike is the shim, no longer a Function.
    assert issubclass(classes[0], torch.autograd.Function) and not issubclass(classes[1], torch.autograd.Function)
    for dtype in (torch.float32, torch.float64):
        x = torch.cat([torch.randn(40, generator=torch.Generator().manual_seed(7), dtype=dtype),
                       torch.tensor([0.0, -0.0, 1.0], dtype=dtype)])
        grad_output = torch.randn(x.shape, generator=torch.Generator().manual_seed(8)).to(torch.float32)
        results = []
        for apply in sides:
            leaf = x.clone().requires_grad_(True)
            out = apply(leaf)
            (grad,) = torch.autograd.grad(out, leaf, grad_output)
            results.append((out.detach(), grad))
        (value_a, grad_a), (value_b, grad_b) = results
        assert torch.equal(value_a, value_b) and value_a.dtype == value_b.dtype
        assert grad_a.dtype == grad_b.dtype, spelling
        if tolerance_ulps == 0:
            bits = torch.int64 if dtype == torch.float64 else torch.int32
            assert torch.equal(grad_a.view(bits), grad_b.view(bits)), spelling
        else:
            # ulps of the coarser of the gradient's and the output's dtype (README, unsafe fixes)
            coarse = max((grad_a.dtype, value_a.dtype), key=lambda d: torch.finfo(d).eps)
            scale = torch.maximum(grad_a.abs(), grad_b.abs()).double()
            ulp = torch.clamp_min(scale * torch.finfo(coarse).eps, torch.finfo(coarse).tiny)
            assert bool(((grad_a.double() - grad_b.double()).abs() <= tolerance_ulps * ulp).all()), spelling

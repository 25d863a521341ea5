"""Before/after cases for the static classification: one source snippet, one expected verdict."""

from __future__ import annotations

import textwrap

import pytest

from fgi_rewrite.scan import scan_source

HEADER = "import torch\nfrom torch.autograd import Function\n"


def classify(body: str) -> tuple[str, str, str | None, str]:
    source = HEADER + textwrap.dedent(body)
    reports, errors = scan_source(source.encode(), "case.py")
    assert not errors
    assert len(reports) == 1, reports
    report = reports[0]
    return report.status, report.code, report.fix, report.reason


def spike(backward_body: str, forward: str = "ctx.save_for_backward(x)\n        return (x > 0).float()",
          params: str = "x") -> str:
    return f"""
class Spike(Function):
    @staticmethod
    def forward(ctx, {params}):
        {forward}

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
{textwrap.indent(textwrap.dedent(backward_body), " " * 8)}
"""


CONVERTIBLE = [
    # (backward body, expected code, expected fix)
    ("return grad_output / (10 * x.abs() + 1.0) ** 2", "FGI001", "safe"),
    ("return grad_output * torch.exp(-x * x / 2)", "FGI001", "safe"),
    ("g = torch.sigmoid(4 * x)\nreturn g * (1 - g) * 4 * grad_output", "FGI001", "safe"),
    ("grad = grad_output.clone()\ngrad *= 0.3 / (1 + x.abs())\nreturn grad", "FGI001", "safe"),
    ("return -(-grad_output) * torch.exp(-x.abs())", "FGI001", "safe"),
    ("return grad_output", "FGI002", "safe"),
    ("return grad_output * (x.abs() < 1).float()", "FGI002", "safe"),
    ("grad = grad_output.clone()\ngrad[x.abs() > 1] = 0\nreturn grad", "FGI002", "unsafe"),
    ("return torch.where(x.abs() < 0.5, grad_output * 2.0, 0.0)", "FGI001", "unsafe"),
    ("return grad_output.masked_fill(x.abs() > 1, 0)", "FGI002", "unsafe"),
    ("return grad_output * 0.5 + grad_output * x", "FGI001", "unsafe"),
    ("g = torch.zeros_like(x)\nm = x.abs() < 1\ng[m] = grad_output[m] * 2.0\nreturn g", "FGI001", "unsafe"),
    ("if grad_output is None:\n    return None\nreturn grad_output * torch.exp(-x)", "FGI001", "safe"),
]


@pytest.mark.parametrize("body,code,fix", CONVERTIBLE)
def test_convertible_backward_bodies(body: str, code: str, fix: str) -> None:
    status, got_code, got_fix, _ = classify(spike(body))
    assert (status, got_code, got_fix) == ("convertible", code, fix)


REFUSED = [
    ("return torch.clamp(grad_output, -1, 1)", "FGI102", "torch.clamp(grad_output, -1, 1)"),
    ("return grad_output.abs() * x", "FGI102", "grad_output.abs()"),
    ("return grad_output * grad_output", "FGI102", "grad_output * grad_output"),
    ("return grad_output + 1.0", "FGI102", "adds a constant"),
    ("return grad_output ** 2", "FGI102", "grad_output ** 2"),
    ("return grad_output / grad_output.norm()", "FGI103", "grad_output.norm()"),
    ("return grad_output.sum() * torch.ones_like(x)", "FGI103", ""),
    ("return torch.cumsum(grad_output, 0)", "FGI103", "cumsum"),
    ("return grad_output @ x", "FGI103", "grad_output @ x"),
    ("g = torch.zeros_like(x)\nfor i in range(x.shape[0]):\n    g[i] = grad_output[x.shape[0] - 1 - i]\nreturn g",
     "FGI103", "moves elements"),
    ("return grad_output[1:]", "FGI103", "read through an index"),
    ("print(grad_output.shape)\nreturn grad_output", "FGI104", "print(grad_output.shape)"),
    ("GRAD_LOG.append(grad_output)\nreturn grad_output", "FGI104", "GRAD_LOG.append(grad_output)"),
    ("return grad_output * torch.rand_like(x)", "FGI106", "torch.rand_like(x)"),
    ("return my_ext.spike_backward(grad_output, x)", "FGI107", "my_ext.spike_backward"),
    ("raise NotImplementedError('no gradient')", "FGI108", "NotImplementedError"),
    ("return grad_output, grad_output", "FGI110", "returns 2 gradients for 1 input"),
]


@pytest.mark.parametrize("body,code,fragment", REFUSED)
def test_refused_backward_bodies(body: str, code: str, fragment: str) -> None:
    status, got_code, _, reason = classify(spike(body))
    assert (status, got_code) == ("refused", code)
    assert fragment in reason


def test_too_few_gradients_are_refused() -> None:
    status, code, _, reason = classify(spike("return grad_output * x", params="x, alpha"))
    assert (status, code, reason) == ("refused", "FGI110", "backward returns 1 gradient for 2 inputs")


def test_extra_trailing_none_gradients_are_accepted() -> None:
    # torch drops trailing None gradients beyond the inputs, so the class is valid.
    status, code, _, _ = classify(spike("return grad_output * torch.exp(-x), None"))
    assert (status, code) == ("convertible", "FGI001")


def test_side_effect_on_a_parameter_is_refused() -> None:
    status, code, _, reason = classify(spike("SCALE.data.mul_(0.9)\nreturn grad_output"))
    assert (status, code) == ("refused", "FGI104")
    assert "SCALE.data.mul_(0.9)" in reason


def test_mark_dirty_is_refused() -> None:
    status, code, _, _ = classify(spike("return grad_output", forward="ctx.mark_dirty(x)\n        return x.sign_()"))
    assert (status, code) == ("refused", "FGI105")


def test_two_differentiable_outputs_are_refused() -> None:
    source = """
class Two(Function):
    @staticmethod
    def forward(ctx, x):
        return (x > 0).float(), x * 2

    @staticmethod
    def backward(ctx, g_spike, g_double):
        return g_spike + 2 * g_double
"""
    status, code, _, reason = classify(source)
    assert (status, code, reason) == ("refused", "FGI101", "2 differentiable outputs")


def test_helper_receiving_grad_output_is_an_unsafe_fix() -> None:
    source = """
def spike_backward(grad_output, x, alpha: float):
    s = torch.sigmoid(alpha * x)
    return grad_output * (1.0 - s) * s * alpha, None

class Sig(Function):
    @staticmethod
    def forward(x, alpha):
        return (x >= 0).to(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])
        ctx.alpha = inputs[1]

    @staticmethod
    def backward(ctx, grad_output):
        return spike_backward(grad_output, ctx.saved_tensors[0], ctx.alpha)
"""
    status, code, fix, _ = classify(source)
    assert (status, code, fix) == ("convertible", "FGI001", "unsafe")


def test_broadcast_reduction_for_a_threshold_is_dropped() -> None:
    source = """
class LearnedThreshold(Function):
    @staticmethod
    def forward(ctx, v, thr):
        ctx.save_for_backward(v, thr)
        return (v > thr).float()

    @staticmethod
    def backward(ctx, grad_output):
        v, thr = ctx.saved_tensors
        g = 1.0 / (1.0 + (v - thr).abs()) ** 2
        return grad_output * g, -(grad_output * g).sum(0)
"""
    reports, _ = scan_source((HEADER + source).encode(), "case.py")
    (report,) = reports
    # Unsafe: autograd's broadcasting reduction sums in another order than .sum(0) (docs/architecture.md).
    assert (report.status, report.code, report.fix) == ("convertible", "FGI001", "unsafe")
    assert any("summation order" in note for note in report.notes)
    assert [(i.name, i.role, i.gradient) for i in report.inputs] == [
        ("v", "differentiable", "symbolic"), ("thr", "broadcast", "symbolic"),
    ]


def test_suppression_comment_marks_the_class_ignored() -> None:
    source = spike("return grad_output * torch.exp(-x)").replace("class Spike(Function):",
                                                                  "class Spike(Function):  # fgi: ignore")
    status, code, _, _ = classify(source)
    assert (status, code) == ("ignored", "FGI001")


def test_suppression_with_other_codes_does_not_apply() -> None:
    source = spike("return grad_output * torch.exp(-x)").replace("class Spike(Function):",
                                                                  "class Spike(Function):  # fgi: ignore[FGI004]")
    status, _, _, _ = classify(source)
    assert status == "convertible"


def test_line_and_column_are_one_based_and_point_at_the_class_name() -> None:
    reports, _ = scan_source((HEADER + spike("return grad_output")).encode(), "case.py")
    assert (reports[0].line, reports[0].column) == (4, 7)


def test_syntax_error_names_the_line() -> None:
    reports, errors = scan_source(b"from torch.autograd import Function\nx = = 1\nclass A(Function):\n    pass\n",
                                  "bad.py")
    assert reports == []
    (error,) = errors
    assert (error.path, error.code, error.line) == ("bad.py", "FGI902", 2)


def test_file_without_a_function_class_is_not_parsed() -> None:
    # The prefilter skips files that cannot define a Function subclass: even invalid syntax
    # passes silently, which is the price of not parsing 97% of a large tree.
    assert scan_source(b"def broken(:\n", "x.py") == ([], [])
    assert scan_source(b"# a torch.autograd.Function is described here\ndef broken(:\n", "x.py") == ([], [])


def test_internal_error_in_one_class_is_reported_and_the_others_are_analysed(monkeypatch) -> None:
    from fgi_rewrite import decision as verdict

    real = verdict.extract

    def flaky(info, index):
        if info.name == "Broken":
            raise KeyError("boom")
        return real(info, index)

    monkeypatch.setattr(verdict, "extract", flaky)
    source = HEADER + spike("return grad_output") + spike("return grad_output").replace("Spike", "Broken")
    reports, errors = scan_source(source.encode(), "case.py")
    assert [r.qualname for r in reports] == ["Spike"]
    (error,) = errors
    assert error.code == "FGI903" and "Broken" in error.message and error.line is not None


@pytest.mark.parametrize("source", [
    "import torch.autograd as ag\n\nclass S(\n    ag.Function,\n):\n{body}",
    "from torch.autograd import Function as Base\n\nclass S(Base):\n{body}",
    "import torch\nSurrogateBase = torch.autograd.Function\n\nclass S(SurrogateBase):\n{body}",
])
def test_prefilter_lets_every_spelling_of_the_base_through(source: str) -> None:
    body = textwrap.indent(textwrap.dedent("""
        @staticmethod
        def forward(ctx, x):
            return (x > 0).float()

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output
    """), "    ")
    reports, _ = scan_source(source.format(body=body).encode(), "case.py")
    assert [(r.qualname, r.status) for r in reports] == [("S", "convertible")]


def test_data_attribute_of_the_gradient_is_not_the_gradient() -> None:
    # torch's own Complex Function returns grad_output.real, grad_output.imag.
    status, code, _, reason = classify(spike("return grad_output.real"))
    assert (status, code) == ("refused", "FGI111")
    assert "grad_output.real" in reason


def test_conditional_raise_in_backward_is_refused() -> None:
    body = "if SIMULATE_ERROR:\n    raise RuntimeError('simulated')\nreturn grad_output"
    status, code, _, reason = classify(spike(body))
    assert (status, code) == ("refused", "FGI108")
    assert "may raise" in reason


def test_gradient_scattered_into_a_larger_tensor_is_not_elementwise() -> None:
    body = "result = grad_output.new_zeros(ctx.shape)\nresult[ctx.idx] = grad_output\nreturn result"
    status, code, _, _ = classify(spike(body))
    assert (status, code) == ("refused", "FGI103")


def test_a_reconfigured_class_attribute_is_noted_and_not_frozen_for_torchscript() -> None:
    """backward reads Spike.width, which configure() reassigns: FGI reads it at forward time
    (a note says so), and the emitted code keeps reading the attribute rather than a copy of
    its source value, which a scripted model would silently freeze."""
    from fgi_rewrite.rewrite import rewrite_module

    source = HEADER + textwrap.dedent("""
        class Spike(Function):
            width = 1.0
            scale = 2.0

            @staticmethod
            def configure(width):
                Spike.width = width

            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return (x > 0).float()

            @staticmethod
            def backward(ctx, grad_output):
                x, = ctx.saved_tensors
                return grad_output * (x.abs() < Spike.width).float() * Spike.scale
        """)
    (report,), _ = scan_source(source.encode(), "case.py")
    assert any(note.startswith("backward reads Spike.width, which this module assigns after import")
               for note in report.notes), report.notes
    assert not any("Spike.scale" in note for note in report.notes)
    emitted = rewrite_module(source.encode()).source.decode()
    assert "scale = 2.0 if torch.jit.is_scripting() else Spike.scale" in emitted
    assert "width = 1.0 if" not in emitted and "< Spike.width" in emitted

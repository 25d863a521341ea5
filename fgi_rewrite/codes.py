"""Stable rule codes: one table feeds `explain`, the README's code table, SARIF rules and
every output format.

Codes never change meaning once published. FGI0xx are convertible kinds, FGI1xx are
refusals, FGI9xx are problems with the input file itself. Each entry documents what the code
means, why, and what to do, with an example that `tests/test_code_docs.py` runs through
scan, rewrite and verify, so the documentation cannot drift from the tool.

Nothing heavy is imported here: scan, rewrite and `explain` all start by importing this module.
Regenerate the README's table with `python -m fgi_rewrite.codes --markdown README.md`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

SUPPRESSION = "# fgi: ignore[{code}]"


def _src(text: str) -> str:
    """An example as source text: written indented inside its entry, stored flush left.
    (Not textwrap.dedent: it costs scan's start-up several milliseconds for 40 strings.)"""
    lines = text.lstrip("\n").split("\n")
    pad = len(lines[0]) - len(lines[0].lstrip(" "))
    return "\n".join(line[pad:] for line in lines)


@dataclass(frozen=True)
class Code:
    code: str
    name: str
    status: str  # "convertible", "refused" or "error"
    summary: str
    meaning: str  # what the code says about the class (or the file)
    why: str  # why it is convertible, refused or an error: what would go wrong otherwise
    fix_safety: str = ""  # convertible: when the fix is safe, and what makes it unsafe
    way_out: str = ""  # refused and errors: what to change
    example: str | None = None  # a class (a file, for FGI9xx) that triggers exactly this code
    example_fix: str | None = None  # convertible: what `rewrite` writes for the example
    example_safety: str | None = None  # convertible: the example's fix, "safe" or "unsafe"
    use_instead: str | None = None  # refused: the example changed as way_out says, convertible
    message: str | None = None  # FGI9xx: the error scan reports for the example
    no_example: str | None = None  # why the code has no example


_CODES = [
    Code(
        "FGI001", "surrogate-spike", "convertible",
        "step function with a surrogate derivative",
        meaning="forward computes a non-differentiable step of an input (a comparison, sign, heaviside, round, "
                "...) and backward returns grad_output times a smooth surrogate g(x) of it.",
        why="the gradient is linear in grad_output and elementwise, so it can be injected in forward: the FGI "
            "function computes the same step and adds a carrier inj = x * g(x).detach() whose value cancels, y "
            "= f(x).detach() - (inj.detach() - inj), but whose derivative is g(x). Autograd, TorchScript and "
            "torch.compile then see plain tensor operations instead of a Python backward.",
        fix_safety="safe when each gradient is grad_output passed through multiplications, divisions and "
                   "negations by factors known in forward (as in the example): the carrier repeats them in "
                   "reverse order, so gradients are bit-identical. Unsafe (applied only with --unsafe-fixes; "
                   "the notes say why) when a gradient needs a probe (torch.where, masked_fill, masked "
                   "assignment, a sum of terms, a loop, a helper that receives grad_output: equal within 16 "
                   "ulps, not bit for bit), when an input is broadcast (a learnable threshold whose gradient "
                   "backward reduces with .sum(0): autograd's reduction sums in another order, within 4 ulps), "
                   "when forward calls something whose shape behaviour is unknown, or when backward returns an "
                   "explicit zero gradient (FGI gives none).",
        example=_src(r'''
            import math

            import torch


            class ATan(torch.autograd.Function):
                """Heaviside spike with an arctan surrogate gradient."""

                @staticmethod
                def forward(ctx, mem, alpha=2.0):
                    ctx.save_for_backward(mem)
                    ctx.alpha = alpha
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    grad = grad_output * (ctx.alpha / 2) / (1 + (math.pi / 2 * ctx.alpha * mem) ** 2)
                    return grad, None
            '''),
        example_fix=_src(r'''
            import math

            import torch


            def atan(mem: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
                """FGI form of ATan: same value, surrogate gradient injected in forward."""
                mem_in = mem
                mem = mem.detach()
                value = (mem > 0).float()
                # Only gradients need the carrier: skipped in no-grad eager code (TorchScript keeps one graph)
                if torch.jit.is_scripting() or torch.is_grad_enabled():
                    with torch.no_grad():
                        g = alpha / 2
                        dtype = torch.result_type(value, g)
                        denom = 1 + (math.pi / 2 * alpha * mem) ** 2
                        dtype2 = torch.result_type(value.to(dtype), denom)
                    inj = ((mem_in.to(dtype2) / denom).to(dtype) * g).to(value.dtype)
                    inj = inj.sum_to_size(value.shape)
                    value = inj - inj.detach() + value.detach()
                return value


            class ATan:  # fgi-rewrite: compatibility shim; calls atan
                """Heaviside spike with an arctan surrogate gradient."""
                apply = staticmethod(atan)
            '''),
        example_safety="safe",
    ),
    Code(
        "FGI002", "straight-through", "convertible",
        "straight-through estimator (gradient 1 or a mask)",
        meaning="forward quantises or binarises an input (round, sign, floor, a comparison) and backward passes "
                "grad_output through unchanged, or multiplied by a 0/1 mask (a clipped straight-through "
                "estimator).",
        why="the straight-through gradient is the surrogate g = 1 (or the mask), so the carrier is the input "
            "itself (or the input times the mask): the value stays the quantised one and the gradient is the "
            "identity, with no backward in Python.",
        fix_safety="safe when backward returns grad_output, or grad_output times a mask computed from forward's "
                   "inputs or output: multiplying by 1 or 0 is exact, so gradients are bit-identical. Unsafe "
                   "when the mask is applied by masked assignment (grad = grad_output.clone(); grad[x.abs() > "
                   "1] = 0) or torch.where, which needs a probe, or when backward returns an explicit zero "
                   "gradient for an input.",
        example=_src(r'''
            import torch


            class RoundSTE(torch.autograd.Function):
                """Rounds membrane potentials to integer spike counts; the gradient passes straight through."""

                @staticmethod
                def forward(ctx, x):
                    return torch.round(x)

                @staticmethod
                def backward(ctx, grad_output):
                    return grad_output
            '''),
        example_fix=_src(r'''
            import torch


            def round_ste(x: torch.Tensor) -> torch.Tensor:
                """FGI form of RoundSTE: same value, surrogate gradient injected in forward."""
                x_in = x
                x = x.detach()
                value = torch.round(x)
                # Only gradients need the carrier: skipped in no-grad eager code (TorchScript keeps one graph)
                if torch.jit.is_scripting() or torch.is_grad_enabled():
                    inj = x_in
                    value = value.detach() - (inj.detach() - inj)
                return value


            class RoundSTE:  # fgi-rewrite: compatibility shim; calls round_ste
                """Rounds membrane potentials to integer spike counts; the gradient passes straight through."""
                apply = staticmethod(round_ste)
            '''),
        example_safety="safe",
    ),
    Code(
        "FGI003", "value-replacement", "convertible",
        "forward returns another input's value",
        meaning="forward returns (a copy of) one input while backward sends grad_output to another input: a "
                "hard sample stands in for a soft relaxation (Gumbel straight-through, spikes sampled elsewhere "
                "standing in for a firing rate).",
        why="value from one input, gradient to another is exactly the carrier form: other.detach() - "
            "(x.detach() - x) keeps other's value and gives x the gradient grad_output.",
        fix_safety="always unsafe, so applied only with --unsafe-fixes: the rewrite is right only when both "
                   "inputs have the same shape, which the source does not prove. Were x larger than other "
                   "(broadcasting), the FGI function's value would take the broadcast shape where the original "
                   "returned other's. Check the call sites, or run `fgi-rewrite verify --unsafe-fixes` on the "
                   "class.",
        example=_src(r'''
            import torch


            class ReplaceGrad(torch.autograd.Function):
                """Forward gives the sampled spike train, backward sends its gradient to the firing rate."""

                @staticmethod
                def forward(ctx, rate, spikes):
                    return spikes.clone()

                @staticmethod
                def backward(ctx, grad_output):
                    return grad_output, None
            '''),
        example_fix=_src(r'''
            import torch


            def replace_grad(rate: torch.Tensor, spikes: torch.Tensor) -> torch.Tensor:
                """FGI form of ReplaceGrad: same value, surrogate gradient injected in forward."""
                rate_in = rate
                rate = rate.detach()
                value = spikes.clone()
                # Only gradients need the carrier: skipped in no-grad eager code (TorchScript keeps one graph)
                if torch.jit.is_scripting() or torch.is_grad_enabled():
                    inj = rate_in.to(value.dtype)
                    value = value.detach() - (inj.detach() - inj)
                return value


            class ReplaceGrad:  # fgi-rewrite: compatibility shim; calls replace_grad
                """Forward gives the sampled spike train, backward sends its gradient to the firing rate."""
                apply = staticmethod(replace_grad)
            '''),
        example_safety="unsafe",
    ),
    Code(
        "FGI004", "smooth-op", "convertible",
        "smooth op with a hand-written gradient",
        meaning="forward has no step: it is a smooth function (sigmoid, tanh, softplus, ...) whose backward is "
                "written by hand, usually its exact derivative.",
        why="the carrier works as for a spike, so the class converts; but autograd could differentiate forward "
            "itself, and deleting the Function may be the better migration. Converting it is a policy choice, "
            "so it has its own code: select it or ignore it (--ignore FGI004).",
        fix_safety="as for FGI001: safe for a chain of multiplications, divisions and negations (bit-identical "
                   "to the hand-written backward, which may differ from autograd's own derivative in the last "
                   "bits), unsafe when a probe is needed.",
        example=_src(r'''
            import torch


            class ScaledTanh(torch.autograd.Function):
                """Smooth activation with its derivative written by hand."""

                @staticmethod
                def forward(ctx, x, beta):
                    y = torch.tanh(beta * x)
                    ctx.save_for_backward(y)
                    ctx.beta = beta
                    return y

                @staticmethod
                def backward(ctx, grad_output):
                    (y,) = ctx.saved_tensors
                    return grad_output * ctx.beta * (1 - y * y), None
            '''),
        example_fix=_src(r'''
            import torch


            def scaled_tanh(x: torch.Tensor, beta: float) -> torch.Tensor:
                """FGI form of ScaledTanh: same value, surrogate gradient injected in forward."""
                x_in = x
                x = x.detach()
                y = torch.tanh(beta * x)
                # Only gradients need the carrier: skipped in no-grad eager code (TorchScript keeps one graph)
                if torch.jit.is_scripting() or torch.is_grad_enabled():
                    with torch.no_grad():
                        beta_value = beta
                        if isinstance(beta_value, torch.Tensor):
                            beta_value = beta_value.detach()
                        dtype = torch.result_type(y, beta_value)
                        g = 1 - y * y
                        dtype2 = torch.result_type(y.to(dtype), g)
                    inj = ((x_in.to(dtype2) * g).to(dtype) * beta_value).to(y.dtype)
                    y = y.detach() - (inj.detach() - inj)
                return y


            class ScaledTanh:  # fgi-rewrite: compatibility shim; calls scaled_tanh
                """Smooth activation with its derivative written by hand."""
                apply = staticmethod(scaled_tanh)
            '''),
        example_safety="safe",
    ),
    Code(
        "FGI005", "stochastic-spike", "convertible",
        "random spike (bernoulli) with a surrogate derivative",
        meaning="forward draws random spikes (torch.bernoulli, torch.rand_like(p) < p) and backward is a "
                "deterministic surrogate.",
        why="the randomness is in forward only: the FGI function draws the same numbers in the same order from "
            "the same generator, so under the same seed it fires the same spikes, and the surrogate is injected "
            "as for FGI001. The carrier draws nothing.",
        fix_safety="as for FGI001 (safe for a chain, unsafe when a probe is needed). `fgi-rewrite verify` also "
                   "checks that the random number generator's state after forward and after backward matches "
                   "the original's.",
        example=_src(r'''
            import torch


            class StochasticSpike(torch.autograd.Function):
                """Fires with probability sigmoid(u); the surrogate is the sigmoid's derivative."""

                @staticmethod
                def forward(ctx, u):
                    p = torch.sigmoid(u)
                    ctx.save_for_backward(p)
                    return torch.bernoulli(p)

                @staticmethod
                def backward(ctx, grad_output):
                    (p,) = ctx.saved_tensors
                    return grad_output * p * (1 - p)
            '''),
        example_fix=_src(r'''
            import torch


            def stochastic_spike(u: torch.Tensor) -> torch.Tensor:
                """FGI form of StochasticSpike: same value, surrogate gradient injected in forward."""
                u_in = u
                u = u.detach()
                p = torch.sigmoid(u)
                value = torch.bernoulli(p)
                # Only gradients need the carrier: skipped in no-grad eager code (TorchScript keeps one graph)
                if torch.jit.is_scripting() or torch.is_grad_enabled():
                    dtype = torch.result_type(value, p)
                    g = 1 - p
                    dtype2 = torch.result_type(value.to(dtype), g)
                    inj = ((u_in.to(dtype2) * g).to(dtype) * p).to(value.dtype)
                    value = value.detach() - (inj.detach() - inj)
                return value


            class StochasticSpike:  # fgi-rewrite: compatibility shim; calls stochastic_spike
                """Fires with probability sigmoid(u); the surrogate is the sigmoid's derivative."""
                apply = staticmethod(stochastic_spike)
            '''),
        example_safety="safe",
    ),
    Code(
        "FGI101", "several-outputs", "refused",
        "several differentiable outputs",
        meaning="forward returns several tensors that all carry gradients (a spike and the membrane after "
                "reset, ...), and backward receives one grad_output for each.",
        why="FGI injects each input's gradient into one output. In the example, backward combines grad_spike "
            "and grad_v into one gradient; a single carrier cannot say how much of it flows through each output, so a "
            "rewrite would give at least one of them a wrong gradient.",
        way_out="split the class: keep the spike alone in a Function (it then converts, FGI001) and compute the "
                "reset outside it with plain tensor operations (v - spike * threshold), which autograd "
                "differentiates.",
        example=_src(r'''
            import torch


            class SpikeAndReset(torch.autograd.Function):
                """Returns the spike and the membrane after a soft reset, both differentiable."""

                @staticmethod
                def forward(ctx, v, threshold):
                    ctx.save_for_backward(v)
                    ctx.threshold = threshold
                    spike = (v >= threshold).float()
                    return spike, v - spike * threshold

                @staticmethod
                def backward(ctx, grad_spike, grad_v):
                    (v,) = ctx.saved_tensors
                    sg = 1.0 / (1.0 + (3.14159 * (v - ctx.threshold)) ** 2)
                    return grad_spike * sg + grad_v, None
            '''),
    ),
    Code(
        "FGI102", "nonlinear-in-grad", "refused",
        "backward is not linear in grad_output",
        meaning="backward's gradient is not grad_output times a factor: it clamps grad_output, takes its abs or "
                "a power, adds a constant, or multiplies grad_output by itself.",
        why="a carrier can only hand autograd a factor; the chain rule then computes grad_output * g(x). A "
            "gradient such as grad_output.clamp(-1, 1) * g(x) depends on grad_output non-linearly, so any "
            "rewrite would silently change training (here: no more clipping).",
        way_out="keep only the surrogate factor in backward and clip elsewhere: a hook on the spike output "
                "(spikes.register_hook(lambda g: g.clamp(-1.0, 1.0)) clips grad_output before it reaches the "
                "spike, as before), or torch.nn.utils.clip_grad_value_ on the parameters. The class then "
                "converts (FGI001).",
        example=_src(r'''
            import torch


            class ClippedSpike(torch.autograd.Function):
                """Fast-sigmoid spike whose incoming gradient is clipped to [-1, 1]."""

                @staticmethod
                def forward(ctx, mem):
                    ctx.save_for_backward(mem)
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    return grad_output.clamp(-1.0, 1.0) / (10.0 * mem.abs() + 1.0) ** 2
            '''),
        use_instead=_src(r'''
            import torch


            class ClippedSpike(torch.autograd.Function):
                """Fast-sigmoid spike; the caller clips with spikes.register_hook(lambda g: g.clamp(-1.0, 1.0))."""

                @staticmethod
                def forward(ctx, mem):
                    ctx.save_for_backward(mem)
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    return grad_output / (10.0 * mem.abs() + 1.0) ** 2
            '''),
    ),
    Code(
        "FGI103", "not-elementwise", "refused",
        "backward is not elementwise",
        meaning="backward mixes elements of the gradient: a norm or sum of it used to rescale it, a cumsum over "
                "time, a matmul or convolution, indexing that moves elements (a broadcast parameter's reduction "
                "is fine).",
        why="the carrier gives each element of the input its own factor, d y_i / d x_i. When gradient element i "
            "depends on grad_output at other elements (here through grad.norm()), there is no such factor, and "
            "a rewrite would compute a different gradient.",
        way_out="keep the elementwise surrogate in the Function and do the mixing elsewhere (normalise the "
                "parameters' gradients before the optimiser step, or in a tensor hook), or leave the class as "
                "it is.",
        example=_src(r'''
            import torch


            class NormalisedSpike(torch.autograd.Function):
                """Spike whose surrogate gradient is normalised to unit norm over the whole tensor."""

                @staticmethod
                def forward(ctx, mem):
                    ctx.save_for_backward(mem)
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    grad = grad_output * torch.exp(-mem * mem)
                    return grad / (grad.norm() + 1e-8)
            '''),
    ),
    Code(
        "FGI104", "side-effect", "refused",
        "backward has a side effect",
        meaning="backward does more than compute gradients: it prints, logs, appends to a global, updates a "
                "parameter or buffer.",
        why="backward runs once per backward pass, and only when a gradient is needed. Moved into forward, the "
            "statement would run on every forward call (evaluation under no_grad too) with other values, so the "
            "log or statistic would silently change meaning.",
        way_out="record the statistic outside the Function: from .grad in the training loop, or with a hook on "
                "the spike's input or output (mem.register_hook(...)); backward then computes gradients only.",
        example=_src(r'''
            import torch

            GRAD_LOG = []


            class LoggedSpike(torch.autograd.Function):
                """Records the mean surrogate gradient of every backward pass for a training plot."""

                @staticmethod
                def forward(ctx, mem):
                    ctx.save_for_backward(mem)
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    grad = grad_output / (1.0 + 5.0 * mem.abs()) ** 2
                    GRAD_LOG.append(grad.abs().mean().item())
                    return grad
            '''),
    ),
    Code(
        "FGI105", "mark-dirty", "refused",
        "forward modifies an input in place (ctx.mark_dirty)",
        meaning="forward writes its result into an input tensor and declares it with ctx.mark_dirty.",
        why="mark_dirty is a promise to autograd: the input was overwritten, and its version counter makes any "
            "later use of the old value an error. A plain function cannot make that promise; it would have to "
            "write through autograd (changing the gradient) or return a new tensor (changing what callers see "
            "in v).",
        way_out="return a new tensor instead of overwriting the input, and drop mark_dirty (the memory saved "
                "was one activation). The class then converts (FGI001).",
        example=_src(r'''
            import torch


            class InplaceHeaviside(torch.autograd.Function):
                """Overwrites the membrane buffer with its spikes to save memory."""

                @staticmethod
                def forward(ctx, v):
                    ctx.save_for_backward(v.clone())
                    v.copy_((v >= 0).to(v.dtype))
                    ctx.mark_dirty(v)
                    return v

                @staticmethod
                def backward(ctx, grad_output):
                    (v,) = ctx.saved_tensors
                    return grad_output * torch.sigmoid(4.0 * v) * (1 - torch.sigmoid(4.0 * v)) * 4.0
            '''),
        use_instead=_src(r'''
            import torch


            class InplaceHeaviside(torch.autograd.Function):
                """Returns the spikes as a new tensor: the membrane buffer is left as it was."""

                @staticmethod
                def forward(ctx, v):
                    ctx.save_for_backward(v)
                    return (v >= 0).to(v.dtype)

                @staticmethod
                def backward(ctx, grad_output):
                    (v,) = ctx.saved_tensors
                    return grad_output * torch.sigmoid(4.0 * v) * (1 - torch.sigmoid(4.0 * v)) * 4.0
            '''),
    ),
    Code(
        "FGI106", "random-backward", "refused",
        "backward draws random numbers",
        meaning="backward draws random numbers (noise on the surrogate, stochastic rounding of the gradient).",
        why="the FGI function computes the gradient factor in forward. Drawing the noise there changes when it "
            "is drawn (on every forward, also without a backward), so the random stream, and every random "
            "number training draws afterwards, would differ from the original's.",
        way_out="draw the noise in forward and save it (ctx.save_for_backward(mem, noise)), so that backward is "
                "deterministic; the class then converts (FGI005: randomness in forward is reproduced draw for "
                "draw).",
        example=_src(r'''
            import torch


            class NoisySurrogate(torch.autograd.Function):
                """Gaussian surrogate with multiplicative noise on the gradient, as a regulariser."""

                @staticmethod
                def forward(ctx, mem):
                    ctx.save_for_backward(mem)
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    noise = 1.0 + 0.1 * torch.randn_like(mem)
                    return grad_output * torch.exp(-mem * mem) * noise
            '''),
        use_instead=_src(r'''
            import torch


            class NoisySurrogate(torch.autograd.Function):
                """The noise is drawn in forward and saved, so backward is deterministic."""

                @staticmethod
                def forward(ctx, mem):
                    noise = 1.0 + 0.1 * torch.randn_like(mem)
                    ctx.save_for_backward(mem, noise)
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem, noise) = ctx.saved_tensors
                    return grad_output * torch.exp(-mem * mem) * noise
            '''),
    ),
    Code(
        "FGI107", "opaque-call", "refused",
        "grad_output passes through a call whose source is not available",
        meaning="backward hands grad_output to a function the analysis cannot read: a compiled extension "
                "kernel, torch.ops, a function imported from another module or package.",
        why="the rewrite must show that the gradient is grad_output times a factor; it cannot read the function "
            "called, and a guess would be wrong for a kernel that clips, reduces or accumulates.",
        way_out="write the surrogate in PyTorch in backward (the kernel can stay in forward), or define the "
                "Python helper in the class's own module, where it is read (an unsafe fix, by probe); or leave "
                "the class as it is.",
        example=_src(r'''
            import torch
            from snn_cuda_ext import atan_backward


            class CudaATan(torch.autograd.Function):
                """Forward in PyTorch, backward in a compiled CUDA kernel."""

                @staticmethod
                def forward(ctx, mem, alpha):
                    ctx.save_for_backward(mem)
                    ctx.alpha = alpha
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    return atan_backward(grad_output.contiguous(), mem, ctx.alpha), None
            '''),
    ),
    Code(
        "FGI108", "broken", "refused",
        "backward raises",
        meaning="backward raises: always (a class not meant to be trained through) or under a condition (a "
                "check on ctx, a simulated failure).",
        why="an FGI function has no backward to raise in: training through it would silently go on with some "
            "gradient where the original stopped with an error, and a conditional raise would stop raising. The "
            "rewriter never changes behaviour silently.",
        way_out="when the class is meant for training, write its surrogate in backward (it then converts, "
                "FGI001); when it is inference-only, nothing needs migrating: call a plain function under "
                "torch.no_grad().",
        example=_src(r'''
            import torch


            class InferenceSpike(torch.autograd.Function):
                """Spike for deployment: training through it is a mistake."""

                @staticmethod
                def forward(ctx, mem):
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    raise RuntimeError("InferenceSpike is for inference only; use ATan for training")
            '''),
    ),
    Code(
        "FGI109", "no-backward", "refused",
        "no backward found",
        meaning="the class defines no backward, or inherits it from a class outside the files given.",
        why="without a backward there is no surrogate gradient to inject (autograd raises when it needs one), "
            "and a backward inherited from a class the tool cannot read cannot be reproduced.",
        way_out="define the backward with its surrogate (the class then converts, FGI001); a class that is "
                "never differentiated needs no Function at all: a plain function does.",
        example=_src(r'''
            import torch


            class Heaviside(torch.autograd.Function):
                """A step with no surrogate: autograd refuses to differentiate it."""

                @staticmethod
                def forward(ctx, mem):
                    return (mem >= 0).float()
            '''),
    ),
    Code(
        "FGI110", "gradient-arity", "refused",
        "backward returns a different number of gradients than forward has inputs",
        meaning="backward returns more or fewer gradients than forward has inputs (besides ctx).",
        why="gradient i belongs to input i; when the counts differ the gradients cannot be mapped to inputs "
            "(autograd itself raises \"returned an incorrect number of gradients\" when the class is used).",
        way_out="return one gradient per forward input, None for the inputs that get none (here the slope). The "
                "class then converts (FGI001).",
        example=_src(r'''
            import torch


            class SigmoidSpike(torch.autograd.Function):
                """The slope is an argument of forward, but backward forgot its None."""

                @staticmethod
                def forward(ctx, mem, slope):
                    ctx.save_for_backward(mem)
                    ctx.slope = slope
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    s = torch.sigmoid(ctx.slope * mem)
                    return grad_output * ctx.slope * s * (1 - s)
            '''),
        use_instead=_src(r'''
            import torch


            class SigmoidSpike(torch.autograd.Function):
                """One gradient per forward input: None for the slope."""

                @staticmethod
                def forward(ctx, mem, slope):
                    ctx.save_for_backward(mem)
                    ctx.slope = slope
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    s = torch.sigmoid(ctx.slope * mem)
                    return grad_output * ctx.slope * s * (1 - s), None
            '''),
    ),
    Code(
        "FGI111", "unreadable", "refused",
        "structure the analysis cannot read",
        meaning="forward or backward uses a construct the static analysis does not follow: several differing "
                "return statements, an early return, gradients built dynamically, ctx used inside a block.",
        why="a rewrite needs a complete reading of both methods; what the tool cannot read it cannot reproduce, "
            "so the class is left alone rather than guessed at. The reason names the construct.",
        way_out="write forward with one return statement at its end (bind the value in each branch, return it "
                "once), or split the class; the class then converts.",
        example=_src(r'''
            import torch


            class ModeSpike(torch.autograd.Function):
                """Hard spikes in evaluation, a soft sigmoid while warming up."""

                @staticmethod
                def forward(ctx, mem, hard):
                    ctx.save_for_backward(mem)
                    if hard:
                        return (mem > 0).float()
                    return torch.sigmoid(5.0 * mem)

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    s = torch.sigmoid(5.0 * mem)
                    return grad_output * 5.0 * s * (1 - s), None
            '''),
        use_instead=_src(r'''
            import torch


            class ModeSpike(torch.autograd.Function):
                """Hard spikes in evaluation, a soft sigmoid while warming up: one return at the end."""

                @staticmethod
                def forward(ctx, mem, hard):
                    ctx.save_for_backward(mem)
                    if hard:
                        out = (mem > 0).float()
                    else:
                        out = torch.sigmoid(5.0 * mem)
                    return out

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    s = torch.sigmoid(5.0 * mem)
                    return grad_output * 5.0 * s * (1 - s), None
            '''),
    ),
    Code(
        "FGI112", "forward-not-elementwise", "refused",
        "forward is not elementwise in a differentiable input",
        meaning="forward indexes, reduces, reshapes, transposes, concatenates or multiplies matrices with a "
                "differentiable input (a spike count over time, a first-spike time, a threshold viewed as [1, "
                "C, 1, 1]).",
        why="FGI adds a carrier of each differentiable input's shape to forward's value. When the value's "
            "elements are not the input's elements one to one, the carrier would change the output's shape or "
            "hand each gradient to the wrong element.",
        way_out="keep only the step in the Function and do the reduction or indexing outside it with plain "
                "tensor operations (spike(mem).sum(0)), which autograd differentiates; the spike then converts "
                "(FGI001).",
        example=_src(r'''
            import torch


            class SpikeCount(torch.autograd.Function):
                """Spikes of a [T, B, N] membrane trace, counted over the time dimension."""

                @staticmethod
                def forward(ctx, mem):
                    ctx.save_for_backward(mem)
                    return (mem > 0).float().sum(0)

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    return grad_output.unsqueeze(0) * torch.exp(-mem * mem)
            '''),
        use_instead=_src(r'''
            import torch


            class Spike(torch.autograd.Function):
                """The step alone; callers count spikes with spike(mem).sum(0), which autograd differentiates."""

                @staticmethod
                def forward(ctx, mem):
                    ctx.save_for_backward(mem)
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    return grad_output * torch.exp(-mem * mem)
            '''),
    ),
    Code(
        "FGI113", "non-differentiable-output", "refused",
        "forward's output carries no gradient",
        meaning="forward returns a bool tensor, or marks its output with ctx.mark_non_differentiable.",
        why="autograd never calls backward for such an output: training already gets no gradient through it, "
            "and the surrogate is dead code. An FGI carrier would make the output require grad (a change of "
            "behaviour) or fail to compute on bools.",
        way_out="if a gradient was intended, return a float spike ((mem > 0).to(mem.dtype)): the class converts "
                "(FGI001), and gradients start to flow where none did, which changes training; otherwise "
                "replace the Function by the plain comparison.",
        example=_src(r'''
            import torch


            class BoolSpike(torch.autograd.Function):
                """Returns the comparison itself: a bool tensor, which autograd never differentiates."""

                @staticmethod
                def forward(ctx, mem):
                    ctx.save_for_backward(mem)
                    return mem > 0

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    return grad_output * torch.exp(-mem * mem)
            '''),
        use_instead=_src(r'''
            import torch


            class BoolSpike(torch.autograd.Function):
                """A float spike: the Gaussian surrogate now reaches the membrane (training changes)."""

                @staticmethod
                def forward(ctx, mem):
                    ctx.save_for_backward(mem)
                    return (mem > 0).to(mem.dtype)

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    return grad_output * torch.exp(-mem * mem)
            '''),
    ),
    Code(
        "FGI114", "class-contract", "refused",
        "the class's contract cannot be kept by a plain function",
        meaning="the class is more than forward and backward: it has a class decorator, its own apply, an "
                "instance method, a base outside the files given, or a subclass that stays a Function.",
        why="the rewrite replaces the class by a plain object whose apply is the FGI function. Code that relies "
            "on it being a Function (a decorator or registry that inspects it, a subclass calling "
            "super().backward) would break.",
        way_out="for a decorator that registers the class, register it after its definition instead "
                "(REGISTRY[\"name\"] = Cls keeps working with the compatibility object): the class then converts. "
                "A class with its own apply or with Function subclasses has no such way out: leave it, or migrate "
                "it by hand and check that with `fgi-rewrite verify PATH --against MIGRATED`.",
        example=_src(r'''
            import torch

            SURROGATES = {}


            def register(cls):
                SURROGATES[cls.__name__.lower()] = cls
                return cls


            @register
            class Sigmoid(torch.autograd.Function):
                """Registered by name, so a model config can pick its surrogate."""

                @staticmethod
                def forward(ctx, mem):
                    ctx.save_for_backward(mem)
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    s = torch.sigmoid(4.0 * mem)
                    return grad_output * 4.0 * s * (1 - s)
            '''),
        use_instead=_src(r'''
            import torch

            SURROGATES = {}


            class Sigmoid(torch.autograd.Function):
                """Registered after its definition: the class itself is left undecorated."""

                @staticmethod
                def forward(ctx, mem):
                    ctx.save_for_backward(mem)
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    s = torch.sigmoid(4.0 * mem)
                    return grad_output * 4.0 * s * (1 - s)


            SURROGATES["sigmoid"] = Sigmoid
            '''),
    ),
    Code(
        "FGI115", "name-capture", "refused",
        "a name would mean something else in the rewritten function",
        meaning="forward and backward read one name with two meanings: backward reads a module global that "
                "forward binds as a parameter or local, or binds a local that forward reads as a global or "
                "helper.",
        why="merged into one function, one of them would read the other's value: here backward's alpha is the "
            "module's 2.0 whatever alpha the caller passed, but in the FGI function it would be the parameter, "
            "a silent change of the gradient.",
        way_out="say which one is meant: read ctx.alpha in backward for the caller's value, or rename the "
                "module constant (ALPHA). The class then converts (FGI001).",
        example=_src(r'''
            import torch

            alpha = 2.0  # default sharpness, used by the layers that do not pass their own


            class ATanSpike(torch.autograd.Function):
                """forward takes its own alpha; backward reads the module's."""

                @staticmethod
                def forward(ctx, mem, alpha):
                    ctx.save_for_backward(mem)
                    ctx.alpha = alpha
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    return grad_output * alpha / 2 / (1 + (alpha * mem) ** 2), None
            '''),
        use_instead=_src(r'''
            import torch

            alpha = 2.0  # default sharpness, used by the layers that do not pass their own


            class ATanSpike(torch.autograd.Function):
                """backward reads the alpha forward was given, through ctx."""

                @staticmethod
                def forward(ctx, mem, alpha):
                    ctx.save_for_backward(mem)
                    ctx.alpha = alpha
                    return (mem > 0).float()

                @staticmethod
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    return grad_output * ctx.alpha / 2 / (1 + (ctx.alpha * mem) ** 2), None
            '''),
    ),
    Code(
        "FGI116", "not-emitted", "refused",
        "a form the rewrite does not emit yet",
        meaning="the analysis read the class, but the emitter cannot yet write an equivalent function for it: "
                "autocast decorators (custom_fwd, custom_bwd), a classmethod forward, backward handing ctx to a "
                "helper, ...",
        why="scan reports exactly what rewrite would do, so a class the emitter cannot write is refused instead "
            "of being reported convertible and held back later. In the example, @custom_fwd casts the inputs to "
            "float32 under autocast, which the FGI function would not repeat.",
        way_out="this is a limit of fgi-rewrite, not of your code: leave the class, or migrate it by hand and "
                "check the migration with `fgi-rewrite verify PATH --against MIGRATED`.",
        example=_src(r'''
            import torch


            class HalfSafeSpike(torch.autograd.Function):
                """Runs in float32 under autocast, so the surrogate does not underflow in float16."""

                @staticmethod
                @torch.cuda.amp.custom_fwd(cast_inputs=torch.float32)
                def forward(ctx, mem):
                    ctx.save_for_backward(mem)
                    return (mem > 0).float()

                @staticmethod
                @torch.cuda.amp.custom_bwd
                def backward(ctx, grad_output):
                    (mem,) = ctx.saved_tensors
                    return grad_output * torch.exp(-2.0 * mem * mem)
            '''),
    ),
    Code(
        "FGI901", "unreadable-file", "error",
        "file cannot be read or decoded",
        meaning="the file could not be opened, or its bytes are not valid in its declared encoding (or the "
                "declaration names no known encoding).",
        why="a file that cannot be read as text can be neither analysed nor rewritten. It is reported with the "
            "line at fault and left alone; the other files are still processed, and the run exits 2.",
        way_out="fix the declaration or the bytes (here: the file is UTF-8, so declare utf-8 or drop the line; "
                "Python 3 reads UTF-8 by default), or skip the file with --exclude.",
        example=_src(r'''
            # -*- coding: ascii -*-
            import torch


            # dérivée de la fonction de seuil
            class Spike(torch.autograd.Function):
                pass
            '''),
        message="cannot decode as ascii: byte 0xc3 (ordinal not in range(128))",
    ),
    Code(
        "FGI902", "syntax-error", "error",
        "file cannot be parsed",
        meaning="the file is not valid Python for the parser.",
        why="a file that does not parse cannot be analysed or rewritten. It is reported with its line and "
            "column and left alone; the other files are still processed, and the run exits 2.",
        way_out="fix the syntax (python -m py_compile FILE shows the same error), or skip the file with "
                "--exclude.",
        example=_src(r'''
            import torch


            class Spike(torch.autograd.Function)
                @staticmethod
                def forward(ctx, mem):
                    return (mem > 0).float()
            '''),
        message="syntax error: expected ':'",
    ),
    Code(
        "FGI903", "internal-error", "error",
        "the analysis of a class failed",
        meaning="an unexpected error inside fgi-rewrite while analysing one class.",
        why="a bug in fgi-rewrite, not in your code. The class is left alone, the other classes and files are "
            "still processed, and the run exits 2 so the failure is not missed.",
        way_out="please report it with the class's source; meanwhile skip the file with --exclude.",
        no_example="every class known to trigger it was a bug of fgi-rewrite, fixed with a test, so none is "
                   "left to show.",
    ),
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}
KIND_CODES: dict[str, str] = {c.name: c.code for c in _CODES if c.status == "convertible"}


def lookup(code_or_name: str) -> Code | None:
    key = code_or_name.strip()
    if key.upper() in CODES:
        return CODES[key.upper()]
    return next((c for c in _CODES if c.name == key.lower()), None)


def _class_line(code: Code) -> str:
    """The example's class line with the suppression comment, or a generic one."""
    lines = [line for line in (code.example or "").splitlines() if line.startswith("class ")]
    return f"{lines[0] if lines else 'class Spike(torch.autograd.Function):'}  {SUPPRESSION.format(code=code.code)}"


def _sections(code: Code) -> list[tuple[str, str, str | None]]:
    """(heading, prose, code shown after the prose) in the order a reader needs them."""
    why = {"convertible": "Why it is convertible", "refused": "Why it is refused", "error": "Why it is an error"}
    sections: list[tuple[str, str, str | None]] = [("What it means", code.meaning, None),
                                                   (why[code.status], code.why, None)]
    if code.status == "convertible":
        sections.append(("Fix safety", code.fix_safety, None))
    else:
        sections.append(("How to get out" if code.status == "refused" else "How to fix it", code.way_out, None))
    if code.status != "error":  # a file error has no class line, so no comment silences it
        keep = "to keep a class as it is" if code.status == "convertible" else \
            "to keep the class and silence the report"
        hint = (f"{keep}, end its class line with the comment (`# fgi: ignore` silences every code); scan then "
                "reports the class as ignored:")
        sections.append(("Suppression", hint, _class_line(code)))
    if code.no_example:
        sections.append(("Example", f"no example: {code.no_example}", None))
    if code.example is not None:
        sections.append(("Example" if code.example.isascii() else "Example, saved as UTF-8", "", code.example))
    if code.example_fix is not None:
        how = "" if code.example_safety == "safe" else " --unsafe-fixes"
        writes = (f"`fgi-rewrite rewrite{how}` writes ({code.example_safety} fix; the tool's own layout, which a "
                  "file `ruff format` had formatted gets formatted again):")
        sections.append(("Fix", writes, code.example_fix))
    if code.use_instead is not None:
        sections.append(("Use instead", "the example changed as above, which converts:", code.use_instead))
    if code.message is not None:
        sections.append(("Message", "`fgi-rewrite scan` reports the example as:", f"{code.code} {code.message}"))
    return sections


def _sentence(prose: str) -> str:
    return prose[:1].upper() + prose[1:]


def full_description(code: Code) -> str:
    """What the code means and why, in two sentences' worth (SARIF's fullDescription)."""
    return f"{_sentence(code.meaning)} {_sentence(code.why)}"


def _fill(prose: str, width: int) -> str:
    """prose wrapped and indented, never inside a `code span` (a command split over two lines
    reads as two)."""
    import textwrap

    spans = prose.split("`")
    glued = "`".join(part.replace(" ", "\0") if n % 2 else part for n, part in enumerate(spans))
    wrapped = textwrap.fill(glued, width, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False,
                            break_long_words=False)
    return wrapped.replace("\0", " ")


def render_text(code: Code, width: int = 88) -> str:
    """Plain text for output that is not a terminal (pipes, files): prose wrapped, code indented."""
    out = [f"{code.code} ({code.name}, {code.status}): {code.summary}"]
    for heading, prose, source in _sections(code):
        out += ["", f"{heading}:"]
        if prose:
            out.append(_fill(_sentence(prose), width))
        if source is not None:
            out += ["", "\n".join(f"    {line}" if line else "" for line in source.rstrip("\n").split("\n"))]
    return "\n".join(out) + "\n"


def render_markdown(code: Code) -> str:
    """GitHub-flavoured Markdown (SARIF's help.markdown, rich in a terminal)."""
    out = [f"## {code.code} {code.name} ({code.status})", "", f"{_sentence(code.summary)}."]
    for heading, prose, source in _sections(code):
        out += ["", f"### {heading}"]
        if prose:
            out += ["", _sentence(prose)]
        if source is not None:
            out += ["", "```python" if "\n" in source.rstrip("\n") or source.startswith("class ") else "```",
                    source.rstrip("\n"), "```"]
    return "\n".join(out) + "\n"


TABLE_START = "<!-- codes table: generated by `python -m fgi_rewrite.codes --markdown README.md` -->"
TABLE_END = "<!-- end of codes table -->"


def markdown_table() -> str:
    rows = ["| code | name | status | meaning |", "|------|------|--------|---------|"]
    rows += [" | ".join(("", c.code, c.name, c.status, c.summary.replace("|", r"\|"), "")).strip() for c in _CODES]
    return "\n".join(rows) + "\n"


def replace_table(text: str) -> str:
    """text with the part between the table markers regenerated; ValueError without them."""
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"no {TABLE_START!r} ... {TABLE_END!r} markers")
    # Blank lines around the table: a Markdown table must not touch the comments.
    return text[: start + len(TABLE_START)] + "\n\n" + markdown_table() + "\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    """`--markdown` prints the README's code table; `--markdown FILE` rewrites it in FILE."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m fgi_rewrite.codes", description=main.__doc__)
    parser.add_argument("--markdown", nargs="?", const="-", metavar="FILE", required=True,
                        help="print the code table, or regenerate it between the markers in FILE")
    target = parser.parse_args(argv).markdown
    if target == "-":
        sys.stdout.write(markdown_table())
        return 0
    path = Path(target)
    try:
        path.write_text(replace_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    except (OSError, ValueError) as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

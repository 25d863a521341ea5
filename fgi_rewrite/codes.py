"""Stable rule codes: one table feeds `explain`, the docs and every output format.

Codes never change meaning once published. FGI0xx are convertible kinds, FGI1xx
are refusals, FGI9xx are problems with the input file itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    name: str
    status: str  # "convertible", "refused" or "error"
    summary: str
    explanation: str


_CODES = [
    Code(
        "FGI001", "surrogate-spike", "convertible",
        "step function with a surrogate derivative",
        "forward computes a non-differentiable step (comparison, sign, heaviside, round, ...) and "
        "backward returns grad_output times a smooth surrogate g(x). FGI computes the same value and "
        "injects g(x) through a detached carrier: y = f(x).detach() - (inj.detach() - inj).",
    ),
    Code(
        "FGI002", "straight-through", "convertible",
        "straight-through estimator (gradient 1 or a mask)",
        "backward passes grad_output through unchanged or masked by a comparison. FGI's carrier is "
        "the input itself (or the input times the mask).",
    ),
    Code(
        "FGI003", "value-replacement", "convertible",
        "forward returns another input's value",
        "forward returns one input's value while the gradient flows to another input. FGI form: "
        "other.detach() + (x - x.detach()).",
    ),
    Code(
        "FGI004", "smooth-op", "convertible",
        "smooth op with a hand-written gradient",
        "forward has no step: it is a smooth function whose backward is written by hand, usually its "
        "exact derivative. Converting it is a policy choice (autograd could differentiate the forward "
        "itself); it is reported on its own so it can be selected or ignored.",
    ),
    Code(
        "FGI005", "stochastic-spike", "convertible",
        "random spike (bernoulli) with a surrogate derivative",
        "forward draws random spikes; backward is a deterministic surrogate. The FGI function draws "
        "the same numbers in the same order, so values match under the same seed.",
    ),
    Code(
        "FGI101", "several-outputs", "refused",
        "several differentiable outputs",
        "FGI injects one gradient per input into one output. A Function with several outputs that "
        "all carry gradients mixes them in backward and cannot be written as one carrier.",
    ),
    Code(
        "FGI102", "nonlinear-in-grad", "refused",
        "backward is not linear in grad_output",
        "FGI can only reproduce gradients of the form grad_output * g(x). clamp, abs, pow, adding a "
        "constant or multiplying grad_output by itself make the gradient non-linear.",
    ),
    Code(
        "FGI103", "not-elementwise", "refused",
        "backward is not elementwise",
        "reductions over grad_output that are not a broadcast reduction, matmuls, convolutions, "
        "indexing that moves elements, or normalisation by a norm of the gradient mix elements; a "
        "per-element carrier cannot express them.",
    ),
    Code(
        "FGI104", "side-effect", "refused",
        "backward has a side effect",
        "backward prints, logs, or mutates state outside its own locals. Moving it into forward "
        "would change when and how often that happens.",
    ),
    Code(
        "FGI105", "mark-dirty", "refused",
        "forward modifies an input in place (ctx.mark_dirty)",
        "in-place Functions rely on autograd's version counters; a plain function cannot "
        "reproduce their contract.",
    ),
    Code(
        "FGI106", "random-backward", "refused",
        "backward draws random numbers",
        "random numbers drawn in backward cannot be reproduced bit for bit once the computation "
        "moves to forward.",
    ),
    Code(
        "FGI107", "opaque-call", "refused",
        "grad_output passes through a call whose source is not available",
        "backward hands grad_output to a function defined outside the files given (an extension "
        "kernel, another package); its semantics cannot be read, so linearity cannot be shown.",
    ),
    Code(
        "FGI108", "broken", "refused",
        "backward raises",
        "a backward that always raises is a broken class, and one that may raise (a simulated "
        "failure, a check) would stop raising once the gradient moves to forward; the rewriter "
        "never changes behaviour silently, so the class stays as it is.",
    ),
    Code(
        "FGI109", "no-backward", "refused",
        "no backward found",
        "the class defines no backward, or inherits it from a class outside the files given.",
    ),
    Code(
        "FGI110", "gradient-arity", "refused",
        "backward returns a different number of gradients than forward has inputs",
        "the gradient tuple does not line up with forward's inputs, so gradients cannot be mapped "
        "to inputs.",
    ),
    Code(
        "FGI111", "unreadable", "refused",
        "structure the analysis cannot read",
        "forward or backward uses a construct the static analysis does not follow (several "
        "differing return paths, gradients built dynamically, ...). The class is left alone.",
    ),
    Code(
        "FGI112", "forward-not-elementwise", "refused",
        "forward is not elementwise in a differentiable input",
        "FGI adds a carrier of each differentiable input's shape to forward's value. When forward "
        "indexes, reduces, reshapes, transposes, concatenates or multiplies matrices with that input "
        "(a first-spike time over a time dimension, a threshold viewed as [1, C, 1, 1]), the carrier "
        "would change the output's shape or hand the gradient to the wrong elements.",
    ),
    Code(
        "FGI113", "non-differentiable-output", "refused",
        "forward's output carries no gradient",
        "forward returns a bool tensor or marks its output with ctx.mark_non_differentiable: autograd "
        "never calls backward, so there is no surrogate to inject, and an FGI carrier would make the "
        "output require grad (or fail to compute on bools).",
    ),
    Code(
        "FGI114", "class-contract", "refused",
        "the class's contract cannot be kept by a plain function",
        "the class overrides apply, carries a class decorator that may inspect it, is subclassed by a "
        "class that is not rewritten, or has members the compatibility object cannot keep; replacing "
        "it would break code that relies on it being a Function.",
    ),
    Code(
        "FGI115", "name-capture", "refused",
        "a name would mean something else in the rewritten function",
        "backward and forward are different scopes: backward may read a module global that forward "
        "shadows with a parameter or local, or bind a local that forward reads as a global or helper. "
        "Merged into one function, one of them would read the other's value.",
    ),
    Code(
        "FGI116", "not-emitted", "refused",
        "a form the rewrite does not emit yet",
        "the analysis could read the class, but the emitter cannot yet write an equivalent function "
        "for it (autocast decorators, *args, a gradient block it does not follow, ...). scan reports "
        "exactly what rewrite would do: the class is left alone.",
    ),
    Code(
        "FGI901", "unreadable-file", "error",
        "file cannot be read or decoded",
        "the file could not be opened or decoded with its declared encoding.",
    ),
    Code(
        "FGI902", "syntax-error", "error",
        "file cannot be parsed",
        "the file is not valid Python for the parser; it is reported and left alone.",
    ),
    Code(
        "FGI903", "internal-error", "error",
        "the analysis of a class failed",
        "an unexpected error inside fgi-rewrite while analysing one class. The class is left "
        "alone, the other classes and files are still processed, and the run exits 2. Please "
        "report it with the class's source.",
    ),
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}
KIND_CODES: dict[str, str] = {c.name: c.code for c in _CODES if c.status == "convertible"}


def lookup(code_or_name: str) -> Code | None:
    key = code_or_name.strip()
    if key.upper() in CODES:
        return CODES[key.upper()]
    return next((c for c in _CODES if c.name == key.lower()), None)

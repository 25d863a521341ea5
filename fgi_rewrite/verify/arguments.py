"""Arguments for running a Function class and its FGI twin on the same inputs (imports torch).

Differentiable inputs get random values at several scales, with the first elements set to
the threshold points 0, -0.0, 1, -1 and 0.5 and the next ones next to each threshold forward
compares them with (`x >= 0.3`, `x - thr`), or values of the domain forward needs
(probabilities for `torch.bernoulli(x)`, positive values for `x.log()`, 0/1 spikes for an
input used only as a mask), all as plan.argument_spec found them or `--input` gave them.
Shapes change with the run (ranks 1 to 5, [T, B, C, H, W] included, after any literal shape
seen at a call site), so that 8 runs cover them without adding runs; when the function raises
on a run's shape, the next shape that works is used and the failure is described. Broadcast
inputs get a parameter of the input's shape less the dimensions their gradient reduces;
non-differentiable inputs take the signature default, a tensor when forward or a call site
uses one (requiring grad where the call site passes an nn.Parameter, so a leaked gradient
shows), or a caller-supplied value, else 2.7 (not a power of two, so rounding differences
show), as a 0-d tensor in every other run when nothing says which it is. Which values were
used is returned as text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

SHAPE = (6, 5)
# Run r uses SHAPES[r % 5] (after call-site shapes): ranks 2, 3, 1, 4, 5, so that the default
# 4 dtypes x 2 seeds cover every rank; SHAPE first, so the first run is what it always was.
SHAPES = (SHAPE, (4, 3, 5), (30,), (2, 3, 4, 5), (3, 2, 2, 3, 4))  # the last one is [T, B, C, H, W]
THRESHOLD_ROW = (0.0, -0.0, 1.0, -1.0, 0.5)
SCALES = (1e-3, 0.1, 1.0, 10.0, 1e3)
# Not a power of two: multiplying by 2.0 is exact in every dtype and would hide rounding
# differences between the original's arithmetic and the rewrite's.
SCALAR = 2.7
# The first elements of an input in each domain: the threshold points that are legal there.
ROWS = {"probability": (0.0, -0.0, 1.0, 0.5, 1e-3), "positive": (1.0, 0.5, 2.0, 1e-3, 1e3),
        "spikes": (0.0, -0.0, 1.0, 1.0, 0.0)}
DOMAIN_TEXT = {"probability": "probabilities in [0, 1]", "positive": "positive values", "spikes": "spikes 0/1",
               "normal": "standard normal values"}
NEAR_VALUES = 6  # thresholds placed next to, each at three elements (on it and one ulp either side)
DTYPES = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16,
          "int64": torch.int64, "int32": torch.int32, "int16": torch.int16, "int8": torch.int8,
          "uint8": torch.uint8, "bool": torch.bool}

# One input, as verify's static side describes it (see plan.argument_spec): name, role,
# default (source), full_reduction, leading, as_tensor, saved, annotation, domain, near,
# near_inputs, min_rank, exact_rank, shapes, tensor, requires_grad, value, given. Plain data, so
# the processes that run user code need neither libcst nor the analysis; keys added since the
# first version are optional.
InputSpec = Mapping[str, Any]


@dataclass
class _Run:
    """What one run used, for the description of all runs so far."""

    shape: tuple[int, ...]
    tensor_forms: bool
    failures: list[str] = field(default_factory=list)


# id(fn) -> run -> what it used: the description given with the last run covers every run.
_HISTORY: dict[Any, dict[int, _Run]] = {}


def run_shapes(spec: Sequence[InputSpec]) -> tuple[list[tuple[int, ...]], str]:
    """The shapes of the differentiable inputs in run order, and where they come from."""
    differentiable = [i for i in spec if i["role"] == "differentiable"]
    for item in differentiable:
        given = item.get("given") or {}
        if "shape" in given:
            return [tuple(given["shape"])], f"--input {item['name']}"
    least = max([i.get("min_rank") or 0 for i in differentiable] + [0])
    exact = next((i["exact_rank"] for i in differentiable if i.get("exact_rank")), None)
    seen = [tuple(s) for i in differentiable for s in i.get("shapes") or ()]
    defaults: list[tuple[int, ...]] = [s for s in SHAPES if len(s) >= least and (exact is None or len(s) == exact)]
    if not defaults:
        defaults = [_shape_of_rank(exact or least)]
    shapes = list(dict.fromkeys(seen + defaults))
    origin = "default shapes"
    if exact or least > 1:
        why = next((i.get("rank_origin") for i in differentiable if i.get("rank_origin")), "")
        origin = f"rank {'' if exact else '>= '}{exact or least} for {why}, " + origin
    if seen:
        where = next((i.get("shape_origin") for i in differentiable if i.get("shape_origin")), "")
        origin = f"call site {where}, then " + origin
    return shapes, origin


def _shape_of_rank(rank: int) -> tuple[int, ...]:
    return tuple((3, 2, 4)[d % 3] for d in range(rank))


def make_arguments(
    spec: Sequence[InputSpec],
    namespace: Mapping[str, Any],
    dtype: torch.dtype,
    seed: int,
    overrides: Mapping[str, Callable[[torch.Tensor], Any]] | None = None,
    *,
    fn: Callable[..., Any] | None = None,
    run: int | None = None,
    device: str = "cpu",
) -> tuple[list[Any], list[torch.Tensor], list[str]]:
    """(arguments, the tensors gradients are taken for, a description of each argument).

    `run` (0, 1, ... over dtypes x seeds) picks the shape and whether an input of unknown type
    is a float or a 0-d tensor; without it, the first shape and floats. With `fn`, each choice
    is tried first (forward and backward, on copies on `device`, where the caller will run it):
    on an error the next shape is used, and the error is raised only when no shape works."""
    shapes, origin = run_shapes(spec)
    first = 0 if run is None else run % len(shapes)
    tensor_forms = run is not None and run % 2 == 1 and _has_unknown(spec, overrides or {})
    # Odd runs also move a hyper-parameter off 1, 0 and -1 (a call site's `temperature=1.0`),
    # where `x * a`, `x / a` and `x ** a` agree and a wrong rewrite would pass; if the original
    # cannot run on the moved value, the run keeps the value.
    perturb = run is not None and run % 2 == 1
    attempts = [(shapes[first], tensor_forms, perturb), (shapes[first], tensor_forms, False)]
    attempts += [(shapes[first], False, False)] if tensor_forms else []
    attempts += [(s, False, False) for s in shapes[first + 1:] + shapes[:first]]
    errors: list[tuple[tuple[int, ...], bool, Exception]] = []
    for shape, forms, moved in attempts:
        arguments, leaves, parts = _build(spec, namespace, dtype, seed, overrides or {}, shape, forms, moved)
        if moved and parts == _build(spec, namespace, dtype, seed, overrides or {}, shape, forms, False)[2]:
            continue  # nothing to move: the next attempt is the same arguments
        error = _trial(fn, arguments, device) if fn is not None else None
        if error is None:
            break
        if not moved:
            errors.append((shape, forms, error))
    else:  # the error of the plainest attempt: floats, the run's own shape
        raise next((e for _, f, e in errors if not f), errors[0][2])
    instead = "floats" if forms != tensor_forms and shape == shapes[first] else str(list(shape))
    used = _Run(shape, forms, [f"{_failure(s, f, e)} ({instead} used instead)" for s, f, e in errors])
    history = {0: used}
    if fn is not None and run is not None:
        if run == 0:
            _HISTORY.pop(id(fn), None)  # a new case (or the same runs on another device)
        history = _HISTORY.setdefault(id(fn), {})
        history[run] = used
    return arguments, leaves, _describe(spec, parts, history, origin)


def _has_unknown(spec: Sequence[InputSpec], overrides: Mapping[str, Any]) -> bool:
    return any(_unknown(item) and item["name"] not in overrides for item in spec)


def _unknown(item: InputSpec) -> bool:
    """A non-differentiable input nothing tells the type of: no default, annotation, call site
    or tensor use."""
    return item["role"] == "constant" and not item["as_tensor"] and not item["saved"] and item["default"] is None \
        and item["annotation"] is None and item.get("tensor") is None and not item.get("given") \
        and item.get("domain") != "spikes"


def _trial(fn: Callable[..., Any], arguments: list[Any], device: str = "cpu") -> Exception | None:
    """Run forward and backward once on copies (the caller's tensors stay unused), leaving the
    global random state as it was."""
    copies = [a.detach().to(device, copy=True).requires_grad_(a.requires_grad) if isinstance(a, torch.Tensor)
              else a for a in arguments]
    leaves = [a for a in copies if isinstance(a, torch.Tensor) and a.requires_grad]
    try:
        with torch.random.fork_rng(devices=[] if device == "cpu" else [torch.device(device)]):
            out = fn(*copies)
            if isinstance(out, torch.Tensor) and out.requires_grad and leaves:
                torch.autograd.grad(out, leaves, torch.ones_like(out), allow_unused=True)
    except Exception as error:  # noqa: BLE001 - any error: try the next shape
        return error
    return None


def _failure(shape: tuple[int, ...], forms: bool, error: Exception) -> str:
    message = str(error).splitlines()[0][:100] if str(error) else ""
    what = "with 0-d tensor hyper-parameters" if forms else f"on {list(shape)}"
    return f"{what}: {type(error).__name__}: {message}"


def _values(shape: tuple[int, ...], domain: str | None, generator: torch.Generator) -> torch.Tensor:
    """float64 values of one domain, its legal threshold points first."""
    count = math.prod(shape)
    if domain == "probability":
        values = torch.rand(count, generator=generator, dtype=torch.float64)
    elif domain == "positive":
        values = torch.randn(count, generator=generator, dtype=torch.float64).abs() * _scales(count) + 1e-6
    elif domain == "spikes":
        values = (torch.rand(count, generator=generator, dtype=torch.float64) < 0.5).double()
    elif domain == "normal":
        values = torch.randn(count, generator=generator, dtype=torch.float64)
    else:
        values = torch.randn(count, generator=generator, dtype=torch.float64) * _scales(count)
    row = torch.tensor(ROWS.get(domain or "", THRESHOLD_ROW), dtype=torch.float64)[:count]
    values[:len(row)] = row
    return values.reshape(shape)


def _around(shape: tuple[int, ...], centre: float, generator: torch.Generator) -> torch.Tensor:
    """`domain:around:v`: values within a few tenths of v (of |v| when larger), v itself first,
    then the threshold row; the elements one ulp either side of v are placed later."""
    count = math.prod(shape)
    spread = 0.1 * max(1.0, abs(centre))
    values = centre + torch.randn(count, generator=generator, dtype=torch.float64) * spread
    row = torch.tensor((centre,) + THRESHOLD_ROW[:4], dtype=torch.float64)[:count]
    values[:len(row)] = row
    return values.reshape(shape)


def _scales(count: int) -> torch.Tensor:
    """SCALES along the flattened elements: in SHAPE, one scale per column, as always."""
    return torch.tensor(SCALES, dtype=torch.float64).repeat(count // len(SCALES) + 1)[:count]


def _legal(value: float, domain: str | None) -> bool:
    return domain not in ("probability", "positive", "spikes") or \
        (domain == "probability" and 0 <= value <= 1) or (domain == "positive" and value > 0)


def _place_near(x: torch.Tensor, targets: list[Any], start: int = len(THRESHOLD_ROW)) -> int:
    """Elements of x (already in its dtype) set on each target and one ulp either side of it:
    a threshold moved by a rounding difference shows there. A tensor target (another input,
    `x - thr`) is met elementwise. Returns the next free element."""
    flat = x.view(-1)
    for target in targets[:NEAR_VALUES]:
        if start + 3 > flat.numel():
            break
        if isinstance(target, torch.Tensor):
            try:
                near = target.detach().to(device=x.device, dtype=x.dtype).broadcast_to(x.shape).reshape(-1)
            except RuntimeError:
                continue  # does not broadcast against this shape
            near = near[start:start + 3].clone()
        else:
            near = torch.full((3,), float(target), dtype=x.dtype, device=x.device)
        if not near.is_floating_point():
            continue
        flat[start] = near[0]
        flat[start + 1] = torch.nextafter(near[1:2], torch.full_like(near[1:2], math.inf))[0]
        flat[start + 2] = torch.nextafter(near[2:3], torch.full_like(near[2:3], -math.inf))[0]
        start += 3
    return start


def _build(spec: Sequence[InputSpec], namespace: Mapping[str, Any], dtype: torch.dtype, seed: int,
           overrides: Mapping[str, Callable[[torch.Tensor], Any]], shape: tuple[int, ...],
           tensor_forms: bool, moved: bool = False) -> tuple[list[Any], list[torch.Tensor], list[str]]:
    """One set of arguments for one shape; each argument's description, less the shapes."""
    generator = torch.Generator().manual_seed(seed)
    base = _values(shape, None, generator)  # drawn first: SHAPE's values are what they always were
    arguments: list[Any] = []
    described: list[str] = []
    wants_grad: list[bool] = []
    for item in spec:
        name, given = item["name"], item.get("given") or {}
        own_dtype = DTYPES[given["dtype"]] if "dtype" in given else dtype
        domain = given.get("domain") or item.get("domain")
        value: Any
        requires = False
        if item["role"] == "differentiable":
            own_shape = tuple(given["shape"]) if "shape" in given else shape
            if domain == "around":
                value = _around(own_shape, given["around"], generator)
            else:
                value = base if domain is None and own_shape == shape else _values(own_shape, domain, generator)
            value = value.to(own_dtype).clone()  # each input its own tensor, even of the same values
            requires = True
            described.append(f"{name}=random" + _domain_text(item, domain))
        elif item["role"] == "broadcast":
            full = item["full_reduction"] or "leading" in item and item["leading"] is None
            leading = item.get("leading") or 1
            size = tuple(given["shape"]) if "shape" in given else () if full else shape[leading:]
            value = (torch.rand(size, generator=generator, dtype=torch.float64) + 0.5).to(own_dtype)
            requires = True
            described.append(f"{name}=parameter{list(size)} (--input)" if "shape" in given else
                             f"{name}=parameter[] (its gradient is summed whole)" if full else
                             f"{name}=parameter of the input's shape less its first {leading} dimension"
                             + ("s" if leading > 1 else "") + f" ({list(size)} for {list(shape)})")
        elif name in overrides:
            value = overrides[name](base.to(dtype))
            origin = getattr(overrides[name], "origin", "given")
            described.append(f"{name}={origin}")
            if moved and origin.endswith("(literal at a call site)"):
                value = _moved(value, described)
        elif given:
            size = tuple(given.get("shape", ()))
            value = _around(size, given["around"], generator) if domain == "around" else \
                _values(size, domain, generator) if size or domain else torch.tensor(SCALAR, dtype=torch.float64)
            value = value.to(own_dtype)
            requires = bool(item.get("requires_grad"))
            what = f"tensor{list(size)}" if size or domain else f"tensor({SCALAR})"
            described.append(f"{name}={what}" + (_domain_text(item, domain) or " (--input)"))
        elif item["as_tensor"]:
            value = (_values(shape, domain, generator) if domain else (base * 0.5).round()).to(dtype)
            requires = bool(item.get("requires_grad"))
            described.append(f"{name}=tensor (forward uses it as a tensor)"  # another tensor of the output's shape
                             + (f", {DOMAIN_TEXT[domain]} ({item.get('domain_origin')})" if domain else ""))
        elif domain == "spikes":  # a mask or the previous spike: a 0/1 tensor whatever else it is
            value = _values(shape, domain, generator).to(dtype)
            described.append(f"{name}=tensor, {DOMAIN_TEXT[domain]} (forward: {item.get('domain_origin')})")
        elif item.get("tensor"):
            number = item.get("value")
            value = torch.tensor(SCALAR if number is None else number, dtype=dtype)
            requires = bool(item.get("requires_grad"))
            grad = " requiring grad" if requires and value.is_floating_point() else ""
            described.append(f"{name}=tensor({SCALAR if number is None else number}){grad} "
                             f"(a tensor at a call site: {item.get('tensor_origin')})")
        elif item["saved"]:
            value = torch.tensor(SCALAR, dtype=dtype)
            described.append(f"{name}=tensor({SCALAR}) (saved for backward)")
        elif item["annotation"] in ("int", "bool"):
            value = 3 if item["annotation"] == "int" else True
            described.append(f"{name}={value} (annotated {item['annotation']})")
        elif item["default"] is not None:
            value = eval(item["default"], dict(namespace))  # the signature's own default
            described.append(f"{name}={item['default']} (default)")
            if moved:
                value = _moved(value, described)
        elif tensor_forms and _unknown(item):
            value = torch.tensor(SCALAR, dtype=dtype)
            described.append(f"{name}={SCALAR} (no default)")
        else:
            value = SCALAR
            described.append(f"{name}={SCALAR} (no default)")
        arguments.append(value)
        wants_grad.append(requires)
    _near_thresholds(spec, arguments)
    for position, requires in enumerate(wants_grad):
        value = arguments[position]
        if requires and isinstance(value, torch.Tensor) and value.is_floating_point():
            arguments[position] = value.requires_grad_(True)
    leaves = [a for a, requires in zip(arguments, wants_grad, strict=True) if requires and isinstance(a, torch.Tensor)
              and a.requires_grad]
    return arguments, leaves, described


def _moved(value: Any, described: list[str]) -> Any:
    """A number that is 1, 0 or -1 moved to SCALAR (3 for an int), said in its description."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value not in (0, 1, -1):
        return value
    moved = 3 if isinstance(value, int) else SCALAR
    described[-1] += f" (odd runs: {moved}, where {value} would hide a wrong operator)"
    return moved


def _near_thresholds(spec: Sequence[InputSpec], arguments: list[Any]) -> None:
    """Elements of each tensor input set next to the thresholds forward compares it with: the
    constants it saw (`x >= 0.3`), and the values of the other inputs (`x - thr`)."""
    by_name = {item["name"]: position for position, item in enumerate(spec)}
    for position, item in enumerate(spec):
        x = arguments[position]
        if not isinstance(x, torch.Tensor) or x.dim() == 0 or item["role"] == "constant" and not item.get("given"):
            continue
        if item["role"] == "broadcast":
            continue  # a parameter: the inputs are placed near it instead
        given = item.get("given") or {}
        domain = given.get("domain") or item.get("domain")
        if domain == "spikes":
            continue
        targets: list[Any] = [given["around"]] if "around" in given else []
        targets += [v for v in item.get("near") or () if _legal(v, domain)]
        for other in item.get("near_inputs") or ():
            value = arguments[by_name[other]] if other in by_name else None
            if isinstance(value, (int, float)) and not isinstance(value, bool) and _legal(float(value), domain):
                targets.append(float(value))
            elif isinstance(value, torch.Tensor) and domain is None:
                targets.append(value)
        if targets and x.is_floating_point():
            _place_near(x, targets)


def _domain_text(item: InputSpec, domain: str | None) -> str:
    given = item.get("given") or {}
    parts = []
    if domain == "around":
        parts.append(f"around {given.get('around')} (--input)")
    elif domain is not None:
        why = "--input" if given.get("domain") else f"forward: {item.get('domain_origin')}"
        parts.append(f"{DOMAIN_TEXT[domain]} ({why})")
    if "dtype" in given:
        parts.append(f"{given['dtype']} (--input)")
    near = [str(v) for v in item.get("near") or () if _legal(v, domain)] + list(item.get("near_inputs") or ())
    if near and domain != "spikes":
        parts.append(f"values next to {', '.join(near[:NEAR_VALUES])} (forward: {item.get('near_origin')})")
    return (", " + ", ".join(parts)) if parts else ""


def _describe(spec: Sequence[InputSpec], parts: list[str], history: dict[int, _Run], origin: str) -> list[str]:
    """Each argument's description with the shapes the runs so far used (the differentiable
    inputs) and what failed."""
    shapes = list(dict.fromkeys(r.shape for _, r in sorted(history.items())))
    failures = list(dict.fromkeys(f for _, r in sorted(history.items()) for f in r.failures))
    text = ", ".join(str(list(s)) for s in shapes)
    if len(history) > 1 or failures:
        text += f" over {len(history)} runs ({origin})"
    described = []
    for item, part in zip(spec, parts, strict=True):
        given = item.get("given") or {}
        if item["role"] == "differentiable" and "shape" not in given:
            head, _, tail = part.partition(", ")
            part = f"{head}{text}" + (f", {tail}" if tail else "")
            if failures:
                part += "; raised " + "; ".join(failures[:3])
        elif item["role"] == "differentiable":
            head, _, tail = part.partition(", ")
            part = f"{head}{list(given['shape'])} (--input)" + (f", {tail}" if tail else "")
        elif _unknown(item) and any(r.tensor_forms for r in history.values()):
            part += ", a 0-d tensor in every other run"
        described.append(part)
    return described

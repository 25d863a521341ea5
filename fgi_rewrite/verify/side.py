"""One side of `verify`: import a tree, run each class, save what it computed.

Runs in its own process (`python -m fgi_rewrite.verify.side JOB.json`), once for the original
tree and once for the rewritten twin, so that both are imported under their own package
names: absolute self-imports (`from snntorch import ...`) then resolve to the right side,
and each side checks that its modules really come from its root. This module imports torch
and executes user code.
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

DTYPES = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _resolve(module: Any, path: str) -> Any:
    obj = module
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _rng_state(device: str) -> str:
    """A digest of the generator state (CPU, and CUDA's on CUDA): both sides start from the same
    seed, so a different state means a different number of random values was drawn."""
    import hashlib

    digest = hashlib.sha256(torch.get_rng_state().numpy().tobytes())
    if device.startswith("cuda"):
        digest.update(torch.cuda.get_rng_state().numpy().tobytes())
    return digest.hexdigest()[:16]


def _describe_output(value: Any) -> dict[str, Any]:
    """What a caller can observe of one output: for a tensor its properties (values come apart,
    on CPU); for anything else its type and repr."""
    if isinstance(value, torch.Tensor):
        return {"tensor": value.detach().cpu(), "shape": list(value.shape), "dtype": str(value.dtype),
                "device": str(value.device), "requires_grad": value.requires_grad,
                "grad_fn": value.grad_fn is not None}
    return {"type": type(value).__name__, "repr": repr(value)[:200]}


def _run(fn: Any, args: list[Any], leaves: list[torch.Tensor], seed: int, device: str = "cpu") -> dict[str, Any]:
    torch.manual_seed(seed)
    out = fn(*args)
    rng_forward = _rng_state(device)
    outputs = list(out) if isinstance(out, (tuple, list)) else [out]
    generator = torch.Generator().manual_seed(seed + 1)
    # One grad_output per floating tensor output, drawn in output order whether or not it
    # requires grad, so both sides weight the same output with the same cotangent.
    differentiable, cotangents = [], []
    for value in outputs:
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            cotangent = torch.randn(value.shape, generator=generator, dtype=torch.float64).to(value.dtype)
            if value.requires_grad:
                differentiable.append(value)
                cotangents.append(cotangent.to(value.device))
    grads = torch.autograd.grad(differentiable, leaves, cotangents, allow_unused=True) \
        if differentiable and leaves else [None] * len(leaves)
    described = [_describe_output(v) for v in outputs]
    return {"out": next((d["tensor"] for d in described if "tensor" in d), None),  # the first tensor output
            "outputs": described, "single": not isinstance(out, (tuple, list)),
            "grads": [g.detach().cpu() if g is not None else None for g in grads],
            "requires_grad": bool(differentiable), "rng": [rng_forward, _rng_state(device)]}


def _first_output(fn: Any) -> Any:
    """fn reduced to its first tensor output, for the checks that look at one output only
    (the backward probe, the curves)."""
    def first(*args: Any) -> Any:
        out = fn(*args)
        return next((v for v in out if isinstance(v, torch.Tensor)), out) if isinstance(out, (tuple, list)) else out

    return first


MACHINERY = {"forward", "backward", "setup_context", "jvp", "vjp", "_backward_cls", *dir(torch.autograd.Function)}
PLAIN = (int, float, complex, str, bytes, bool, type(None))


def _describe_member(value: Any) -> list[str]:
    """[kind, value]: callables by kind only; plain values and tensors by repr, so that they
    compare across processes; other objects by type name (their repr may hold an address)."""
    if callable(value):
        return ["callable", ""]
    if isinstance(value, PLAIN) or isinstance(value, torch.Tensor) or (
            isinstance(value, (tuple, list, frozenset)) and all(isinstance(v, PLAIN) for v in value)):
        return [type(value).__name__, repr(value)]
    return [type(value).__name__, ""]


def _members(obj: Any, own: bool) -> dict[str, list[str]]:
    """The original class's own members (its body, less the Function machinery), or every name
    reachable on a compatibility object."""
    names = vars(obj) if own else dir(obj)
    found = {}
    for name in names:
        if name in MACHINERY or (name.startswith("__") and name.endswith("__")):
            continue
        try:
            found[name] = _describe_member(getattr(obj, name))
        except Exception as error:  # noqa: BLE001 - a property raising on the class is still there
            found[name] = [type(error).__name__, ""]
    return found


def _compat_members(case: dict[str, Any], module: Any, target: Any,
                    original: bool) -> dict[str, list[str]] | str | None:
    """Members of the object that keeps the class's name on this side: the class itself, or the
    shim next to an FGI function (the original qualname in the original module); None when
    there is none, a sentence when that module cannot be imported."""
    if case["object_kind"] == "class":
        return _members(target, own=original)
    home = case.get("home", case["module"])
    try:
        where = module if home == case["module"] else importlib.import_module(home)
    except Exception as error:  # noqa: BLE001 - a hand migration may have no such module
        return f"cannot import {home}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    try:
        return _members(_resolve(where, case["qualname"]), own=False)
    except AttributeError:
        return None


def _kind(value: Any) -> str:
    """What a name is bound to, with where it comes from, so that a star import that rebinds a
    name to another function of the same kind still shows."""
    import types

    if isinstance(value, types.ModuleType):
        return f"module {value.__name__}"
    if isinstance(value, type):
        return f"class {value.__module__}.{value.__qualname__}"
    owner = getattr(value, "__self__", None)
    if isinstance(owner, type) and issubclass(owner, torch.autograd.Function) and value.__name__ == "apply":
        return f"apply of {owner.__module__}.{owner.__qualname__}"  # `spike_fn = Spike.apply`
    if callable(value) and hasattr(value, "__qualname__"):
        return f"function {getattr(value, '__module__', None)}.{value.__qualname__}"
    return type(value).__name__


def _namespace(name: str, script: bool) -> dict[str, str] | str:
    """The public names of a module (`__all__` when it has one) and their kinds, or why they
    were not read."""
    if script:
        return "it runs code at import (a script): not imported for this"
    try:
        module = importlib.import_module(name)
    except (Exception, SystemExit) as error:  # a script's exit() too: reported, not fatal
        return f"it cannot be imported: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return {n: _kind(getattr(module, n)) if hasattr(module, n) else "missing" for n in names}


def _probe_backward(fn: Any, args: list[Any], leaves: list[torch.Tensor], seed: int) -> list[str]:
    """Additivity and elementwise checks of the original backward (docs/architecture.md, "Verification").

    b(a*u + c*w) == a*b(u) + c*b(w) with signed coefficients from 1e-3 to 1e3 lets neither
    abs() nor clamp() through; a one-hot grad_output must change one gradient element only.
    """
    problems: list[str] = []
    out = fn(*args)
    if not out.requires_grad or not leaves:
        return problems
    generator = torch.Generator().manual_seed(seed + 7)
    u = torch.randn(out.shape, generator=generator, dtype=torch.float64).to(out.dtype)
    w = torch.randn(out.shape, generator=generator, dtype=torch.float64).to(out.dtype)

    def vjp(cotangent: torch.Tensor) -> list[torch.Tensor | None]:
        return list(torch.autograd.grad(out, leaves, cotangent, retain_graph=True, allow_unused=True))

    for a, c in ((1e-3, -2.5), (-7.0, 1e3), (0.5, -0.25)):
        combined = vjp(a * u + c * w)
        separate = [None if x is None or y is None else a * x + c * y for x, y in zip(vjp(u), vjp(w), strict=True)]
        for position, (left, right) in enumerate(zip(combined, separate, strict=True)):
            if left is None or right is None:
                continue
            finite = torch.isfinite(left) & torch.isfinite(right)  # overflowing surrogates are hazards
            if not finite.any():
                continue
            scale = float(right[finite].abs().max().clamp_min(1e-30))
            if not torch.allclose(left[finite], right[finite], rtol=1e-4, atol=scale * 1e-5):
                problems.append(f"backward is not additive in grad_output (input {position}, a={a}, c={c})")
                return problems
    if out.numel() > 1 and leaves[0].shape == out.shape:
        hot = out.numel() // 2
        one_hot = torch.zeros_like(out)
        one_hot.view(-1)[hot] = 1
        gradient = vjp(one_hot)[0]
        others = gradient.detach().flatten().clone() if gradient is not None else None
        if others is not None:
            others[hot] = 0
        # 0 * an overflowing surrogate is NaN, not a moved element: only finite values count.
        if others is not None and bool(((others != 0) & torch.isfinite(others)).any()):
            problems.append("backward is not elementwise: a one-hot grad_output changed several gradient elements")
    return problems


def _scripting_error(function: Any) -> str:
    """Why TorchScript cannot compile `function` ("" when it can)."""
    try:
        torch.jit.script(function)
    except Exception as error:  # noqa: BLE001 - any failure is the finding
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    return ""


def _trailing_defaults(spec: list[dict[str, Any]], overrides: dict[str, Any]) -> int:
    """How many trailing constant inputs have a signature default and no value given for them."""
    count = 0
    for item in reversed(spec):
        if item["role"] != "constant" or item["default"] is None or item["name"] in overrides:
            break
        count += 1
    return count


def _hazard_inputs(args: list[Any], leaves: list[torch.Tensor]) -> list[Any]:
    """The same arguments with ±inf and NaN in the first differentiable input."""
    hazardous = list(args)
    if leaves:
        position = next(i for i, a in enumerate(args) if a is leaves[0])
        x = leaves[0].detach().clone()
        flat = x.view(-1)
        flat[0], flat[-1] = float("inf"), float("-inf")
        if flat.numel() > 2:
            flat[flat.numel() // 2] = float("nan")
        hazardous[position] = x.requires_grad_(True)
    return hazardous


CURVE_RANGE, CURVE_POINTS = (-3.0, 3.0), 401


def _curves(fn: Any, spec: list[dict[str, Any]], namespace: dict[str, Any], seed: int,
            overrides: dict[str, Any]) -> dict[str, Any] | None:
    """Forward value and d/dx over CURVE_RANGE (float64) for report's plot: x is the first
    differentiable input, the others are verify's own choice with every tensor held at its first
    element, so that each point of the curve sees the same parameters."""
    from fgi_rewrite.verify.arguments import SHAPE, make_arguments

    position = next((i for i, item in enumerate(spec) if item["role"] == "differentiable"), None)
    if position is None:
        return None
    args, _, _ = make_arguments(spec, namespace, torch.float64, seed, overrides, fn=fn)
    args = [a.detach().flatten()[0].expand(a.shape).clone() if isinstance(a, torch.Tensor) and a.numel() > 1
            else a.detach() if isinstance(a, torch.Tensor) else a for a in args]
    x = torch.linspace(*CURVE_RANGE, CURVE_POINTS, dtype=torch.float64)
    size = args[position].numel()  # inputs of verify's shape, so broadcast parameters still fit
    padded = torch.cat([x, x[-1:].expand((-CURVE_POINTS) % size)])
    values, derivatives = [], []
    for chunk in padded.split(size):
        args[position] = chunk.reshape(SHAPE).clone().requires_grad_(True)
        torch.manual_seed(seed)  # stochastic spikes draw the same numbers on both sides
        out = fn(*args)
        if out.numel() != size:
            raise ValueError(f"output has {out.numel()} elements for {size} inputs: not elementwise in x")
        grad = torch.autograd.grad(out, args[position], torch.ones_like(out), allow_unused=True)[0] \
            if out.requires_grad else None
        values.append(out.detach().double().flatten())
        derivatives.append(torch.full((size,), float("nan"), dtype=torch.float64) if grad is None
                           else grad.detach().double().flatten())
    return {"input": spec[position]["name"], "x": x, "value": torch.cat(values)[:CURVE_POINTS],
            "derivative": torch.cat(derivatives)[:CURVE_POINTS]}


@dataclass
class _Override:
    """A value given as Python source (`--arg`, settings, or a call-site literal); `x` is the
    differentiable input, the module's own names are visible."""

    expression: str
    origin: str  # what make_arguments names the value by
    namespace: dict[str, Any]

    def __call__(self, x: torch.Tensor) -> Any:
        return eval(self.expression, {**self.namespace, "torch": torch, "x": x})


def _override(code: str, namespace: dict[str, Any]) -> _Override:
    expression, _, comment = code.partition("  # ")
    return _Override(expression, f"{expression} ({comment or 'given'})", namespace)


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    from fgi_rewrite.verify.arguments import make_arguments
    from fgi_rewrite.verify.loading import LoadError, isolate, load

    isolate()
    results: dict[str, Any] = {}
    devices = job.get("devices") or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if "cuda" in devices and not torch.cuda.is_available():
        reason = "CUDA was asked for (--device cuda) but this torch sees no GPU"
        return {case["key"]: {"error": reason, "stage": "device"} for case in job["cases"]}
    namespaces: dict[str, dict[str, str] | str] = {}
    for case in job["cases"]:
        key = case["key"]
        stage, at = "import", ""  # how far this case got, for compare's reason
        try:  # by name, by path, or as the class's dependency closure (verify/loading.py)
            module, target, loaded, origin = load(case)
        except LoadError as error:
            results[key] = {"error": str(error), "stage": "import", "loaded": error.loaded}
            continue
        try:
            fn = target.apply if case["object_kind"] == "class" else target
            stage = "arguments"
            spec = case["inputs"]
            overrides = {name: _override(code, vars(module)) for name, code in case.get("arguments", {}).items()}
            entry: dict[str, Any] = {"runs": {}, "origin": origin, "loaded": loaded}
            for device in devices:
                for dtype_name in job["dtypes"]:
                    dtype = DTYPES[dtype_name]
                    for seed in range(job["seed"], job["seed"] + job["repeats"]):
                        at = f"{device}/{dtype_name}/{seed}"
                        args, leaves, described = make_arguments(
                            spec, vars(module), dtype, seed, overrides, fn=fn, device=device,
                            run=job["dtypes"].index(dtype_name) * job["repeats"] + seed - job["seed"])
                        args = [a.to(device).detach().requires_grad_(a.requires_grad) if isinstance(a, torch.Tensor)
                                else a for a in args]
                        leaves = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
                        entry["arguments"] = described
                        entry["runs"][at] = _run(fn, args, leaves, seed, device)
                        entry["runs"][at]["arguments"] = list(described)  # compare checks both sides ran these
                        stage = "run"  # the inferred arguments work: later failures are the class's
                        if len(leaves) > 1:  # only the first input requires grad
                            at += "/first-only"
                            partial = [a.detach() if isinstance(a, torch.Tensor) and a is not leaves[0] else a
                                       for a in args]
                            entry["runs"][at] = _run(fn, partial, [leaves[0]], seed, device)
            # (a module built from the class's dependency closure has no wrapper to try)
            entry["unignored"] = {name: _scripting_error(wrapper) for name in case.get("unignored", [])
                                  if (wrapper := getattr(module, name, None)) is not None}
            omitted = _trailing_defaults(spec, overrides)
            if omitted:
                # Callers leave defaulted hyper-parameters out: a migration must keep each default.
                args, leaves, _ = make_arguments(spec, vars(module), torch.float32, job["seed"], overrides, fn=fn)
                at = f"cpu/float32/{job['seed']}/defaults"
                kept = args[:len(args) - omitted]
                entry["runs"][at] = _run(fn, kept, [a for a in leaves if any(a is k for k in kept)], job["seed"])
            autocast_device = case["autocast"]
            if autocast_device in devices:
                # The original casts its inputs under autocast (@custom_fwd): compare there too.
                low = torch.bfloat16 if autocast_device == "cpu" else torch.float16
                args, leaves, _ = make_arguments(spec, vars(module), torch.float32, job["seed"], overrides, fn=fn,
                                                 device=autocast_device)
                args = [a.to(autocast_device).detach().requires_grad_(a.requires_grad) if isinstance(a, torch.Tensor)
                        else a for a in args]
                leaves = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
                at = f"{autocast_device}/autocast-{str(low)[6:]}/{job['seed']}"
                with torch.autocast(autocast_device, dtype=low):
                    entry["runs"][at] = _run(fn, args, leaves, job["seed"], autocast_device)
            at = ""
            args, leaves, _ = make_arguments(spec, vars(module), torch.float64, job["seed"], overrides, fn=fn)
            if job["side"] == "original":
                entry["probe_problems"] = _probe_backward(_first_output(fn), args, leaves, job["seed"])
            if leaves:
                hazard_args = _hazard_inputs(args, leaves)
                first = next(a for a in hazard_args if isinstance(a, torch.Tensor) and a.requires_grad)
                try:
                    entry["hazard"] = _run(fn, hazard_args, [first], job["seed"])
                except Exception as error:  # e.g. bernoulli(NaN): a hazard finding, not a failure
                    entry["hazard_error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
            if job.get("curves"):
                try:
                    entry["curves"] = _curves(_first_output(fn), spec, vars(module), job["seed"], overrides)
                except Exception as error:  # noqa: BLE001 - the plot is missing, the verdict stands
                    first_line = str(error).splitlines()[0] if str(error) else ""
                    entry["curves_error"] = f"{type(error).__name__}: {first_line}"
            if job["compat"] != "none":
                from fgi_rewrite.verify.compat import compat_matrix

                differentiable = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.requires_grad]
                matrix = compat_matrix(fn, args, differentiable, full=job["compat"] == "full")
                entry["compat"] = {name: [cell.status, cell.detail] for name, cell in matrix.items()}
            entry["members"] = _compat_members(case, module, target, job["side"] == "original")
            for name in case.get("namespaces", ()):
                if name not in namespaces:
                    namespaces[name] = _namespace(name, name in case.get("scripts", ()))
            entry["namespaces"] = {name: namespaces[name] for name in case.get("namespaces", ())}
            results[key] = entry
        except Exception as error:  # one class never stops the others
            results[key] = {"error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
                            "stage": stage, "at": at, "loaded": loaded}
    return results


def _compare_with_original(job: dict[str, Any], results: dict[str, Any]) -> None:
    """FGI side: wait for the original's results (written atomically, or a failure marker),
    compare, and write the verdicts as JSON."""
    import os
    import time

    from fgi_rewrite.verify.compare import Case, compare

    original_path, failed = Path(job["compare_with"]), Path(job["original_failed"])
    while not original_path.exists() and not failed.exists():
        time.sleep(0.02)
    if not original_path.exists():
        return
    original = torch.load(original_path, weights_only=False)
    verdicts = {}
    for spec in job["cases"]:
        case = Case(spec["key"], spec["path"], Path(spec["path"]), spec["qualname"], spec.get("home", ""), "",
                    spec["tolerance"], ("", "", "class"), replacements=spec.get("replacements", {}),
                    mapped=spec.get("mapped", []))
        verdict = compare(case, original.get(spec["key"], {"error": "no result"}),
                          results.get(spec["key"], {"error": "no result"}))
        verdicts[spec["key"]] = verdict.plain()
    temporary = Path(job["verdicts"] + ".tmp")
    temporary.write_text(json.dumps(verdicts))
    os.replace(temporary, job["verdicts"])


def main() -> None:
    import os

    # "-": torch is imported already (module level); the job arrives on stdin once planned.
    job = json.loads(sys.stdin.read() if sys.argv[1] == "-" else Path(sys.argv[1]).read_text())
    torch.set_num_threads(job.get("threads", 1))
    results = run_job(job)
    if "compare_with" in job:
        _compare_with_original(job, results)
        return
    temporary = job["out"] + ".tmp"
    torch.save(results, temporary)
    os.replace(temporary, job["out"])  # the FGI side waits for this name: never half-written


if __name__ == "__main__":
    main()

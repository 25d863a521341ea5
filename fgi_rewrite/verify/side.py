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
from pathlib import Path
from typing import Any

import torch

DTYPES = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _resolve(module: Any, path: str) -> Any:
    obj = module
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _run(fn: Any, args: list[Any], leaves: list[torch.Tensor], seed: int) -> dict[str, Any]:
    torch.manual_seed(seed)
    out = fn(*args)
    generator = torch.Generator().manual_seed(seed + 1)
    grad_output = torch.randn(out.shape, generator=generator, dtype=torch.float64).to(out.dtype)
    grads = torch.autograd.grad(out, leaves, grad_output, allow_unused=True) if out.requires_grad else [None] * len(leaves)
    return {"out": out.detach().cpu(), "grads": [g.detach().cpu() if g is not None else None for g in grads],
            "requires_grad": out.requires_grad}


def _probe_backward(fn: Any, args: list[Any], leaves: list[torch.Tensor], seed: int) -> list[str]:
    """Additivity and elementwise checks of the original backward (DESIGN.md section 4).

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
        separate = [None if x is None else a * x + c * y for x, y in zip(vjp(u), vjp(w))]
        for position, (left, right) in enumerate(zip(combined, separate)):
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


def _override(code: str, namespace: dict[str, Any]) -> Any:
    """A value given as Python source (`--arg`, settings, or a call-site literal); `x` is the
    differentiable input, the module's own names are visible."""
    expression, _, comment = code.partition("  # ")

    def make(x: torch.Tensor) -> Any:
        return eval(expression, {**namespace, "torch": torch, "x": x})

    make.origin = f"{expression} ({comment or 'given'})"  # type: ignore[attr-defined]
    return make


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    from fgi_rewrite.verify.arguments import make_arguments

    root = job["root"]
    sys.path.insert(0, root)
    results: dict[str, Any] = {}
    devices = job.get("devices") or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if "cuda" in devices and not torch.cuda.is_available():
        reason = "CUDA was asked for (--device cuda) but this torch sees no GPU"
        return {case["key"]: {"error": reason, "stage": "device"} for case in job["cases"]}
    for case in job["cases"]:
        key = case["key"]
        try:
            module = importlib.import_module(case["module"])
            origin = str(Path(module.__file__ or "").resolve())
            if not origin.startswith(str(Path(root).resolve())):
                raise ImportError(f"{case['module']} was imported from {origin}, outside {root}")
            target = _resolve(module, case["object"])
            fn = target.apply if case["object_kind"] == "class" else target
            spec = case["inputs"]
            overrides = {name: _override(code, vars(module)) for name, code in case.get("arguments", {}).items()}
            entry: dict[str, Any] = {"runs": {}, "origin": origin}
            for device in devices:
                for dtype_name in job["dtypes"]:
                    dtype = DTYPES[dtype_name]
                    for seed in range(job["seed"], job["seed"] + job["repeats"]):
                        args, leaves, described = make_arguments(
                            spec, vars(module), dtype, seed, overrides, fn=fn, device=device,
                            run=job["dtypes"].index(dtype_name) * job["repeats"] + seed - job["seed"])
                        args = [a.to(device).detach().requires_grad_(a.requires_grad) if isinstance(a, torch.Tensor)
                                else a for a in args]
                        leaves = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
                        entry["arguments"] = described
                        entry["runs"][f"{device}/{dtype_name}/{seed}"] = _run(fn, args, leaves, seed)
                        if len(leaves) > 1:  # only the first input requires grad
                            partial = [a.detach() if isinstance(a, torch.Tensor) and a is not leaves[0] else a
                                       for a in args]
                            entry["runs"][f"{device}/{dtype_name}/{seed}/first-only"] = _run(
                                fn, partial, [leaves[0]], seed)
            autocast_device = case["autocast"]
            if autocast_device in devices:
                # The original casts its inputs under autocast (@custom_fwd): compare there too.
                low = torch.bfloat16 if autocast_device == "cpu" else torch.float16
                args, leaves, _ = make_arguments(spec, vars(module), torch.float32, job["seed"], overrides, fn=fn,
                                                 device=autocast_device)
                args = [a.to(autocast_device).detach().requires_grad_(a.requires_grad) if isinstance(a, torch.Tensor)
                        else a for a in args]
                leaves = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
                with torch.autocast(autocast_device, dtype=low):
                    entry["runs"][f"{autocast_device}/autocast-{str(low)[6:]}/{job['seed']}"] = _run(
                        fn, args, leaves, job["seed"])
            args, leaves, _ = make_arguments(spec, vars(module), torch.float64, job["seed"], overrides, fn=fn)
            if job["side"] == "original":
                entry["probe_problems"] = _probe_backward(fn, args, leaves, job["seed"])
            if leaves:
                hazard_args = _hazard_inputs(args, leaves)
                first = next(a for a in hazard_args if isinstance(a, torch.Tensor) and a.requires_grad)
                try:
                    entry["hazard"] = _run(fn, hazard_args, [first], job["seed"])
                except Exception as error:  # e.g. bernoulli(NaN): a hazard finding, not a failure
                    entry["hazard_error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
            if job.get("curves"):
                try:
                    entry["curves"] = _curves(fn, spec, vars(module), job["seed"], overrides)
                except Exception as error:  # noqa: BLE001 - the plot is missing, the verdict stands
                    entry["curves_error"] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            if job["compat"] != "none":
                from fgi_rewrite.verify.compat import compat_matrix

                differentiable = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.requires_grad]
                matrix = compat_matrix(fn, args, differentiable, full=job["compat"] == "full")
                entry["compat"] = {name: [cell.status, cell.detail] for name, cell in matrix.items()}
            results[key] = entry
        except Exception as error:  # one class never stops the others
            results[key] = {"error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"}
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
        case = Case(spec["key"], spec["path"], Path(spec["path"]), spec["qualname"], "", "", spec["tolerance"],
                    ("", "", "class"))
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

"""Acceptance on real code: rewrite a copy of a package, import it, compare every rewritten class.

    python scripts/check_real_libraries.py ~/.cache/fgi-dev-corpus/snntorch-1.0.0/snntorch [--unsafe-fixes]

The original and the rewritten copy are run in separate processes (both are imported under
the package's own name, so absolute self-imports resolve to the right side); each process
writes forward values and gradients for the same seeded inputs, and this script compares
them: forward bitwise, gradients bitwise for safe rewrites and within a few ulps for unsafe
ones. This runs the package's code.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SIDE = r'''
import importlib, json, sys, torch
import libcst as cst
from fgi_rewrite.arguments import make_arguments
from fgi_rewrite.verify import argument_spec
from fgi_rewrite.discovery import find_function_classes
from fgi_rewrite.extract import extract
root, cases, out, given = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
sys.path.insert(0, root)
results = {}
for case in cases:
    key = case["module"] + ":" + case["qualname"]
    try:
        module = importlib.import_module(case["module"])
        assert module.__file__.startswith(root), module.__file__
        obj = module
        for part in case["qualname"].split("."):
            obj = getattr(obj, part)
        source = open(case["original_file"], "rb").read()
        classes, index = find_function_classes(cst.parse_module(source))
        ir = extract(next(c for c in classes if c.qualname == case["qualname"]), index)
        entry = []
        for dtype in (torch.float64, torch.float32):
            mine = {k.split(".")[-1]: v for k, v in given.items() if k.rsplit(".", 1)[0] == case["qualname"]}
            overrides = {name: (lambda x, code=code: eval(code, {"torch": torch, "x": x})) for name, code in mine.items()}
            args, leaves, described = make_arguments(argument_spec(ir), vars(module), dtype, seed=0, overrides=overrides)
            torch.manual_seed(0)
            y = obj.apply(*args)
            go = torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(y.dtype)
            grads = torch.autograd.grad(y, leaves, go, allow_unused=True)
            entry.append({"y": y.detach(), "grads": [g for g in grads], "args": described})
        results[key] = entry
    except Exception as error:
        results[key] = f"{type(error).__name__}: {error}"
torch.save(results, out)
'''


def run_side(root: Path, cases: list[dict], out: Path, given: dict[str, str]) -> dict:
    import torch

    subprocess.run([sys.executable, "-c", SIDE, str(root), json.dumps(cases), str(out), json.dumps(given)], check=True)
    return torch.load(out, weights_only=False)


def ulps(a, b) -> float:
    import torch

    a64, b64 = a.double(), b.double()
    scale = torch.maximum(a64.abs(), b64.abs())
    ulp = torch.where(scale > 0, scale * torch.finfo(a.dtype).eps, torch.finfo(a.dtype).tiny)
    return float(((a64 - b64).abs() / ulp).max()) if a.numel() else 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("package", type=Path)
    parser.add_argument("--unsafe-fixes", action="store_true")
    parser.add_argument("--arg", action="append", default=[], metavar="QUALNAME.PARAM=EXPR",
                        help="value for a non-differentiable input, a Python expression (x is the input tensor)")
    options = parser.parse_args()
    package = options.package.resolve()
    work = Path(tempfile.mkdtemp(prefix="fgi-accept-"))
    copy = work / package.name
    shutil.copytree(package, copy)
    command = [sys.executable, "-m", "fgi_rewrite", "rewrite", str(copy)]
    if options.unsafe_fixes:
        command.append("--unsafe-fixes")
    result = subprocess.run(command, capture_output=True, text=True)
    print(result.stderr.splitlines()[-1])
    cases = []
    for line in result.stderr.splitlines():
        parts = line.split(": ")
        if len(parts) >= 3 and parts[2].startswith("rewritten"):
            file = Path(parts[0])
            relative = file.resolve().relative_to(work)
            module = ".".join(relative.with_suffix("").parts)
            cases.append({"module": module, "qualname": parts[1],
                          "original_file": str(package.parent / relative)})
    given = dict(item.split("=", 1) for item in options.arg)
    original = run_side(package.parent, cases, work / "original.pt", given)
    rewritten = run_side(work, cases, work / "rewritten.pt", given)
    import torch

    tolerance = 16 if options.unsafe_fixes else 0
    failures = skipped = 0
    for case in cases:
        key = case["module"] + ":" + case["qualname"]
        a, b = original[key], rewritten[key]
        if isinstance(a, str) and a == b:
            print(f"SKIPPED   {key}: the original fails on the inferred arguments too: {a}")
            skipped += 1
            continue
        if isinstance(a, str) or isinstance(b, str):
            print(f"ERROR     {key}: original: {a if isinstance(a, str) else 'ok'}; "
                  f"rewritten: {b if isinstance(b, str) else 'ok'}")
            failures += 1
            continue
        worst, same, hazard = 0.0, True, 0
        for side_a, side_b in zip(a, b):
            ya, yb = side_a["y"], side_b["y"]
            width = torch.int64 if ya.element_size() == 8 else torch.int32
            differ = ya.view(width) != yb.view(width) if ya.shape == yb.shape else torch.ones(1, dtype=torch.bool)
            # Where the surrogate itself is not finite (overflow at huge inputs), FGI's cancel pair
            # is NaN while the original forward stays clean: a hazard, reported apart.
            finite = torch.ones_like(ya, dtype=torch.bool)
            for ga in side_a["grads"]:
                if ga is not None and ga.shape == ya.shape:
                    finite &= torch.isfinite(ga)
            hazard += int((differ & ~finite).sum()) if differ.shape == finite.shape else 0
            same &= ya.dtype == yb.dtype and ya.shape == yb.shape and not bool((differ & finite).any())
            for ga, gb in zip(side_a["grads"], side_b["grads"]):
                if (ga is None) != (gb is None):
                    same = False
                elif ga is not None:
                    mask = torch.isfinite(ga) & torch.isfinite(gb)
                    worst = max(worst, ulps(ga[mask], gb[mask]) if ga.shape == gb.shape else float("inf"))
        verdict = "OK" if same and worst <= tolerance else "DIFFERENT"
        failures += verdict != "OK"
        note = f" (hazard: {hazard} elements where the surrogate overflows, FGI's forward is NaN)" if hazard else ""
        print(f"{verdict:9} {key}: forward {'bitwise' if same else 'differs'}, finite gradients within {worst:g} "
              f"ulps{note}; args {', '.join(a[0]['args'])}")
    print(f"{len(cases)} rewritten classes: {len(cases) - failures - skipped} equivalent, {skipped} skipped, "
          f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

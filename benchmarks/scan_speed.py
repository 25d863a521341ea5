"""Benchmark `fgi-rewrite scan` on a large real tree (by default the installed torch sources).

Measured, each as the median (with min/max) of several subprocess runs after one untimed
warm-up run (which fills the OS file cache and writes .pyc files, so every timed run finds
them), all with this interpreter and the same environment:

1. whole tree: `python -m fgi_rewrite scan --format json TREE`;
2. whole tree: a tiny script that only calls `libcst.parse_module(bytes)` on every .py file;
3. start-up: `fgi-rewrite scan` on one 20-line module, against `python -c "import libcst"`;
4. a check (not timed) that `scan` never imports torch, with `python -X importtime`.

Goals: scanning the whole tree is faster than parsing every file with libcst (scan / parse < 1,
which the byte prefilter should make possible), and start-up stays within 0.8 s of
`import libcst` and under 1.2 s in total. Nothing is asserted: this prints figures.

    .venv/bin/python benchmarks/scan_speed.py [--tree DIR] [--runs N] [--startup-runs N] [--json FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PY = sys.executable  # every subprocess: this interpreter, this environment minus what skews runs
_UNFAIR = {"PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "PYTHONSTARTUP", "PYTHONINSPECT"}
ENV = {**{k: v for k, v in os.environ.items() if k not in _UNFAIR}, "PYTHONHASHSEED": "0"}

PARSE_ONLY = """
import os, sys, libcst
files = lines = failures = 0
for root, dirs, names in os.walk(sys.argv[1]):
    dirs.sort()
    for name in sorted(names):
        if name.endswith(".py"):
            data = open(os.path.join(root, name), "rb").read()
            files += 1
            lines += data.count(b"\\n")
            try:
                libcst.parse_module(data)
            except Exception:  # syntax errors, undecodable files, RecursionError
                failures += 1
print(files, lines, failures)"""

SMALL_MODULE = '''"""A 20-line module with one surrogate-gradient Function, for start-up timing."""
import torch


class SpikeFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + x.abs()) ** 2


def spike(x):
    return SpikeFn.apply(x)

# end
'''


def run(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def timed(name: str, cmd: list[str], runs: int, ok: tuple[int, ...] = (0,)) -> tuple[dict[str, Any], str]:
    """Warm up once, then time `runs` runs; returns the stats and the last run's stdout."""
    times, proc = [], run(cmd)[1]
    for _ in range(runs):
        seconds, proc = run(cmd)
        if proc.returncode not in ok:
            sys.exit(f"{name}: exit code {proc.returncode}\n{proc.stderr[-2000:]}")
        times.append(seconds)
    print(f"  {name}: {statistics.median(times):.3f} s", file=sys.stderr, flush=True)
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": runs,
            "exit": proc.returncode}, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, help="directory to scan (default: the installed torch package)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each whole-tree measurement")
    parser.add_argument("--startup-runs", type=int, default=10, help="timed runs of each start-up measurement")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results here")
    args = parser.parse_args()
    spec = importlib.util.find_spec("torch")
    if args.tree is None and (spec is None or not spec.submodule_search_locations):
        sys.exit("torch is not installed; pass --tree DIR")
    tree = str(args.tree or spec.submodule_search_locations[0])  # type: ignore[union-attr, index]
    scan = [PY, "-m", "fgi_rewrite", "scan"]

    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "small_module.py")
        Path(small).write_text(SMALL_MODULE)
        print(f"tree: {tree}\npython: {PY}", file=sys.stderr)
        rows: dict[str, dict[str, Any]] = {}
        rows["scan whole tree"], out = timed("scan", [*scan, "--format", "json", tree], args.runs, (0, 1, 2))
        doc = json.loads(out)["summary"]
        rows["libcst parse whole tree"], out = timed("parse", [PY, "-c", PARSE_ONLY, tree], args.runs)
        py_files, lines, failures = map(int, out.split())
        rows["startup: scan small file"], _ = timed("startup", [*scan, small], args.startup_runs, (0, 1))
        rows["startup: import libcst"], _ = timed("import libcst", [PY, "-c", "import libcst"], args.startup_runs)
        probe = run([PY, "-X", "importtime", *scan[1:], "--format", "json", small])[1]
    importtime = probe.stderr.splitlines()
    if probe.returncode not in (0, 1) or not any("libcst" in ln for ln in importtime):
        sys.exit(f"-X importtime probe did not run the scan (exit {probe.returncode})\n{probe.stderr[-2000:]}")
    torch_imports = [ln for ln in importtime if ln.startswith("import time:") and "torch" in ln]
    scan_t, parse_t = rows["scan whole tree"]["median"], rows["libcst parse whole tree"]["median"]
    start_t, libcst_t = rows["startup: scan small file"]["median"], rows["startup: import libcst"]["median"]
    derived = {
        "tree": tree, "py_files": py_files, "lines": lines, "parse_failures": failures,
        "scan_files": doc["files"], "scan_classes": doc["functions"], "scan_errors": doc["errors"],
        "scan_exit": rows["scan whole tree"]["exit"], "scan_over_parse": scan_t / parse_t,
        "startup_minus_import_libcst": start_t - libcst_t, "scan_imports_torch": bool(torch_imports),
    }

    print(f"\ntree: {tree}\n{py_files} .py files, {lines} lines, {failures} that libcst cannot parse")
    print(f"scan: {doc['files']} files, {doc['functions']} Function classes, {doc['errors']} errors "
          f"(exit {derived['scan_exit']})\n")
    print(f"{'measurement':<28}{'median s':>10}{'min s':>10}{'max s':>10}{'runs':>6}")
    for name, r in rows.items():
        print(f"{name:<28}{r['median']:>10.3f}{r['min']:>10.3f}{r['max']:>10.3f}{r['runs']:>6}")
    verdict = {True: "met", False: "NOT met"}
    print(f"\nscan / parse          = {scan_t / parse_t:.3f}   (goal < 1: {verdict[scan_t < parse_t]})")
    print(f"startup - import libcst = {start_t - libcst_t:+.3f} s (goal <= 0.8 s: "
          f"{verdict[start_t - libcst_t <= 0.8]}); startup {start_t:.3f} s (goal < 1.2 s: {verdict[start_t < 1.2]})")
    print(f"scan imports torch: {'YES: ' + torch_imports[0] if torch_imports else 'no'}")
    if args.json:
        args.json.write_text(json.dumps({"measurements": rows, **derived}, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Tool speed at scale: `scan` and `rewrite --check` on a large real tree (by default the
installed torch sources) against parsing every file with libcst, one and two jobs, and peak
memory on the largest file.

Every whole-tree variant runs as a subprocess with this interpreter; the variants alternate
within each round (their order rotating from round to round) after the files are read once
(OS file cache) and each command has run once on one file (.pyc files), so that load on the
machine falls on all of them alike. Ratios
are taken within a round and reported as the median and interquartile range over the rounds:

- scan time / parse time                  goal < 1
- rewrite throughput / parse throughput   goal >= 0.5 (rewrite counts every file it reads)
- speedup of --jobs 2, scan and rewrite   goal >= 1.6 on two cores

Peak memory is the maximum resident set size of one subprocess (getrusage RUSAGE_CHILDREN of a
fresh wrapper), on the tree's largest file and on the largest file that scan's prefilter lets
through to the parser (the largest file of torch's tree defines no Function, so is not parsed).

    .venv/bin/python benchmarks/scale.py [--tree DIR] [--rounds 3] [--limit N] [--json FILE]

`--limit N` measures an evenly spread sample of N files (copied to a temporary tree): a quick
check that the script works, not a measurement to quote.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PY = sys.executable
_UNFAIR = {"PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "PYTHONSTARTUP", "PYTHONINSPECT"}
ENV = {**{k: v for k, v in os.environ.items() if k not in _UNFAIR}, "PYTHONHASHSEED": "0"}

PARSE_ONLY = """
import os, sys, libcst
for root, dirs, names in os.walk(sys.argv[1]):
    dirs.sort()
    for name in sorted(names):
        if name.endswith(".py"):
            try:
                libcst.parse_module(open(os.path.join(root, name), "rb").read())
            except Exception:  # syntax errors, undecodable files, RecursionError
                pass
"""

PARSE_ONE = "import sys, libcst; libcst.parse_module(open(sys.argv[1], 'rb').read())"

# Runs argv[1:] as a child and prints its peak RSS in KiB (Linux reports ru_maxrss in KiB).
PEAK_RSS = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def variants(tree: str) -> dict[str, list[str]]:
    tool = [PY, "-m", "fgi_rewrite"]
    return {
        "libcst parse": [PY, "-c", PARSE_ONLY, tree],
        "scan": [*tool, "scan", "--format", "json", tree],
        "scan --jobs 2": [*tool, "scan", "--format", "json", "--jobs", "2", tree],
        "rewrite --check": [*tool, "rewrite", "--check", tree],
        "rewrite --check --jobs 2": [*tool, "rewrite", "--check", "--jobs", "2", tree],
    }


def timed(cmd: Sequence[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, check=False, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1, 2) or "Traceback" in done.stderr:
        sys.exit(f"{' '.join(cmd[:6])}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return seconds


def peak_rss_mib(cmd: Sequence[str]) -> float:
    out = subprocess.run([PY, "-c", PEAK_RSS, *cmd], env=ENV, capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1]) / 1024


def median_iqr(values: Sequence[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return statistics.median(values), q3 - q1


def python_files(tree: Path) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(tree):
        dirs.sort()
        found.extend(Path(root, n) for n in sorted(names) if n.endswith(".py"))
    return found


def sample(tree: Path, limit: int, into: Path) -> Path:
    """Copy an evenly spread sample of `limit` files, keeping their relative paths."""
    files = python_files(tree)
    step = max(1, len(files) // limit)
    for path in files[::step][:limit]:
        target = into / path.relative_to(tree)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, help="directory to measure (default: the installed torch package)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, each running every variant once")
    parser.add_argument("--limit", type=int, help="measure an evenly spread sample of N files (a quick check)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results here")
    args = parser.parse_args()
    spec = importlib.util.find_spec("torch")
    if args.tree is None and (spec is None or not spec.submodule_search_locations):
        sys.exit("torch is not installed; pass --tree DIR")
    source = args.tree or Path(spec.submodule_search_locations[0])  # type: ignore[union-attr, index]

    with tempfile.TemporaryDirectory() as tmp:
        tree = sample(source, args.limit, Path(tmp) / "tree") if args.limit else source
        files = python_files(tree)
        lines = sum(p.read_bytes().count(b"\n") for p in files)
        print(f"tree: {source}{f' (sample of {len(files)} files)' if args.limit else ''}\n"
              f"{len(files)} .py files, {lines} lines; python {PY}; {os.cpu_count()} CPUs", file=sys.stderr)
        runs = variants(str(tree))
        # Warm-up without a whole round (the bare parse alone takes minutes on torch's tree):
        # the reads above filled the file cache; one small run of each command writes .pyc files.
        for cmd in variants(str(files[0])).values():
            timed(cmd)
        times: dict[str, list[float]] = {name: [] for name in runs}
        names = list(runs)
        for round_ in range(args.rounds):
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                times[name].append(timed(runs[name]))
                print(f"  round {round_ + 1}: {name}: {times[name][-1]:.2f} s", file=sys.stderr, flush=True)

        from fgi_rewrite.scan import could_define_function

        largest = max(files, key=lambda p: p.stat().st_size)
        parsed = [p for p in files if could_define_function(p.read_bytes())]
        largest_parsed = max(parsed, key=lambda p: p.stat().st_size) if parsed else None
        memory: dict[str, dict[str, Any]] = {}
        for label, path in (("largest file", largest), ("largest file scan parses", largest_parsed)):
            if path is None:
                continue
            memory[label] = {
                "path": str(path.relative_to(tree)), "bytes": path.stat().st_size,
                "lines": path.read_bytes().count(b"\n"),
                "peak RSS MiB": {
                    "python -c 'import libcst'": peak_rss_mib([PY, "-c", "import libcst"]),
                    "libcst parse": peak_rss_mib([PY, "-c", PARSE_ONE, str(path)]),
                    "scan": peak_rss_mib([PY, "-m", "fgi_rewrite", "scan", str(path)]),
                    "rewrite --check": peak_rss_mib([PY, "-m", "fgi_rewrite", "rewrite", "--check", str(path)]),
                },
            }

    def per_round(numerator: str, denominator: str) -> tuple[float, float]:
        return median_iqr([a / b for a, b in zip(times[numerator], times[denominator], strict=True)])

    ratios = {
        "scan time / parse time (goal < 1)": per_round("scan", "libcst parse"),
        "rewrite throughput / parse throughput (goal >= 0.5)": per_round("libcst parse", "rewrite --check"),
        "scan speedup with --jobs 2 (goal >= 1.6)": per_round("scan", "scan --jobs 2"),
        "rewrite speedup with --jobs 2 (goal >= 1.6)": per_round("rewrite --check", "rewrite --check --jobs 2"),
    }
    print(f"\n{len(files)} files, {lines} lines, {args.rounds} rounds (median, IQR)\n")
    print(f"{'variant':<26}{'median s':>10}{'IQR s':>8}{'files/s':>10}{'lines/s':>11}")
    for name, values in times.items():
        median, iqr = median_iqr(values)
        print(f"{name:<26}{median:>10.2f}{iqr:>8.2f}{len(files) / median:>10.0f}{lines / median:>11.0f}")
    print()
    for name, (median, iqr) in ratios.items():
        print(f"{name:<52}{median:>7.2f}  (IQR {iqr:.2f})")
    for label, entry in memory.items():
        print(f"\npeak RSS, {label}: {entry['path']} ({entry['bytes']} bytes, {entry['lines']} lines)")
        for name, mib in entry["peak RSS MiB"].items():
            print(f"  {name:<28}{mib:>8.1f} MiB")
    if args.json:
        document = {"tree": str(source), "limit": args.limit, "files": len(files), "lines": lines,
                    "rounds": args.rounds, "seconds": times,
                    "ratios": {k: {"median": m, "iqr": q} for k, (m, q) in ratios.items()}, "memory": memory}
        args.json.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()

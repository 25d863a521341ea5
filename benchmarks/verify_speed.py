"""How long `verify` takes per class with its default checks (4 dtypes, 2 seeds, hazards,
additivity probes, default compatibility matrix).

Each side runs in one process for all classes of a run; both sides start at once and import
torch while the command plans, so the fixed cost is about one `import torch` plus start-up.
This runs `verify` on copies of 1 and of N fixture modules and reports the per-class cost
(T(N) - T(1)) / (N - 1), the one-class run, and `python -c "import torch"` for comparison;
medians of several runs.

    python benchmarks/verify_speed.py [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MODULES = ["fast_sigmoid_legacy.py", "gaussian_function_module.py", "ternary_spike.py", "learnable_threshold.py",
           "saved_output_mask.py", "smooth_sigmoid.py", "needs_input_grad.py", "mixin_backward.py"]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=False, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    one, many = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
    shutil.copy(FIXTURES / MODULES[0], one)
    for name in MODULES:
        shutil.copy(FIXTURES / name, many)
    verify = [sys.executable, "-m", "fgi_rewrite", "verify", "--format", "json"]
    timed(verify + [str(one)])  # warm the file cache and bytecode
    t_one = [timed(verify + [str(one)]) for _ in range(args.runs)]
    t_many = [timed(verify + [str(many)]) for _ in range(args.runs)]
    t_torch = [timed([sys.executable, "-c", "import torch"]) for _ in range(args.runs)]
    n = len(MODULES)
    per_class = (statistics.median(t_many) - statistics.median(t_one)) / (n - 1)
    print(f"verify, 1 class:            {statistics.median(t_one):6.2f} s  "
          f"(runs {', '.join(f'{t:.2f}' for t in t_one)})")
    print(f"verify, {n} classes:          {statistics.median(t_many):6.2f} s  "
          f"(runs {', '.join(f'{t:.2f}' for t in t_many)})")
    print(f"python -c 'import torch':   {statistics.median(t_torch):6.2f} s (both sides import it at once, while "
          "this process plans)")
    print(f"per additional class:       {per_class:6.2f} s")
    print(f"1 class minus import torch: {statistics.median(t_one) - statistics.median(t_torch):6.2f} s  "
          "(goal: under 2 s)")


if __name__ == "__main__":
    main()

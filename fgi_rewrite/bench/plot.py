"""`--plot FILE.png`: speedup bars against the custom Function in eager mode, or the training
demo's loss curves.

Speedups: one panel per phase (rows) and mode (columns); in each, a group of bars per size
(sequence length for `alif`), one bar per variant, error bars from the interquartile range of
the per-round ratios. A dashed line marks 1x. Written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

from fgi_rewrite.bench.functions import ALL_VARIANTS
from fgi_rewrite.bench.results import Row, write_atomic


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    _pyplot().close(figure)
    write_atomic(path, buffer.getvalue())


def plot_losses(losses: dict[str, list[float]], path: Path, title: str) -> None:
    """Both loss curves on one axis: where FGI equals the custom Function they coincide."""
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(6, 3.5))
    for style, (name, curve) in zip(("-", "--"), losses.items(), strict=True):
        ax.plot(range(1, len(curve) + 1), curve, style, label=name, linewidth=1)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend()
    ax.set_title(title, fontsize=9)
    figure.tight_layout()
    _save(figure, path)


def plot(rows: list[Row], path: Path, title: str) -> None:
    plt = _pyplot()

    phases = [p for p in ("train", "inference") if any(r.phase == p for r in rows)]
    modes = list(dict.fromkeys(r.mode for r in rows))
    sizes = list(dict.fromkeys(r.size for r in rows))
    present = {r.variant for r in rows}
    variants = [v for v in ALL_VARIANTS if v in present]  # one colour per variant in every plot
    by_key = {(r.phase, r.mode, r.size, r.variant): r for r in rows}
    figure, axes = plt.subplots(len(phases), len(modes), figsize=(3.6 * len(modes), 3.2 * len(phases)),
                                squeeze=False, sharey="row")
    width = 0.8 / max(1, len(variants))
    colours = plt.get_cmap("tab10")
    for i, phase in enumerate(phases):
        for j, mode in enumerate(modes):
            ax = axes[i][j]
            for k, variant in enumerate(variants):
                xs, heights, low, high = [], [], [], []
                for position, size in enumerate(sizes):
                    row = by_key.get((phase, mode, size, variant))
                    if row is None or row.speedup is None or row.speedup_iqr is None:
                        continue
                    xs.append(position + (k - (len(variants) - 1) / 2) * width)
                    heights.append(row.speedup)
                    low.append(max(0.0, row.speedup - row.speedup_iqr[0]))
                    high.append(max(0.0, row.speedup_iqr[1] - row.speedup))
                if xs:
                    ax.bar(xs, heights, width, yerr=[low, high], capsize=2, color=colours(k), label=variant)
            ax.axhline(1.0, color="grey", linestyle="--", linewidth=0.8)
            ax.set_xticks(range(len(sizes)), sizes, rotation=45, fontsize=7)
            ax.set_title(f"{mode}, {phase}", fontsize=9)
            if j == 0:
                ax.set_ylabel("speedup vs custom, eager")
    handles, labels = axes[0][0].get_legend_handles_labels()
    for row_axes in axes:
        for ax in row_axes:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                if label not in labels:
                    handles.append(handle)
                    labels.append(label)
    figure.legend(handles, labels, loc="upper right", fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout(rect=(0, 0, 0.88, 0.95))
    _save(figure, path)

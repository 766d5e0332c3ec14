"""PNG figures of one run's evaluation (matplotlib, Agg backend): DET curves, EER bars, confusion heat maps."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import norm  # noqa: E402

from codecfake.eer import det_curve  # noqa: E402
from codecfake.evaluate.results import ConditionResult  # noqa: E402
from codecfake.evaluate.score_tsv import Scores  # noqa: E402

log = logging.getLogger(__name__)

__all__ = ["plot_det", "plot_eer_bars", "plot_confusions", "write_figures"]

_TICKS = np.array([0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99])


def plot_det(scores: dict[str, Scores], path: Path) -> Path:
    """DET curves (FAR vs FRR on normal-deviate axes), one line per condition."""
    fig, ax = plt.subplots(figsize=(6, 6))
    eps = 5e-4  # rates of 0 / 1 have no normal deviate: clip them to the frame's edge (0.05 % / 99.95 %)
    for name, sc in scores.items():
        curve = det_curve(sc.score[sc.label == 0], sc.score[sc.label == 1])
        ax.plot(
            norm.ppf(np.clip(curve.far, eps, 1 - eps)), norm.ppf(np.clip(curve.frr, eps, 1 - eps)), label=name
        )
    ticks = norm.ppf(_TICKS)
    labels = [f"{100 * t:g}" for t in _TICKS]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.plot(ticks[[0, -1]], ticks[[0, -1]], "k:", lw=0.8)
    edge = norm.ppf([eps, 1 - eps])
    ax.set_xlim(*edge)
    ax.set_ylim(*edge)
    ax.set_xlabel("false acceptance rate (%)  [spoof accepted]")
    ax.set_ylabel("false rejection rate (%)  [bona fide rejected]")
    ax.set_title("DET curves per condition (score = P(bona fide))")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_eer_bars(results: Sequence[ConditionResult], path: Path, *, paper_mode: bool = False) -> Path:
    """EER % per condition; inverted conditions hatched, with EER(-s) drawn as a marker."""
    fig, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(results) + 2), 4))
    x = np.arange(len(results))
    vals = [r.value(paper_mode) for r in results]
    bars = ax.bar(x, vals, color="tab:blue")
    for b, r in zip(bars, results):
        if r.inverted:
            b.set_hatch("//")
            b.set_color("tab:red")
    ax.scatter(x, [r.eer_flipped for r in results], marker="_", color="k", s=200, label="EER(-s)")
    for xi, v in zip(x, vals):
        ax.annotate(f"{v:.2f}", (xi, v), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [r.name for r in results], rotation=45 if len(results) > 8 else 0)
    ax.set_ylabel("EER (%)")
    mode = "min(EER(s), EER(-s)) (paper mode)" if paper_mode else "EER(s); red hatched = inverted"
    ax.set_title(f"EER per condition — {mode}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusions(results: Sequence[ConditionResult], path: Path) -> Path:
    """Heat maps of the 0.5-threshold confusion matrix per condition (row-normalised colour, counts written)."""
    n = len(results)
    cols = min(n, 5)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.6 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, r in zip(axes.flat, results):
        m = np.array(r.confusion_05["matrix"], dtype=float)
        frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
        for i in range(2):
            for j in range(2):
                ax.text(
                    j, i, f"{int(m[i, j])}", ha="center", va="center", color="k" if frac[i, j] < 0.6 else "w"
                )
        ax.set_xticks([0, 1], ["real", "fake"])
        ax.set_yticks([0, 1], ["real", "fake"])
        ax.set_title(f"{r.name} acc {100 * r.confusion_05['accuracy']:.1f}%", fontsize=9)
    fig.supxlabel("predicted (P(bona fide) > 0.5)")
    fig.supylabel("true")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_figures(
    scores: dict[str, Scores], results: Sequence[ConditionResult], out_dir: Path, *, paper_mode: bool = False
) -> list[Path]:
    """All figures into ``out_dir``: det.png, eer.png, confusion.png."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        plot_det(scores, out_dir / "det.png"),
        plot_eer_bars(results, out_dir / "eer.png", paper_mode=paper_mode),
        plot_confusions(results, out_dir / "confusion.png"),
    ]

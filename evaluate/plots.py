"""PNG figures of one run's evaluation (matplotlib, Agg backend): DET curves, EER bars, confusion heat maps (the
detector's 2 x 2 ones and source tracing's K-class ones, drawn by one plotter)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import norm  # noqa: E402

from codecfake.eer import det_curve  # noqa: E402
from codecfake.evaluate.results import ConditionResult  # noqa: E402
from codecfake.evaluate.score_tsv import Scores  # noqa: E402
from codecfake.evaluate.trace_report import fmt_pct  # noqa: E402

log = logging.getLogger(__name__)

__all__ = [
    "plot_det",
    "plot_eer_bars",
    "ConfusionPanel",
    "plot_confusion_grid",
    "plot_confusions",
    "plot_trace_confusions",
    "write_figures",
]

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


@dataclass(frozen=True)
class ConfusionPanel:
    """One heat map: ``matrix`` (R, K) counts, rows = true classes, columns = predicted classes."""

    title: str
    matrix: Sequence[Sequence[int]]
    rows: Sequence[str]
    cols: Sequence[str]


def plot_confusion_grid(
    panels: Sequence[ConfusionPanel], path: Path, *, xlabel: str, ylabel: str, max_cols: int
) -> Path:
    """Heat maps of confusion matrices in a grid (row-normalised colour, counts written): the binary 2 x 2 ones of a
    detector and the K-class ones of source tracing. Panels grow with K; more than two classes get small labels."""
    n = len(panels)
    cols = min(n, max_cols)
    rows = (n + cols - 1) // cols
    k = max(len(p.cols) for p in panels)
    size = max(2.6, 0.45 * k + 1.5)  # inches per panel: room for K class names
    small = k > 2
    text = {"fontsize": 6} if small else {}
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, p in zip(axes.flat, panels):
        m = np.array(p.matrix, dtype=float).reshape(-1, len(p.cols))  # (R, K)
        frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        ax.imshow(frac, cmap="Blues", vmin=0, vmax=1, **({"aspect": "auto"} if small else {}))
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                colour = "k" if frac[i, j] < 0.6 else "w"
                ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", color=colour, **text)
        ax.set_xticks(range(len(p.cols)), p.cols, **({"rotation": 90} | text if small else {}))
        ax.set_yticks(range(m.shape[0]), p.rows, **text)
        ax.set_title(p.title, fontsize=8 if small else 9)
    fig.supxlabel(xlabel)
    fig.supylabel(ylabel)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusions(results: Sequence[ConditionResult], path: Path) -> Path:
    """The 0.5-threshold confusion matrix of each condition."""
    panels = [
        ConfusionPanel(
            f"{r.name} acc {100 * r.confusion_05['accuracy']:.1f}%",
            r.confusion_05["matrix"],
            ("real", "fake"),
            ("real", "fake"),
        )
        for r in results
    ]
    return plot_confusion_grid(
        panels, path, xlabel="predicted (P(bona fide) > 0.5)", ylabel="true", max_cols=5
    )


def plot_trace_confusions(summary: dict, path: Path) -> Path:
    """The generator confusion matrix of each condition of a trace evaluation (trace.json's content)."""
    panels = [
        ConfusionPanel(
            f"{c['name']} acc {fmt_pct(c['closed_set']['accuracy'])}%",
            c["closed_set"]["matrix"],
            c["closed_set"]["rows"],
            summary["classes"],
        )
        for c in summary["conditions"]
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    return plot_confusion_grid(panels, path, xlabel="predicted (argmax)", ylabel="true generator", max_cols=4)


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

"""Reliability (calibration) plot of a calibrated run: predicted against observed P(bona fide), dev and test.

Each set's trials are binned by the posterior their scores state, at that set's own class proportions: the raw
model's P(bona fide), and σ(LLR + logit π_set) for the calibrated LLR. A calibrated detector lies on the diagonal;
the area of each point is its number of trials.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from codecfake.evaluate.score_tsv import Scores  # noqa: E402

__all__ = ["reliability_points", "plot_reliability"]


def reliability_points(predicted: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> tuple[np.ndarray, ...]:
    """(mean predicted, observed bona fide fraction, count) per non-empty equal-width bin of ``predicted``."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    b = np.clip(np.digitize(predicted, edges[1:-1]), 0, n_bins - 1)
    count = np.bincount(b, minlength=n_bins)
    keep = count > 0
    mean_pred = np.bincount(b, weights=predicted, minlength=n_bins)[keep] / count[keep]
    observed = np.bincount(b, weights=(labels == 0), minlength=n_bins)[keep] / count[keep]
    return mean_pred, observed, count[keep]


def _posterior(llr: np.ndarray, labels: np.ndarray) -> np.ndarray:
    pi = float(np.mean(labels == 0))
    return 1.0 / (1.0 + np.exp(-(llr + np.log(pi / (1.0 - pi)))))


def plot_reliability(dev: Scores, test: dict[str, Scores], path: Path) -> Path:
    """Two panels, dev and test (every condition pooled): raw P(bona fide) and calibrated posterior per bin."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True)
    sets = [("dev (fitted on)", dev)]
    if test:
        pooled = Scores(
            np.concatenate([s.utt_id for s in test.values()]),
            np.concatenate([s.score for s in test.values()]),
            np.concatenate([s.label for s in test.values()]),
            np.concatenate([s.condition for s in test.values()]),
            np.concatenate([s.llr for s in test.values()])
            if all(s.llr is not None for s in test.values())
            else None,
        )
        sets.append((f"test ({', '.join(test)})", pooled))
    for ax, (title, sc) in zip(axes, sets, strict=False):
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        for pred, label, colour in (
            (sc.score, "raw P(bona fide)", "tab:grey"),
            (None if sc.llr is None else _posterior(sc.llr, sc.label), "calibrated", "tab:blue"),
        ):
            if pred is None or not ((sc.label == 0).any() and (sc.label == 1).any()):
                continue
            x, y, n = reliability_points(pred, sc.label)
            ax.plot(x, y, "-", color=colour, lw=1)
            ax.scatter(x, y, s=20 + 180 * n / n.max(), color=colour, label=label, alpha=0.8)
        ax.set_title(title if len(title) < 60 else title[:57] + "…", fontsize=9)
        ax.set_xlabel("predicted P(bona fide) at the set's class proportions")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    axes[0].set_ylabel("observed bona fide fraction")
    fig.suptitle("Reliability: calibration fitted on dev, never on test", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

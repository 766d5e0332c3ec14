"""The open-set figure of a trace evaluation: per scorer, the score distributions of known test clips, of clips of
generators never seen in training, and of bona fide clips of speakers never heard in training, with the dev
threshold (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from codecfake.evaluate.openset_fit import OpenSetFit  # noqa: E402
from codecfake.evaluate.trace_clips import TraceClips, clip_key  # noqa: E402
from codecfake.evaluate.trace_metrics import auroc  # noqa: E402
from codecfake.train.trace_labels import BONAFIDE  # noqa: E402

__all__ = ["score_groups", "plot_openset_scores"]

_MIN_HIST = 10  # fewer clips than this are drawn as marks


def score_groups(clips: Sequence[TraceClips], fit: OpenSetFit, scorer: str) -> dict[str, np.ndarray]:
    """{"known": ..., "unseen generator": ..., "unseen-speaker bona fide": ...} novelty scores of the test clips,
    each clip once (a real repeated in several conditions counts once)."""
    seen: set[tuple[str, str]] = set()
    groups: dict[str, list[float]] = {"known": [], "unseen generator": [], "unseen-speaker bona fide": []}
    for c in clips:
        known = c.known(fit.classes)
        for i in range(len(c.rows)):
            key = clip_key(c.set_key, c.utt_id[i])
            if key in seen:
                continue
            seen.add(key)
            v = float(c.scores[scorer][i])
            if not known[i]:
                groups["unseen generator"].append(v)
            elif c.generator[i] == BONAFIDE and fit.train_speakers and c.speaker[i] not in fit.train_speakers:
                groups["unseen-speaker bona fide"].append(v)
            else:
                groups["known"].append(v)
    return {k: np.asarray(v, dtype=np.float64) for k, v in groups.items()}


def plot_openset_scores(clips: Sequence[TraceClips], fit: OpenSetFit, path: Path) -> Path:
    """One histogram panel per scorer (density), the dev threshold as a dashed line."""
    names = list(fit.scorers)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    colours = {"known": "tab:blue", "unseen generator": "tab:red", "unseen-speaker bona fide": "tab:green"}
    for ax, name in zip(axes[0], names, strict=True):
        groups = score_groups(clips, fit, name)
        values = np.concatenate([v for v in groups.values() if len(v)] or [np.zeros(1)])
        lo, hi = np.percentile(values, [0.5, 99.5])
        bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 40)
        for g, v in groups.items():
            if len(v) >= _MIN_HIST:
                ax.hist(np.clip(v, bins[0], bins[-1]), bins=bins, density=True, alpha=0.45, color=colours[g],
                        label=f"{g} ({len(v)})")  # fmt: skip
            elif len(v):  # a handful of clips: marks on the axis, not a density spike
                ax.plot(v, np.zeros(len(v)), "|", ms=18, mew=2, color=colours[g], label=f"{g} ({len(v)})")
        ax.axvline(fit.thresholds[name], color="k", ls="--", lw=1, label="dev threshold")
        a = auroc(groups["known"], groups["unseen generator"])
        ax.set_title(f"{name}: AUROC {a:.3f} (each clip once)" if a == a else name, fontsize=9)
        ax.set_xlabel("novelty score (higher = unknown)")
    axes[0][0].set_ylabel("density")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

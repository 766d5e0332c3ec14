"""Evaluate a source-tracing run (``task = "trace"``): per test condition closed-set accuracy, macro-F1 and the
confusion matrix over its generator classes, and the open-set result at a threshold chosen on the dev split only.

Writes ``report/trace.json``, ``report/trace.md`` and ``report/trace_confusion.png`` (heat maps, one per condition);
``evaluate_run`` calls :func:`evaluate_trace` for trace runs and appends the markdown to report.md. Metrics:
``codecfake.evaluate.trace_metrics``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codecfake.evaluate.conditions import group_test_rows, qualify_collisions, sort_conditions
from codecfake.evaluate.errors import EvaluationError
from codecfake.evaluate.trace_metrics import (
    DEFAULT_KEEP,
    closed_set,
    max_softmax,
    open_set,
    open_set_threshold,
)
from codecfake.train.input_arrays import open_reader, valid_mask
from codecfake.train.trace_labels import generator_labels

log = logging.getLogger(__name__)

__all__ = [
    "is_trace_run",
    "trace_probs",
    "dev_open_set_threshold",
    "evaluate_trace",
    "render_trace",
    "trace_table",
    "load_trace_threshold",
    "top_generators",
]

POOLED = "ALL"  # the row over every test clip of every condition


def is_trace_run(run: Any) -> bool:
    return getattr(run.config, "task", "") == "trace"


@torch.inference_mode()
def trace_probs(
    model: torch.nn.Module,
    fs: Any,
    array: str,
    indices: np.ndarray,
    *,
    device: Any,
    batch: int = 256,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """(n, K) softmax probabilities of the rows ``indices`` of ``fs[array]`` (float64)."""
    reader = open_reader(fs, array)  # fused layers: (B, N, T, D) batches
    model.eval()
    out: list[np.ndarray] = []
    for start in range(0, len(indices), batch):
        idx = np.asarray(indices[start : start + batch])
        x = torch.from_numpy(np.asarray(reader.batch(idx), dtype=np.float32)).to(device)  # (B, T, D)
        out.append(torch.softmax(model(x)[1].float(), dim=1).cpu().numpy().astype(np.float64))  # (B, K)
        if progress is not None:
            progress(len(idx))
    return np.concatenate(out) if out else np.empty((0, 0))


def _valid(fs: Any, array: str, idx: np.ndarray) -> np.ndarray:
    return idx[valid_mask(fs, array)[idx]]


def dev_open_set_threshold(
    run: Any, store: Any, *, device: Any, batch: int = 256, keep: float = DEFAULT_KEEP
) -> tuple[float, int]:
    """(threshold, n known dev clips): the MSP threshold from the run's own training sets' dev rows of known
    generators (test rows are never read here)."""
    classes = set(run.classes)
    msp = []
    for key in run.feature_keys:
        fs = store.open(key)
        idx = _valid(fs, run.array, np.flatnonzero(fs.meta["split"] == "dev"))
        known = np.isin(generator_labels(fs.meta, source=fs.key)[idx].astype(str), list(classes))
        if known.any():
            msp.append(
                max_softmax(trace_probs(run.model, fs, run.array, idx[known], device=device, batch=batch))
            )
    if not msp:
        raise EvaluationError(
            f"run {run.run_dir}: no dev clips of its generator classes in {list(run.feature_keys)}; "
            "the open-set threshold is chosen on dev only"
        )
    all_msp = np.concatenate(msp)
    return open_set_threshold(all_msp, keep), int(len(all_msp))


def _condition(name: str, true: np.ndarray, probs: np.ndarray, classes: Sequence[str], thr: float) -> dict:
    cs = closed_set(true, probs.argmax(axis=1), classes)
    os_ = open_set(max_softmax(probs), np.isin(true.astype(str), list(classes)), thr)
    return {"name": name, "n": int(len(true)), "closed_set": cs.to_dict(), "open_set": os_.to_dict()}


def evaluate_trace(
    run: Any,
    store: Any,
    sets: Sequence[Any],
    report_dir: Path,
    *,
    device: Any,
    batch: int = 256,
    figures: bool = True,
    keep: float = DEFAULT_KEEP,
) -> tuple[dict, str]:
    """Score every test condition of ``sets`` with the trace run; write trace.json/md/png; (summary, markdown)."""
    from codecfake.json_text import as_json

    classes = list(run.classes)
    thr, n_dev = dev_open_set_threshold(run, store, device=device, batch=batch, keep=keep)
    groups = [(fs, g) for fs in sets for g in group_test_rows(fs.spec.corpus, fs.meta)]
    names = qualify_collisions([g for _, g in groups])
    conds, pooled_true, pooled_probs = [], [], []
    for i, (fs, g) in enumerate(groups):
        idx = _valid(fs, run.array, g.indices)
        if not len(idx):
            continue
        true = generator_labels(fs.meta, source=fs.key)[idx]
        probs = trace_probs(run.model, fs, run.array, idx, device=device, batch=batch)
        conds.append(_condition(names[i], true, probs, classes, thr))
        pooled_true.append(true)
        pooled_probs.append(probs)
    order = {n: k for k, n in enumerate(sort_conditions([c["name"] for c in conds]))}
    conds.sort(key=lambda c: order[c["name"]])
    if conds:
        conds.append(
            _condition(POOLED, np.concatenate(pooled_true), np.concatenate(pooled_probs), classes, thr)
        )
    summary = {
        "classes": classes,
        "keep": keep,
        "threshold": thr,
        "n_dev_known": n_dev,
        "score": "max softmax",
        "conditions": conds,
    }
    report_dir.mkdir(parents=True, exist_ok=True)
    fig = []
    if figures and conds:
        fig = [plot_trace_confusions(conds, classes, report_dir / "trace_confusion.png").name]
    summary["figures"] = fig
    md = render_trace(summary)
    (report_dir / "trace.json").write_text(as_json(summary) + "\n")
    (report_dir / "trace.md").write_text(md)
    log.info(
        "%s: source tracing over %d classes, %d conditions -> %s",
        run.run_dir,
        len(classes),
        len(conds),
        report_dir / "trace.md",
    )
    return summary, md


def _pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f}"


def _auroc(x: float | None) -> str:
    return "–" if x is None or x != x else f"{x:.3f}"


def trace_table(report: dict) -> str:
    """The one-table summary (markdown) of a trace evaluation: ``report`` is report.json (with its "trace" key) or
    trace.json itself. Rows = conditions then ALL; accuracy / macro-F1 in %, AUROC, unknown detection %."""
    t = report.get("trace", report)
    lines = [
        "| condition | clips | known | accuracy % | macro-F1 % | unseen | AUROC known vs unseen | "
        "unseen → unknown % | known → unknown % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in t["conditions"]:
        cs, os_ = c["closed_set"], c["open_set"]
        lines.append(
            f"| {c['name']} | {c['n']} | {cs['n']} | {_pct(cs['accuracy'])} | {_pct(cs['macro_f1'])} | "
            f"{os_['n_unknown']} | {_auroc(os_['auroc'])} | {_pct(os_['detection_rate'])} | "
            f"{_pct(os_['false_unknown_rate'])} |"
        )
    return "\n".join(lines) + "\n"


def _matrix_md(c: dict, classes: Sequence[str]) -> list[str]:
    cs = c["closed_set"]
    head = "| true \\ predicted | " + " | ".join(classes) + " |"
    lines = [head, "|" + "---|" * (len(classes) + 1)]
    lines += [
        f"| {r} | " + " | ".join(str(v) for v in row) + " |" for r, row in zip(cs["rows"], cs["matrix"])
    ]
    return lines


def render_trace(summary: dict) -> str:
    """trace.md: classes, threshold, the summary table, and each condition's confusion matrix."""
    classes = summary["classes"]
    lines = [
        "",
        "## Source tracing",
        "",
        f"Classes ({len(classes)}, from the training rows; logit order): {', '.join(classes)}. Accuracy and "
        "macro-F1 are closed-set (argmax) over the clips of these generators; clips of generators never seen in "
        "training are 'unseen'. Open set: a clip is called unknown when its max softmax probability is below "
        f"{summary['threshold']:.4f}, the threshold keeping {100 * summary['keep']:g} % of the "
        f"{summary['n_dev_known']} known dev clips (chosen on dev only).",
        "",
        trace_table(summary),
        "Confusion matrices (rows = true generator, columns = argmax class; unseen generators' rows show which "
        "known class they are attributed to):",
        "",
    ]
    for c in summary["conditions"]:
        lines += [f"**{c['name']}**", "", *_matrix_md(c, classes), ""]
    lines += [f"![trace confusion]({f})" for f in summary.get("figures", [])]
    return "\n".join(lines) + "\n"


def plot_trace_confusions(conds: Sequence[dict], classes: Sequence[str], path: Path) -> Path:
    """Heat maps of each condition's confusion matrix (row-normalised colour, counts written)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(conds)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    size = 0.45 * len(classes) + 1.5
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, c in zip(axes.flat, conds):
        m = np.array(c["closed_set"]["matrix"], dtype=float).reshape(-1, len(classes))  # (rows, K)
        frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        ax.imshow(frac, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(
                    j,
                    i,
                    f"{int(m[i, j])}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="k" if frac[i, j] < 0.6 else "w",
                )
        ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize=6)
        ax.set_yticks(range(m.shape[0]), c["closed_set"]["rows"], fontsize=6)
        ax.set_title(f"{c['name']} acc {_pct(c['closed_set']['accuracy'])}%", fontsize=8)
    fig.supxlabel("predicted (argmax)")
    fig.supylabel("true generator")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def load_trace_threshold(run_dir: str | Path) -> float | None:
    """The open-set threshold an earlier ``codecfake evaluate`` chose on dev (report/trace.json), or None."""
    import json

    path = Path(run_dir) / "report" / "trace.json"
    if not path.is_file():
        return None
    return float(json.loads(path.read_text())["threshold"])


def top_generators(probs: np.ndarray, classes: Sequence[str], k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` most probable classes of one clip's (K,) probabilities, most probable first."""
    order = np.argsort(-np.asarray(probs), kind="stable")[:k]
    return [(classes[i], float(probs[i])) for i in order]

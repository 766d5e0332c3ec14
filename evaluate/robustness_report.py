"""robustness.md and robustness.png of a sweep: EER per condition x degradation, the mean and the worst."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from codecfake.evaluate.robustness import CLEAN


def _fmt(cell: Mapping[str, Any]) -> str:
    if "eer" not in cell:
        return "—"
    ci = cell.get("ci")
    text = f"{cell['eer']:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
    return text + (f" ({cell['rejected']} rej.)" if cell.get("rejected") else "")


def render_markdown(report: Mapping[str, Any], figure: str | None) -> str:
    degs = list(report["degradations"])
    cols = [CLEAN, *degs]
    summary = report["summary"]
    lines = [
        f"# Robustness of {report['run']}",
        "",
        f"EER % (95 % bootstrap interval, {report['bootstrap']['resamples']} resamples) of the run's best checkpoint on "
        f"each test condition, clean and laundered by each degradation (bona fide and spoof alike; `DEGRADE="
        f"{report['degrade']}`, seed {report['seed']}). Rejected: clips whose degradation failed, left out.",
        "",
        "| condition | " + " | ".join(cols) + " | mean over degradations | worst |",
        "|---|" + "---|" * (len(cols) + 2),
    ]
    for cond in report["conditions"]:
        row = report["cells"][cond]
        s = summary["conditions"].get(cond)
        tail = [f"{s['mean']:.2f}", f"{s['worst']} ({s['worst_eer']:.2f})"] if s else ["—", "—"]
        lines.append(
            f"| {cond} | " + " | ".join(_fmt(row.get(c, {})) for c in cols) + " | " + " | ".join(tail) + " |"
        )
    by = summary["by_degradation"]
    lines.append(
        "| **mean over conditions** | "
        + " | ".join(f"{by[c]:.2f}" if c in by else "—" for c in cols)
        + " | | |"
    )
    if summary["worst_degradation"]:
        w = summary["worst_degradation"]
        lines += [
            "",
            f"Worst degradation (highest mean EER over conditions): **{w}** ({by[w]:.2f} % vs {by.get(CLEAN, float('nan')):.2f} % clean).",
        ]
    if figure:
        lines += ["", f"![EER per condition and degradation]({figure})"]
    return "\n".join(lines) + "\n"


def write_figure(report: Mapping[str, Any], path: Path) -> Path:
    """A heat map of EER % (conditions x clean + degradations), the value in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = [CLEAN, *report["degradations"]]
    conds = list(report["conditions"])
    grid = np.array(
        [[report["cells"][c].get(d, {}).get("eer", np.nan) for d in cols] for c in conds], dtype=np.float64
    )
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(cols), 1.0 + 0.45 * len(conds)))
    im = ax.imshow(
        grid, cmap="magma_r", vmin=0, vmax=max(50.0, float(np.nanmax(grid)) if grid.size else 50.0)
    )
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(conds)), conds)
    for i in range(len(conds)):
        for j in range(len(cols)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", fontsize=8, color="tab:blue")
    fig.colorbar(im, ax=ax, label="EER %")
    ax.set_title(f"{report['run']}: EER under laundering")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

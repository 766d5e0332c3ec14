"""Markdown of a source-tracing evaluation: the one-table summary and trace.md (classes, threshold, confusions).

Reads the summary that ``trace_eval.evaluate_trace`` makes (report.json's ``trace``, or trace.json itself).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["fmt_pct", "trace_table", "render_trace"]


def fmt_pct(x: float | None) -> str:
    """A rate in [0, 1] as a percentage with one decimal; "–" when undefined."""
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
            f"| {c['name']} | {c['n']} | {cs['n']} | {fmt_pct(cs['accuracy'])} | {fmt_pct(cs['macro_f1'])} | "
            f"{os_['n_unknown']} | {_auroc(os_['auroc'])} | {fmt_pct(os_['detection_rate'])} | "
            f"{fmt_pct(os_['false_unknown_rate'])} |"
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

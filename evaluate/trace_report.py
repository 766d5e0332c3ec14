"""Markdown of a source-tracing evaluation: the one-table summary, the per-scorer open-set table, bona fide of new
speakers, and trace.md (classes, thresholds, confusions).

Reads the summary that ``trace_eval.evaluate_trace`` makes (report.json's ``trace``, or trace.json itself).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["fmt_pct", "trace_table", "scorer_table", "speaker_lines", "render_trace"]


def fmt_pct(x: float | None) -> str:
    """A rate in [0, 1] as a percentage with one decimal; "–" when undefined."""
    return "–" if x is None or x != x else f"{100 * x:.1f}"


def _auroc(x: float | None) -> str:
    return "–" if x is None or x != x else f"{x:.3f}"


def scorer_table(report: dict, condition: str = "ALL") -> str:
    """Every open-set scorer on one condition (default: ALL): threshold, AUROC, FPR at 95 % TPR, detection and
    false-unknown rates at the dev threshold. The default scorer is marked."""
    t = report.get("trace", report)
    rows = [c for c in t["conditions"] if c["name"] == condition]
    if not rows or "scorers" not in rows[0]:
        return ""
    lines = [
        f"| open-set scorer ({condition}) | dev threshold | AUROC known vs unseen | FPR at 95 % TPR % | "
        "unseen → unknown % | known → unknown % |",
        "|---|---|---|---|---|---|",
    ]
    for name, os_ in rows[0]["scorers"].items():
        mark = " (default)" if name == t.get("default") else ""
        lines.append(
            f"| {name}{mark} | {os_['threshold']:.4g} | {_auroc(os_['auroc'])} | {fmt_pct(os_['fpr95'])} | "
            f"{fmt_pct(os_['detection_rate'])} | {fmt_pct(os_['false_unknown_rate'])} |"
        )
    return "\n".join(lines) + "\n"


def _group_line(label: str, g: dict) -> str:
    if not g.get("n"):
        return f"- {label}: none among the test clips."
    gens = ", ".join(f"{k} {v}" for k, v in list(g["generators"].items())[:4]) or "none"
    unk = ", ".join(f"{s} {fmt_pct(v)} %" for s, v in g["called_unknown"].items())
    return (
        f"- {label}: {g['n']} clip{'s' if g['n'] != 1 else ''}; traced as bona fide {fmt_pct(g['traced_bonafide'])} %, as a generator "
        f"{fmt_pct(g['traced_generator'])} % (most: {gens}); called unknown: {unk}."
    )


def speaker_lines(summary: dict) -> list[str]:
    """Markdown lines: test bona fide of speakers unseen in training vs seen ones (each clip once)."""
    b = summary.get("bona_fide_speakers")
    if not b:
        return []
    lines = [
        "**Bona fide of new speakers** (test reals, each once; a speaker is new when no training clip has it):"
    ]
    if not b["recorded"]:
        return [*lines, "- the feature sets record no speaker per clip.", ""]
    names = ", ".join(b["unseen_speakers"][:8]) + (" …" if len(b["unseen_speakers"]) > 8 else "")
    lines += [
        _group_line(f"unseen speakers ({names or 'none'})", b["unseen"]),
        _group_line("speakers heard in training", b["seen"]),
        "A high open-set score marks a clip as far from the training clips; the tracer cannot tell whether it is "
        "far because its generator is new or because its speaker (or language, or channel) is: an unseen "
        "speaker's real clip called unknown looks exactly like a detected new generator.",
        "",
    ]
    return lines


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
    """trace.md: classes, thresholds, the summary table, the per-scorer table, new speakers, each condition's
    confusion matrix."""
    classes = summary["classes"]
    default = summary.get("default", "msp")
    held = summary.get("hold_out") or []
    lines = [
        "",
        "## Source tracing",
        "",
        f"Classes ({len(classes)}, from the training rows; logit order): {', '.join(classes)}"
        + (f" (held out of training: {', '.join(held)})" if held else "")
        + ". Accuracy and macro-F1 are closed-set (argmax) over the clips of these generators; clips of "
        "generators never seen in training are 'unseen'. Open set: a novelty score per clip (higher = more "
        f"likely unseen); a clip is called unknown when its score is above its scorer's threshold, which keeps "
        f"{100 * summary['keep']:g} % of the {summary['n_dev_known']} known dev clips (chosen on dev only). "
        f"The table below uses the default scorer, **{default}** (threshold {summary['threshold']:.4g}).",
        "",
        trace_table(summary),
    ]
    table = scorer_table(summary)
    if table:
        lines += [
            "Every open-set scorer, pooled over the conditions (`ALL`; per condition in trace.json, per clip in "
            "scores/trace/*.tsv). AUROC ranks unseen-generator clips above known ones (0.5 = chance); FPR at 95 % "
            "TPR = unseen clips still accepted when 95 % of the known test clips are kept (lower is better).",
            "",
            table,
        ]
    lines += speaker_lines(summary)
    lines += [
        "Confusion matrices (rows = true generator, columns = argmax class; unseen generators' rows show which "
        "known class they are attributed to):",
        "",
    ]
    for c in summary["conditions"]:
        lines += [f"**{c['name']}**", "", *_matrix_md(c, classes), ""]
    lines += [f"![{f.removesuffix('.png')}]({f})" for f in summary.get("figures", [])]
    return "\n".join(lines) + "\n"

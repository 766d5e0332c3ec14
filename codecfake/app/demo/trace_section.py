"""The demo's source-tracing section of docs/demo-results.md: one table per trace run (first seed)."""

from __future__ import annotations

from collections.abc import Sequence


def trace_section(specs: Sequence, reports: Sequence[dict]) -> list[str]:
    """Markdown lines for the trace runs among ``specs`` (their report.json has a "trace" key); [] when none."""
    from codecfake.evaluate.trace_report import scorer_table, trace_table

    runs = [(s, r) for s, r in zip(specs, reports, strict=True) if s.seed == specs[0].seed and "trace" in r]
    if not runs:
        return []
    lines = ["## Source tracing (which generator made the clip; first seed)", ""]
    for spec, rep in runs:
        t = rep["trace"]
        lines += [
            f"**{spec.name}**: {len(t['classes'])} classes ({', '.join(t['classes'])}; codec classes are the "
            "label files' method numbers, k = Ck; vocoder classes the LA attack ids). Accuracy and macro-F1 "
            "over clips of generators seen in training; 'unseen' clips (C7's Codec2 fakes, test-only attacks) "
            f"should come out unknown: a {t.get('default', 'msp')} novelty score above {t['threshold']:.4g}, the "
            f"dev-only threshold keeping {100 * t['keep']:g} % of the known dev clips.",
            "",
            trace_table(rep),
            scorer_table(rep),
            f"Confusion matrices: `{rep.get('run_dir', spec.name)}/report/trace.md`.",
            "",
        ]
    return lines

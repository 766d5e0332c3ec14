"""The demo's source-tracing section lists only the trace runs' tables (first seed)."""

from __future__ import annotations

from codecfake.app.demo.matrix import RunSpec
from codecfake.app.demo.trace_section import trace_section


def _trace(acc: float) -> dict:
    cond = {
        "name": "ALL",
        "n": 10,
        "closed_set": {"n": 8, "accuracy": acc, "macro_f1": 0.5},
        "open_set": {"n_unknown": 2, "auroc": 0.75, "detection_rate": 0.5, "false_unknown_rate": 0.125},
    }
    return {"classes": ["bonafide", "1"], "keep": 0.95, "threshold": 0.6, "conditions": [cond]}


def test_trace_section_has_one_table_per_trace_run_of_the_first_seed() -> None:
    specs = [
        RunSpec("codec", "lcnn", "adam", 688),
        RunSpec("trace", "lcnn", "adam", 688),
        RunSpec("trace", "lcnn", "adam", 689),
    ]
    reports = [{"conditions": []}, {"trace": _trace(0.625)}, {"trace": _trace(0.25)}]
    text = "\n".join(trace_section(specs, reports))
    assert "**demo-trace-lcnn-adam-s688**" in text and "s689" not in text
    assert "| ALL | 10 | 8 | 62.5 | 50.0 | 2 | 0.750 | 50.0 | 12.5 |" in text
    assert trace_section(specs[:1], reports[:1]) == []

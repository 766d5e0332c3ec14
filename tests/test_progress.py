"""codecfake.progress: the one protocol, its log fallback and its tqdm adapter."""

from __future__ import annotations

import logging

from codecfake.progress import LogProgress, NoProgress, Progress, TqdmProgress


def test_every_implementation_follows_the_protocol() -> None:
    assert all(isinstance(p, Progress) for p in (NoProgress(), LogProgress(), TqdmProgress()))


def test_log_progress_reports_completion_and_status(caplog) -> None:
    p = LogProgress(every_s=3600)
    with caplog.at_level(logging.INFO, logger="codecfake.progress"):
        p.start("mini/mel", 10, "clip", done=4)
        p.advance(3)  # neither due nor finished: silent
        p.advance(3, loss=0.25)
    assert len(caplog.records) == 1
    assert (
        caplog.records[0].getMessage().startswith("mini/mel: 10/10 clips,")
        and "loss 0.25" in caplog.messages[0]
    )


def test_tqdm_adapter_counts_each_task_from_its_start(monkeypatch) -> None:
    import io

    monkeypatch.setattr("sys.stderr", type("Tty", (io.StringIO,), {"isatty": lambda self: True})())
    p = TqdmProgress()
    p.start("epoch 1/2", 5, "step", done=2)
    p.advance(1, loss=0.5)
    assert (p.bar.n, p.bar.total, p.bar.desc) == (3, 5, "epoch 1/2")
    p.start("epoch 2/2", 5, "step")  # a new task replaces the old bar
    assert p.bar.n == 0 and p.bar.desc == "epoch 2/2"
    p.close()
    assert p.bar is None

"""codecfake.progress: the one protocol, its log fallback and its tqdm adapter."""

from __future__ import annotations

import logging

import pytest

from codecfake.progress import LogProgress, NoProgress, Progress, TqdmProgress


def _drive(p: Progress) -> None:
    """What library code and its creator do with a Progress: two tasks (the second resumed), status, close twice."""
    p.start("mini/mel", 3, "clip")
    p.advance(2, loss=0.5)
    p.advance()
    p.start("epoch 2/2", 4, "step", done=1)
    p.advance(3)
    p.close()
    p.close()  # idempotent


@pytest.mark.parametrize(
    ("make", "lines"),
    [
        (NoProgress, []),  # reports nothing
        (
            lambda: LogProgress(every_s=3600),
            ["mini/mel: 3/3 clips", "epoch 2/2: 4/4 steps"],
        ),  # each task's end
        (
            TqdmProgress,
            ["mini/mel: 3/3 clips", "epoch 2/2: 4/4 steps"],
        ),  # no terminal here: log lines instead
    ],
)
def test_every_implementation_takes_the_protocols_calls(make, lines: list[str], caplog, capsys) -> None:
    with caplog.at_level(logging.INFO, logger="codecfake.progress"):
        _drive(make())
    done = [m.split(",")[0] for m in caplog.messages if ("3/3" in m or "4/4" in m)]  # the lines at completion
    assert done == lines
    assert capsys.readouterr().err == ""  # no bar without a terminal; nothing printed


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

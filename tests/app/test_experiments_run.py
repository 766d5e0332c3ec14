"""A matrix run over a dask LocalCluster equals the serial run bit for bit, and a matrix killed mid-run and run again
ends with the uninterrupted matrix's weights and scores.

Both start processes (two dask workers; a killed `codecfake experiments`) that import torch: about a minute each on
2 loaded cores, so they run with `make test-slow`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from codecfake.app.cli import main
from codecfake.app.experiments.testing import write_matrix, write_matrix_store
from codecfake.train.testing import wait_for_step

CELLS = [
    'task = "codec", backend = "lcnn", opt = "adam", extractor = "mel"',
    'task = "cotrain", backend = "aasist", opt = "csam", extractor = "mel"',
]


def _same_runs(a: Path, b: Path, names: list[str]) -> None:
    for name in names:
        wa = load_file(str(a / name / "checkpoints" / "best.safetensors"))
        wb = load_file(str(b / name / "checkpoints" / "best.safetensors"))
        assert wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa), name
        scores = sorted(p.name for p in (a / name / "scores").glob("*.tsv"))
        assert scores == ["19LA.tsv", "C1.tsv", "C2.tsv"]
        for s in scores:
            assert (a / name / "scores" / s).read_bytes() == (b / name / "scores" / s).read_bytes(), (name, s)


def _argv(matrix: Path, runs: Path, out: Path, *extra: str) -> list[str]:
    return [
        "experiments",
        str(matrix),
        "--store",
        str(matrix.parent / "features"),
        "--runs",
        str(runs),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--resamples",
        "0",
        *extra,
    ]


@pytest.mark.slow
def test_a_local_cluster_gives_the_serial_results_bit_for_bit(tmp_path: Path, capsys) -> None:
    write_matrix_store(tmp_path / "features")
    matrix = write_matrix(tmp_path / "m.toml", CELLS)
    assert main(_argv(matrix, tmp_path / "serial", tmp_path / "e1", "--threads", "1")) == 0
    assert main(_argv(matrix, tmp_path / "dask", tmp_path / "e2", "--cluster", "local:2")) == 0
    out = capsys.readouterr().out
    assert "running on worker" in out or "done" in out
    statuses = [json.loads(p.read_text()) for p in (tmp_path / "e2" / "status").glob("*.json")]
    assert sorted(s["state"] for s in statuses) == ["done", "done"] and all(
        s["worker"] in ("0", "1") for s in statuses
    )
    _same_runs(
        tmp_path / "serial", tmp_path / "dask", ["codec-lcnn-adam-s688-mel", "cotrain-aasist-csam-s688-mel"]
    )


@pytest.mark.slow
def test_a_killed_matrix_run_again_resumes_every_run_to_the_uninterrupted_result(tmp_path: Path) -> None:
    write_matrix_store(tmp_path / "features")
    matrix = write_matrix(tmp_path / "m.toml", CELLS)
    matrix.write_text(
        matrix.read_text().replace("epochs = 1, batch = 8", "epochs = 3, batch = 4, save_every_steps = 1")
    )
    names = ["codec-lcnn-adam-s688-mel", "cotrain-aasist-csam-s688-mel"]
    assert main(_argv(matrix, tmp_path / "ref", tmp_path / "e0", "--threads", "1")) == 0

    argv = [
        sys.executable,
        "-m",
        "codecfake",
        *_argv(matrix, tmp_path / "runs", tmp_path / "e1", "--threads", "1"),
    ]
    victim = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    last = tmp_path / "runs" / names[1] / "checkpoints" / "last.json"
    wait_for_step(victim, last, 20)  # the second run, in its second epoch
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert (tmp_path / "runs" / names[0] / "report" / "report.json").is_file()  # the first run had finished
    assert not (tmp_path / "runs" / names[1] / "DONE").exists()  # the second was killed mid-run
    status = json.loads((tmp_path / "e1" / "status" / f"{names[1]}.json").read_text())
    assert status["state"] == "running"  # as the kill left it

    assert main(_argv(matrix, tmp_path / "runs", tmp_path / "e1", "--threads", "1")) == 0
    _same_runs(tmp_path / "ref", tmp_path / "runs", names)
    rows = (tmp_path / "runs" / names[1] / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in rows] == [1, 2, 3]

"""Paired ΔEER (``paired_delta``, ``codecfake compare``) and the intervals of ``codecfake report``'s rows."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from codecfake.app.cli import main
from codecfake.eer import compute_eer
from codecfake.evaluate.bootstrap import bootstrap_eers, condition_rng, percentile_interval
from codecfake.evaluate.compare import compare_runs, paired_delta
from codecfake.evaluate.conditions import averages
from codecfake.evaluate.errors import TrialMismatch
from codecfake.evaluate.intervals import attach_intervals, group_intervals
from codecfake.evaluate.report import load_report
from codecfake.evaluate.results import evaluate_condition
from codecfake.evaluate.score_tsv import Scores, write_scores
from codecfake.json_text import as_json

R = 200


def _trials(rng: np.random.Generator, conds=("C1", "C2", "C7"), n=60) -> tuple[np.ndarray, ...]:
    """(N,) latent difficulty z, labels, conditions, utt ids: bona fide z ~ N(1.5, 1), spoof z ~ N(0, 1)."""
    y = np.tile(np.r_[np.zeros(n, int), np.ones(n, int)], len(conds))
    cond = np.repeat(conds, 2 * n)
    z = rng.normal(size=y.size) + 1.5 * (y == 0)
    ids = np.array([f"{c}/{i}" for i, c in enumerate(cond)])
    return z, y, cond, ids


def _fake_run(
    run_dir: Path, z: np.ndarray, y: np.ndarray, cond: np.ndarray, ids: np.ndarray, seed: int = 1
) -> Path:
    """An evaluated run as ``codecfake evaluate`` leaves it: scores/<condition>.tsv and report/report.json."""
    results, scores = [], {}
    for c in sorted(set(cond.tolist())):
        m = cond == c
        sc = Scores(utt_id=ids[m], score=z[m], label=y[m], condition=cond[m])
        write_scores(run_dir / "scores" / f"{c}.tsv", sc)
        scores[c] = sc
        results.append(evaluate_condition(c, "mini-codecfake", sc))
    report = {
        "run": run_dir.name,
        "config": {"backend": "aasist", "seed": seed, "name": run_dir.name},
        "paper_mode": False,
        "conditions": [r.to_dict() for r in results],
        "averages": {
            "plain": averages({r.name: r.eer for r in results}),
            "paper": averages({r.name: r.eer_paper for r in results}),
        },
    }
    attach_intervals(report, scores, resamples=R, seed=3)
    (run_dir / "report").mkdir(parents=True, exist_ok=True)
    (run_dir / "report" / "report.json").write_text(as_json(report))
    return run_dir


def test_paired_delta_per_condition_and_averages() -> None:
    rng = np.random.default_rng(0)
    z, y, cond, _ = _trials(rng)
    a = z + 0.3 * rng.normal(size=z.size)
    b = z + 0.3 * rng.normal(size=z.size) + 1.5 * (y == 0) * (cond == "C2")  # B much better on C2 only
    d = paired_delta(a, b, y, cond, resamples=R, seed=1)
    assert list(d) == ["C1", "C2", "C7", "CAVG", "AVG"]
    m = cond == "C2"
    want = 100 * (
        compute_eer(b[m][y[m] == 0], b[m][y[m] == 1]).eer - compute_eer(a[m][y[m] == 0], a[m][y[m] == 1]).eer
    )
    assert d["C2"].delta == pytest.approx(want) and d["C2"].hi < 0 and d["C2"].excludes_zero
    assert not d["C1"].excludes_zero and d["C1"].lo < 0 < d["C1"].hi
    assert d["CAVG"].delta == pytest.approx(np.mean([d[c].delta for c in ("C1", "C2", "C7")]))
    assert (d["C2"].n_bonafide, d["C2"].n_spoof) == (60, 60)
    same = paired_delta(a, a, y, cond, resamples=R, seed=1)  # a run against itself: Δ = 0 in every resample
    assert all((x.delta, x.lo, x.hi) == (0.0, 0.0, 0.0) and not x.excludes_zero for x in same.values())


def test_paired_interval_is_narrower_than_unpaired_on_correlated_scores() -> None:
    rng = np.random.default_rng(1)
    z, y, cond, _ = _trials(rng, conds=("C1",), n=150)
    a, b = z + 0.1 * rng.normal(size=z.size), z + 0.1 * rng.normal(size=z.size)  # both runs mostly see z
    paired = paired_delta(a, b, y, cond, resamples=R, seed=2)["C1"]
    unpaired = percentile_interval(  # A and B resampled independently: the correlation is thrown away
        bootstrap_eers(b, y, R, condition_rng(2, "b"))[0] - bootstrap_eers(a, y, R, condition_rng(2, "a"))[0]
    )
    assert paired.hi - paired.lo < 0.7 * (unpaired[1] - unpaired[0])  # measured: 0.45


def test_compare_runs_cli_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rng = np.random.default_rng(2)
    z, y, cond, ids = _trials(rng)
    run_a = _fake_run(tmp_path / "a", z + 0.4 * rng.normal(size=z.size), y, cond, ids)
    run_b = _fake_run(tmp_path / "b", z + 0.4 * rng.normal(size=z.size) + 2.0 * (y == 0), y, cond, ids)
    out = tmp_path / "cmp.json"
    assert main(["compare", str(run_a), str(run_b), "--resamples", str(R), "--json", str(out)]) == 0
    md = capsys.readouterr().out
    row = next(x for x in md.splitlines() if x.startswith("| CAVG |"))
    assert "**yes**: B lower" in row
    data = json.loads(out.read_text())
    assert data["bootstrap"]["resamples"] == R and data["deltas"]["CAVG"]["excludes_zero"] is True
    # the API agrees with the CLI
    api = compare_runs(run_a, run_b, resamples=R)
    assert api.deltas["C1"].to_dict() == data["deltas"]["C1"]


def test_compare_refuses_runs_that_scored_different_trials(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rng = np.random.default_rng(3)
    z, y, cond, ids = _trials(rng)
    run_a = _fake_run(tmp_path / "a", z, y, cond, ids)
    keep = ids != "C2/125"  # B lacks one C2 trial
    run_b = _fake_run(tmp_path / "b", z[keep], y[keep], cond[keep], ids[keep])
    with pytest.raises(TrialMismatch, match=r"condition C2: .* \(120 vs 119 trials, 119 in common\)"):
        compare_runs(run_a, run_b, resamples=R)
    relabel = _fake_run(tmp_path / "c", z, np.where(ids == "C1/3", 1 - y, y), cond, ids)
    with pytest.raises(TrialMismatch, match="condition C1: .* label 1 shared trials differently"):
        compare_runs(run_a, relabel, resamples=R)
    with caplog.at_level(logging.ERROR):
        assert main(["compare", str(run_a), str(run_b), "--resamples", "20"]) == 2
    assert "C2" in caplog.text and "119" in caplog.text


def test_report_rows_carry_intervals_single_and_seed_mean(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    z, y, cond, ids = _trials(rng)
    one = _fake_run(tmp_path / "x-s1", z, y, cond, ids, seed=1)
    twin = _fake_run(tmp_path / "x-s2", z, y, cond, ids, seed=2)  # a "seed" that scored exactly like seed 1
    reports = [load_report(d) | {"run_dir": str(d)} for d in (one, twin)]
    single = group_intervals(reports[:1], paper=False, resamples=R, seed=3)
    stored = {c["name"]: c["ci_eer"] for c in reports[0]["conditions"]}
    assert {k: single[k] for k in stored} == stored and single["CAVG"] == reports[0]["averages"]["plain"][
        "CAVG"
    ]["ci"]
    recomputed = group_intervals(
        reports[:1], paper=False, resamples=R, seed=4
    )  # other settings: from the scores
    assert recomputed != single and set(recomputed) == set(single)
    # identical seeds: the interval of their mean is the single run's interval
    mean_ci = group_intervals(reports, paper=False, resamples=R, seed=3)
    assert set(mean_ci) == set(single) and all(mean_ci[k] == pytest.approx(single[k]) for k in single)
    # seeds that scored different C7 trials: no C7 interval, hence none for the averages either
    keep = ids != "C7/300"
    other = _fake_run(tmp_path / "x-s3", z[keep], y[keep], cond[keep], ids[keep], seed=3)
    ci = group_intervals([reports[0], load_report(other) | {"run_dir": str(other)}], paper=False, resamples=R)
    assert set(ci) == {"C1", "C2"}


def test_report_cli_shows_interval_per_cell(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rng = np.random.default_rng(5)
    z, y, cond, ids = _trials(rng)
    runs = [
        _fake_run(tmp_path / f"x-s{s}", z + 0.3 * rng.normal(size=z.size), y, cond, ids, seed=s)
        for s in (1, 2)
    ]
    assert main(["report", *map(str, runs), "--resamples", str(R), "--ci-seed", "3"]) == 0
    out = capsys.readouterr().out
    row = next(x for x in out.splitlines() if x.startswith("| x (seeds 1, 2) |"))
    cells = [c.strip() for c in row.split("|")[2:-1]]
    assert len(cells) == 5 and all(" ± " in c and "[" in c for c in cells)
    assert "interval is that of the seed mean" in out


def test_evaluate_run_writes_an_interval_for_every_cell(env) -> None:
    from codecfake.evaluate.bootstrap import eer_interval
    from codecfake.evaluate.run_eval import evaluate_run
    from codecfake.evaluate.score_tsv import read_scores

    out = evaluate_run(env.run_dir, env.store_root, device="cpu", figures=False, resamples=R, ci_seed=9)
    rep = json.loads((out.report_dir / "report.json").read_text())
    assert rep["bootstrap"]["resamples"] == R and rep["bootstrap"]["seed"] == 9
    for c in rep["conditions"]:
        sc = read_scores(env.run_dir / "scores" / f"{c['name']}.tsv")
        want, _ = eer_interval(sc.score, sc.label, name=c["name"], resamples=R, seed=9)
        assert c["ci_eer"] == [want.lo, want.hi] and want.value == pytest.approx(c["eer"])
        paper, _ = eer_interval(sc.score, sc.label, name=c["name"], resamples=R, seed=9, paper=True)
        assert c["ci_eer_paper"] == [paper.lo, paper.hi]
    assert all(rep["averages"][m][a]["ci"] for m in ("plain", "paper") for a in ("CAVG", "AVG"))
    md = (out.report_dir / "report.md").read_text()
    row = next(x for x in md.splitlines() if x.startswith(f"| {rep['run']} |"))
    assert row.count("[") == len(rep["conditions"]) + 2 and f"{R} resamples, seed 9" in md

"""The demo's matrix, its CLI arguments and the findings it computes from measured tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from codecfake.app.cli import build_parser
from codecfake.app.demo.findings import CONTRADICTED, REPRODUCED, UNRESOLVED, floor_check, sentence, verdict
from codecfake.app.demo.matrix import demo_matrix, demo_plan
from codecfake.app.demo.pipeline import DemoOptions, StageLog, run_demo
from codecfake.app.demo.preset import load_demo_preset
from codecfake.app.demo.results import findings
from codecfake.corpus import ManifestError
from codecfake.corpus.build.mini_codecfake import MARKER, DemoParams
from codecfake.train.config import resolve_config


def test_default_matrix_is_the_papers_three_settings_for_mel_lcnn_over_seeds() -> None:
    specs = demo_matrix(full=False)  # configs/demo-default.toml: two seeds
    assert [(s.task, s.backend, s.opt) for s in specs if s.seed == 688] == [
        ("vocoder", "lcnn", "adam"),
        ("codec", "lcnn", "adam"),
        ("cotrain", "lcnn", "adam"),
    ]  # source tracing is in the full matrix only
    assert {s.seed for s in specs} == {688, 689}
    assert len({s.name for s in specs}) == len(specs)


def test_full_matrix_covers_both_backends_every_optimiser_and_seeds() -> None:
    specs = demo_matrix(full=True, seeds=3)
    assert len(specs) == 3 * (2 * 2 + 2 * 5 + 1)  # + the trace run
    assert {s.seed for s in specs} == {688, 689, 690}
    cotrain = {(s.backend, s.opt) for s in specs if s.task == "cotrain"}
    assert cotrain == {(b, o) for b in ("lcnn", "aasist") for o in ("adam", "sam", "asam", "csam", "csam-pd")}
    with pytest.raises(ValueError, match="--seeds"):
        demo_matrix(full=False, seeds=0)


def test_train_argv_parses_as_the_train_cli_and_sets_rho_only_for_lcnn_sam_family(tmp_path: Path) -> None:
    preset = load_demo_preset()
    plan = demo_plan(full=True, store=tmp_path / "f", runs=tmp_path / "r", seeds=1)
    by_name = {s.name: s for s in demo_matrix(full=True, seeds=1)}
    assert list(by_name) == [r.name for r in plan.runs]
    for run in plan.runs:
        spec = by_name[run.name]
        args = build_parser().parse_args(list(run.train_argv))
        config = resolve_config(
            {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg_") and v is not None}
        )
        assert (config.task, config.backend, config.opt, config.name) == (
            spec.task,
            spec.backend,
            spec.opt,
            spec.name,
        )
        assert spec.rho == preset.rho_for(spec.backend, spec.opt)
        assert config.rho == (0.01 if spec.backend == "lcnn" and spec.opt != "adam" else 0.05)
        assert (config.epochs, config.batch) == (preset.epochs, preset.batch)


CONDS = ["19LA", *(f"C{k}" for k in range(1, 8))]
N = 60  # bona fide and spoof trials per condition


def _run(root: Path, spec, sep: dict[str, float]) -> tuple[Path, dict]:
    """An evaluated run on disk: per condition N + N trials (the same utt_ids in every run), P(bona fide) =
    sigmoid(sep[c] * y_bona + noise) with noise drawn from the run's own seed; returns (run dir, report)."""
    from codecfake.eer import eer_both
    from codecfake.evaluate.score_tsv import Scores, write_scores

    run = root / spec.name
    rng = np.random.default_rng([spec.seed, len(spec.task), len(spec.opt)])
    conditions = []
    for c in CONDS:
        label = np.r_[np.zeros(N, int), np.ones(N, int)]
        logit = np.where(label == 0, sep[c], 0.0) + rng.normal(size=2 * N)
        score = 1 / (1 + np.exp(-logit))
        utt = np.array([f"{c}/{i}" for i in range(2 * N)])
        write_scores(run / "scores" / f"{c}.tsv", Scores(utt, score, label, np.full(2 * N, c)))
        conditions.append(
            {"name": c, "eer": 100 * eer_both(score, label).value(False), "n_bonafide": N, "n_spoof": N}
        )
    report = {
        "run": spec.name,
        "run_dir": str(run),
        "config": {"seed": spec.seed, "task": spec.task},
        "conditions": conditions,
    }
    (run / "report").mkdir(parents=True)
    (run / "report" / "report.json").write_text(json.dumps(report))
    return run, report


def _groups(tmp_path: Path, sep: dict[str, dict[str, float]], seeds=(688, 689)):
    from codecfake.app.demo.matrix import RunSpec
    from codecfake.app.demo.results import group_runs

    specs = [
        RunSpec(task, "lcnn", opt, s)
        for s in seeds
        for task, opt in (("vocoder", "adam"), ("codec", "adam"), ("cotrain", "adam"), ("cotrain", "csam"))
    ]
    reports = [_run(tmp_path, sp, sep[f"{sp.task}-{sp.opt}"])[1] for sp in specs]
    return group_runs(specs, reports, tmp_path)


def _sep(la: float, codec: float, c7: float | None = None) -> dict[str, float]:
    return {"19LA": la} | {f"C{k}": codec for k in range(1, 7)} | {"C7": codec if c7 is None else c7}


def _verdicts(tmp_path: Path, sep: dict) -> dict[str, str]:
    found = findings(_groups(tmp_path, sep), "lcnn", resamples=200)
    assert all(f.claim.title and f.verdict in sentence(f) for f in found)
    return {f.claim.column + ("-csam" if "CSAM" in f.claim.title else ""): f.verdict for f in found}


def test_findings_reproduced_when_every_interval_and_seed_shows_the_papers_direction(tmp_path: Path) -> None:
    verdicts = _verdicts(
        tmp_path,
        {
            "vocoder-adam": _sep(4, 0.2),
            "codec-adam": _sep(0.2, 4),
            "cotrain-adam": _sep(2.5, 4),
            "cotrain-csam": _sep(4, 5),
        },
    )
    assert verdicts == {
        "CAVG": REPRODUCED,
        "C7": REPRODUCED,
        "19LA": REPRODUCED,
        "AVG": REPRODUCED,
        "AVG-csam": REPRODUCED,
    }


def test_findings_contradicted_when_the_interval_excludes_zero_the_other_way(tmp_path: Path) -> None:
    verdicts = _verdicts(
        tmp_path,
        {
            "vocoder-adam": _sep(0.2, 4),
            "codec-adam": _sep(4, 0.2),
            "cotrain-adam": _sep(0.2, 0.2),
            "cotrain-csam": _sep(0.1, 0.1),
        },
    )
    assert verdicts["CAVG"] == verdicts["C7"] == verdicts["19LA"] == CONTRADICTED
    assert verdicts["AVG"] == CONTRADICTED  # co-trained far worse than the best single-domain run


def test_findings_not_resolved_when_the_interval_holds_zero(tmp_path: Path) -> None:
    same = _sep(1.5, 1.5)
    verdicts = _verdicts(
        tmp_path, dict.fromkeys(("vocoder-adam", "codec-adam", "cotrain-adam", "cotrain-csam"), same)
    )
    assert set(verdicts.values()) == {UNRESOLVED}
    text = [
        sentence(f)
        for f in findings(
            _groups(
                tmp_path / "again",
                {k: same for k in ("vocoder-adam", "codec-adam", "cotrain-adam", "cotrain-csam")},
            ),
            "lcnn",
            resamples=200,
        )
    ]
    assert all("the interval holds 0" in t and "per seed Δ" in t for t in text)


def test_a_verdict_needs_every_seed_pair_on_the_side_of_its_interval() -> None:
    assert verdict(-6.0, -1.0, [-4.0, -3.0]) == REPRODUCED
    assert verdict(-6.0, -1.0, [-7.0, +0.5]) == UNRESOLVED  # one seed disagrees
    assert verdict(1.0, 6.0, [2.0, 5.0]) == CONTRADICTED
    assert verdict(1.0, 6.0, [2.0, -0.1]) == UNRESOLVED
    assert verdict(-3.0, 2.0, [-1.0, -2.0]) == UNRESOLVED


def test_seeds_are_aggregated_and_paired_by_seed(tmp_path: Path) -> None:
    groups = _groups(
        tmp_path,
        dict.fromkeys(("vocoder-adam", "codec-adam", "cotrain-adam", "cotrain-csam"), _sep(1, 1)),
        seeds=(688, 689, 690),
    )
    assert {cell: [s for s, _, _ in runs] for cell, runs in groups.items()} == dict.fromkeys(
        groups, [688, 689, 690]
    )
    f = findings(groups, "lcnn", resamples=100)[0]  # CAVG, codec vs vocoder
    cod, voc = groups[("codec", "lcnn", "adam")], groups[("vocoder", "lcnn", "adam")]
    assert f.seed_deltas == tuple(pytest.approx(c[2]["CAVG"] - v[2]["CAVG"]) for c, v in zip(cod, voc))
    assert f.eer_lower == pytest.approx(np.mean([c[2]["CAVG"] for c in cod]))
    assert findings({}, "aasist", resamples=100) == []


def test_floor_check_lists_the_conditions_the_detector_loses(tmp_path: Path) -> None:
    rows, lost = floor_check(
        {"C1": [10.0, 12.0], "C4": [20.0, 24.0], "C3": [1.0, 1.0]},
        {"C1": 14.0, "C4": 14.3, "C3": 4.0},
        {"C1": [8.0, 13.0], "C4": [18.0, 26.0]},
    )
    assert lost == ["C4"]
    assert (
        len(rows) == 2 and "interval below the floor" in rows[0] and "**no**" in rows[1]
    )  # C3: floor <= 5 %


def test_stage_log_knows_when_nothing_was_computed() -> None:
    slog = StageLog()
    slog.add("corpus", 1.0, ["corpus", "demo"], reused=True)
    slog.add("train demo-x", 0.5, ["train"], reused=True)
    slog.add("evaluate demo-x", 0.0, ["evaluate"], reused=True)
    assert not slog.computed_anything
    slog.add("train demo-y", 30.0, ["train"])
    assert slog.computed_anything and slog.total_s == pytest.approx(31.5)


def test_demo_with_a_corpus_of_another_size_fails_with_the_fix(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / MARKER).write_text(json.dumps({"params": DemoParams(size="small").as_json()}))
    opts = DemoOptions(
        store=tmp_path / "f", runs=tmp_path / "r", demo_dir=demo, size="default", out=tmp_path / "results.md"
    )
    with pytest.raises(ManifestError, match="--force"):
        run_demo(opts)
    assert not opts.out.exists()


def test_demo_refuses_zero_seeds_before_any_stage_runs(tmp_path: Path, capsys) -> None:
    from codecfake.app.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--seeds", "0", "--store", str(tmp_path / "f"), "--demo-dir", str(tmp_path / "d")])
    assert (
        exit_info.value.code == 2
        and "--seeds: expected a whole number >= 1, found 0" in capsys.readouterr().err
    )
    assert not list(tmp_path.iterdir())  # no corpus, features or runs were made


def test_clean_demo_removes_only_what_the_demo_made(tmp_path: Path) -> None:
    from codecfake.app.demo.clean import clean_demo
    from codecfake.corpus.build.mini_codecfake import MARKER
    from codecfake.store import FeatureStore
    from codecfake.store.testing import make_meta, make_spec

    demo, store, runs = tmp_path / "data", tmp_path / "features", tmp_path / "runs"
    for sub in ("codec", "vocoder", "cache-of-mine"):
        (demo / sub).mkdir(parents=True)
    (demo / MARKER).write_text("{}")
    for corpus in ("mini-codecfake", "mini-19la", "codecfake"):
        FeatureStore(store).create(make_spec(corpus=corpus), make_meta())
    for name in (
        "demo-cotrain-lcnn-csam-pd-s688",
        "demo-codec-aasist-adam-s689",
        "cotrain-aasist-csam-s688-mel",
    ):
        (runs / name).mkdir(parents=True)
    exps = tmp_path / "experiments"
    for name in ("demo-default", "paper-table8"):
        (exps / name / "logs").mkdir(parents=True)
    removed = clean_demo(demo, store, runs, exps)
    assert sorted(p.name for p in exps.iterdir()) == ["paper-table8"]
    assert sorted(p.name for p in demo.iterdir()) == ["cache-of-mine"]
    assert [i.corpus for i in FeatureStore(store).list()] == ["codecfake"]
    assert sorted(p.name for p in runs.iterdir()) == ["cotrain-aasist-csam-s688-mel"]
    assert len(removed) == 3 + 2 + 2 + 1 and clean_demo(demo, store, runs, exps) == []


def test_figures_of_runs_no_longer_in_the_results_are_removed(tmp_path: Path) -> None:
    from codecfake.app.demo.results import _copy_figures

    runs, figs = tmp_path / "runs", tmp_path / "docs" / "demo-results"
    (runs / "demo-codec-lcnn-adam-s688" / "report").mkdir(parents=True)
    (runs / "demo-codec-lcnn-adam-s688" / "report" / "det.png").write_bytes(b"new")
    figs.mkdir(parents=True)
    (figs / "demo-trace-lcnn-adam-s688-det.png").write_bytes(b"old")  # a run of an older matrix
    (figs / "notes.png").write_bytes(b"mine")  # not the demo's: left alone
    out = _copy_figures(runs, ["demo-codec-lcnn-adam-s688"], figs)
    assert out == [("demo-codec-lcnn-adam-s688", ["demo-codec-lcnn-adam-s688-det.png"])]
    assert sorted(p.name for p in figs.iterdir()) == ["demo-codec-lcnn-adam-s688-det.png", "notes.png"]

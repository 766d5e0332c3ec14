"""The demo's matrix, its CLI arguments and the findings it computes from measured tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from codecfake.corpus import ManifestError
from codecfake.corpus.build.mini_codecfake import MARKER, DemoParams
from codecfake.train.config import resolve_config

from codecfake.cli import build_parser
from codecfake.demo.matrix import demo_matrix
from codecfake.demo.pipeline import DemoOptions, StageLog, run_demo, train_argv
from codecfake.demo.preset import load_demo_preset
from codecfake.demo.results import findings


def test_default_matrix_is_the_papers_three_settings_for_mel_lcnn() -> None:
    specs = demo_matrix(full=False, seeds=1)
    assert [(s.task, s.backend, s.opt) for s in specs] == [
        ("vocoder", "lcnn", "adam"), ("codec", "lcnn", "adam"), ("cotrain", "lcnn", "adam"), ("cotrain", "lcnn", "csam"),
        ("trace", "lcnn", "adam")]
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
    opts = DemoOptions(store=tmp_path / "f", runs=tmp_path / "r", demo_dir=tmp_path / "d")
    preset = load_demo_preset()
    by_name = {s.name: s for s in demo_matrix(full=True, seeds=1)}
    for spec in by_name.values():
        args = build_parser().parse_args(train_argv(spec, opts))
        config = resolve_config({k[4:]: v for k, v in vars(args).items() if k.startswith("cfg_") and v is not None})
        assert (config.task, config.backend, config.opt, config.name) == (spec.task, spec.backend, spec.opt, spec.name)
        assert spec.rho == preset.rho_for(spec.backend, spec.opt)
        assert config.rho == (0.01 if spec.backend == "lcnn" and spec.opt != "adam" else 0.05)
        assert (config.epochs, config.batch) == (preset.epochs, preset.batch)


def _table(voc: dict, cod: dict, co: dict, csam: dict) -> dict:
    def full(d: dict) -> dict:
        cavg = sum(d[f"C{k}"] for k in range(1, 8)) / 7
        return d | {"CAVG": cavg, "AVG": (d["19LA"] + 7 * cavg) / 8}

    return {("vocoder", "lcnn", "adam"): full(voc), ("codec", "lcnn", "adam"): full(cod),
            ("cotrain", "lcnn", "adam"): full(co), ("cotrain", "lcnn", "csam"): full(csam)}


def _cond(la: float, c: float, c7: float | None = None) -> dict:
    return {"19LA": la} | {f"C{k}": c for k in range(1, 7)} | {"C7": c if c7 is None else c7}


def test_findings_say_reproduced_when_the_table_shows_the_papers_pattern() -> None:
    text = findings(_table(_cond(5, 40), _cond(30, 10), _cond(6, 11), _cond(5, 5)), "lcnn")
    assert len(text) == 5
    assert all("NOT reproduced" not in t for t in text[:4])
    assert "CSAM better" in text[4]


def test_findings_say_not_reproduced_and_within_noise_honestly() -> None:
    text = findings(_table(_cond(5, 20), _cond(6, 19, c7=21), _cond(30, 30), _cond(30, 31)), "lcnn")
    assert "NOT reproduced" in text[0] and "within noise" in text[0]  # CAVG 19.3 vs 20.0
    assert "NOT reproduced" in text[1]  # C7 21 vs 20
    assert "NOT reproduced" in text[2]  # 19LA 5 vs 6
    assert "NOT reproduced" in text[3]  # co-trained AVG 30 vs best single 17.6
    assert "no difference this corpus can resolve" in text[4]
    assert findings({}, "aasist") == []


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
    opts = DemoOptions(store=tmp_path / "f", runs=tmp_path / "r", demo_dir=demo, size="default",
                       out=tmp_path / "results.md")
    with pytest.raises(ManifestError, match="--force"):
        run_demo(opts)
    assert not opts.out.exists()


def test_demo_refuses_zero_seeds_before_any_stage_runs(tmp_path: Path, capsys) -> None:
    from codecfake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--seeds", "0", "--store", str(tmp_path / "f"), "--demo-dir", str(tmp_path / "d")])
    assert exit_info.value.code == 2 and "--seeds: expected a whole number >= 1, found 0" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # no corpus, features or runs were made


def test_clean_demo_removes_only_what_the_demo_made(tmp_path: Path) -> None:
    from codecfake.corpus.build.mini_codecfake import MARKER
    from codecfake.store import FeatureStore
    from codecfake.store.testing import make_meta, make_spec

    from codecfake.demo.clean import clean_demo

    demo, store, runs = tmp_path / "data", tmp_path / "features", tmp_path / "runs"
    for sub in ("codec", "vocoder", "cache-of-mine"):
        (demo / sub).mkdir(parents=True)
    (demo / MARKER).write_text("{}")
    for corpus in ("mini-codecfake", "mini-19la", "codecfake"):
        FeatureStore(store).create(make_spec(corpus=corpus), make_meta())
    for name in ("demo-cotrain-lcnn-csam-pd-s688", "demo-codec-aasist-adam-s689", "cotrain-aasist-csam-s688-mel"):
        (runs / name).mkdir(parents=True)
    removed = clean_demo(demo, store, runs)
    assert sorted(p.name for p in demo.iterdir()) == ["cache-of-mine"]
    assert [i.corpus for i in FeatureStore(store).list()] == ["codecfake"]
    assert sorted(p.name for p in runs.iterdir()) == ["cotrain-aasist-csam-s688-mel"]
    assert len(removed) == 3 + 2 + 2 and clean_demo(demo, store, runs) == []

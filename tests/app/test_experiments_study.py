"""Matrices that study generalisation: measures over several trial sets with paired intervals, the study keys of a
matrix file (full+loo, loo_seeds, findings, robustness), and a study run end to end whose page agrees with its
tables and with each run's own scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from codecfake.app.cli import main
from codecfake.app.experiments.matrix_spec import MatrixError, load_matrix
from codecfake.app.experiments.needs import StoreIndex, generators_of
from codecfake.app.experiments.plan import plan_matrix, run_finished, sweep_done
from codecfake.app.experiments.testing import write_matrix, write_matrix_store
from codecfake.eer import eer_both
from codecfake.evaluate.errors import EvaluationError
from codecfake.evaluate.held_out import held_out_trials
from codecfake.evaluate.paired_measures import TrialSet, measure
from codecfake.evaluate.score_tsv import Scores

CODEC = 'task = "codec", backend = "lcnn", opt = "adam", extractor = "mel"'
BASE = f'row = "base", {CODEC}, tag = "none"'
MASKED = f'row = "masked", {CODEC}, tag = "fmask", train = {{ feataug = "fmask:4" }}'


def _scores(n: int, shift: float, seed: int, prefix: str = "u") -> Scores:
    rng = np.random.default_rng(seed)
    label = np.tile([0, 1], n // 2)
    score = rng.normal(size=n) - shift * label  # spoofs score lower (score = P(bona fide))
    return Scores(np.array([f"{prefix}{i}" for i in range(n)]), score, label, np.array(["C1"] * n))


def _eer(sc: Scores) -> float:
    return 100 * eer_both(sc.score, sc.label).plain.eer


def test_a_measure_is_the_mean_or_worst_group_of_its_sets_and_its_delta_pairs_the_seeds() -> None:
    runs = {
        f"{side}{k}/{s}": _scores(40, shift, 100 * (side == "b") + 10 * k + "xyz".index(s), s)
        for side, shift in (("a", 0.5), ("b", 2.0))
        for k in range(2)
        for s in "xyz"
    }
    sets = [
        TrialSet(s, ("a0", "a1"), lambda r, s=s: runs[f"{r}/{s}"], ("b0", "b1"), group)
        for s, group in (("x", "g1"), ("y", "g1"), ("z", "g2"))
    ]
    mean = measure("m", sets, resamples=50)
    a = [[_eer(runs[f"a{k}/{s}"]) for s in "xyz"] for k in range(2)]
    b = [[_eer(runs[f"b{k}/{s}"]) for s in "xyz"] for k in range(2)]
    assert mean.value_a == pytest.approx(np.mean(a)) and mean.value_b == pytest.approx(np.mean(b))
    assert mean.seed_deltas == pytest.approx([np.mean(b[k]) - np.mean(a[k]) for k in range(2)])
    assert mean.delta == pytest.approx(mean.value_b - mean.value_a) and mean.delta < 0
    assert mean.delta_ci[0] <= mean.delta <= mean.delta_ci[1] and mean.ci_a[0] <= mean.value_a <= mean.ci_a[1]
    worst = measure("w", sets, how="worst", resamples=50)
    groups = {"g1": np.mean([row[:2] for row in a]), "g2": np.mean([row[2] for row in a])}
    assert worst.value_a == pytest.approx(max(groups.values()))
    assert worst.groups[0] == max(groups, key=groups.__getitem__)
    other = dict(runs) | {"b1/x": _scores(40, 2.0, 99, "other")}
    bad = [TrialSet("x", ("a0", "a1"), lambda r: other[f"{r}/x"], ("b0", "b1"))]
    with pytest.raises(EvaluationError, match="scored different trials"):
        measure("m", bad, resamples=10)
    with pytest.raises(EvaluationError, match="same number of runs"):
        measure("m", [sets[0], TrialSet("y", ("a0",), sets[1].load)], resamples=10)


def test_the_held_out_trials_are_that_generators_fakes_against_the_bona_fide() -> None:
    cond = np.array(["C1", "C1", "C2", "C2", "C3"])
    sc = Scores(np.array(list("abcde")), np.arange(5.0), np.array([0, 1, 0, 1, 1]), cond)
    name, got = held_out_trials({"C-all": sc}, "2")
    assert name == "C-all" and got.utt_id.tolist() == ["a", "c", "d"] and got.label.tolist() == [0, 0, 1]
    assert held_out_trials({"C-all": sc}, "C4") is None


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ('protocol = "loo"\nloo_generators = ["C9"]', r"loo_generators names \['C9'\]"),
        ('findings = [{ title = "t", base = "nope", other = "base", measures = ["C1"] }]', "is no row"),
        (
            'findings = [{ title = "t", base = "base", other = "masked", measures = ["robust-mean"] }]',
            "needs \\[matrix\\] robustness",
        ),
        ('robustness = "mp3:32k,warble"', "unknown degradation 'warble'"),
        ("loo_seeds = -1", "loo_seeds = -1"),
    ],
)
def test_a_bad_study_key_names_the_file_and_the_key(tmp_path: Path, extra: str, match: str) -> None:
    store = tmp_path / "features"
    write_matrix_store(store)
    path = write_matrix(tmp_path / "m.toml", [BASE, MASKED], extra=extra)
    with pytest.raises(MatrixError, match=match) as err:
        m = load_matrix(str(path))
        plan_matrix(m, store=store, runs=tmp_path / "r", generators=generators_of(StoreIndex(store)))
    assert str(path) in str(err.value)


def test_full_and_loo_plans_the_full_runs_of_every_seed_and_the_held_out_runs_of_the_first(
    tmp_path: Path,
) -> None:
    store = tmp_path / "features"
    write_matrix_store(store)
    extra = 'protocol = "full+loo"\nloo_seeds = 1\nrobustness = "mp3:32k,noise:20db"'
    cells = [BASE, MASKED.replace('fmask:4" }', 'fmask:4" }, loo = false')]
    m = load_matrix(str(write_matrix(tmp_path / "m.toml", cells, extra=extra, seeds=2)))
    plan = plan_matrix(m, store=store, runs=tmp_path / "r", generators=generators_of(StoreIndex(store)))
    names = [r.name for r in plan.runs]
    assert names == [
        "codec-lcnn-adam-s688-mel-none",
        "codec-lcnn-adam-s688-mel-none-ho-C1",
        "codec-lcnn-adam-s688-mel-none-ho-C2",
        "codec-lcnn-adam-s688-mel-fmask",
        "codec-lcnn-adam-s689-mel-none",
        "codec-lcnn-adam-s689-mel-fmask",
    ]
    sweeps = [r.name for r in plan.runs if r.robustness_argv]
    assert sweeps == [n for n in names if "-ho-" not in n]  # held-out runs are not laundered
    run = plan.runs[0]
    assert run.robustness_argv[run.robustness_argv.index("--degrade") + 1] == "mp3:32k,noise:20db"
    assert not run_finished(run) and not sweep_done(run.run_dir, "mp3:32k,noise:20db")


def test_a_study_writes_its_page_whose_findings_agree_with_the_tables_and_the_runs(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    write_matrix_store(Path("features"))
    findings = 'findings = [{ title = "masking", base = "base", other = "masked", measures = ["C1", "loo-mean", "seen"] }]'
    extra = 'protocol = "full+loo"\nloo_seeds = 1\npage = "docs/study.md"\ngroups = { seen = ["C1", "C2"] }\n'
    write_matrix(Path("m.toml"), [BASE, MASKED], extra=extra + findings, seeds=2)
    assert main(["experiments", "m.toml", "--device", "cpu", "--resamples", "30", "--no-figures"]) == 0
    page = Path("docs/study.md").read_text()
    assert page == Path("experiments/m/results.md").read_text()
    doc = json.loads(Path("docs/study.json").read_text())
    base_c1 = next(r for r in doc["tables"][0]["rows"] if r["row"] == "base")["columns"]["C1"]
    c1 = next(f for f in doc["study"]["findings"] if f["measure"] == "C1")
    assert c1["result"]["value_a"] == pytest.approx(base_c1["mean"])  # the finding's base is the table's cell
    assert c1["result"]["per_seed_a"] == pytest.approx(base_c1["per_seed"])
    assert c1["verdict"] in ("lower", "higher", "not resolved here")
    loo = next(r for r in doc["study"]["loo"] if r["row"] == "base")
    assert sorted(loo["generators"]) == ["C1", "C2"] and loo["mean"]["seeds"] == [688]
    held = Path("runs/codec-lcnn-adam-s688-mel-none-ho-C2/scores/C2.tsv")
    from codecfake.evaluate.score_tsv import read_scores

    sc = read_scores(held)
    fakes = (sc.label == 1) & (sc.condition == "C2")
    keep = fakes | (sc.label == 0)
    want = 100 * eer_both(sc.score[keep], sc.label[keep]).plain.eer
    assert loo["generators"]["C2"]["value_a"] == pytest.approx(want)
    mean = loo["mean"]["value_a"]
    assert mean == pytest.approx(np.mean([g["value_a"] for g in loo["generators"].values()]))
    assert "## Summary (computed from the findings below)" in page and "## Unseen generators" in page
    assert "| masking | loo-mean |" in page and "| masking | seen |" in page
    assert "codecfake train --task codec" in page


def test_a_run_on_stored_variants_the_store_lacks_is_named_before_training(tmp_path: Path) -> None:
    from codecfake.app.experiments.needs import MissingFeatureSets, StoreIndex, require_needs

    store = tmp_path / "features"
    write_matrix_store(store)
    cells = [BASE, f'row = "boosted", {CODEC}, tag = "rb", train = {{ augment = "rawboost:2" }}']
    m = load_matrix(str(write_matrix(tmp_path / "m.toml", cells)))
    plan = plan_matrix(m, store=store, runs=tmp_path / "r")
    with pytest.raises(MissingFeatureSets) as err:
        require_needs(plan, StoreIndex(store))
    text = str(err.value)
    assert "2 variant set(s) of AUGMENT=rawboost:2 (e.g. mini-codecfake." in text and "rawboost#0" in text
    assert "codec-lcnn-adam-s688-mel-rb" in text and "-mel-none" not in text.split("missing")[1]
    assert f"make features STORE={store} AUGMENT=rawboost:2" in text

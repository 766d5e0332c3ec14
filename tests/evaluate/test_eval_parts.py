"""evaluate_run over per-part feature sets: variants reported but not averaged, 19LA min t-DCF beside its EER when
the ASV scores are on disk, a part whose bona fide clips were all missing is skipped with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from codecfake.evaluate.errors import EvaluationError
from codecfake.evaluate.run_eval import evaluate_run
from codecfake.evaluate.tdcf import condition_tdcf
from codecfake.evaluate.testing import FRAME, codec_meta, la_rows, make_run, mel_spec, synthetic_features
from codecfake.store import FeatureSetSpec, FeatureStore


def _part_set(store, corpus: str, part: str, rows, *, seed: int, rejects=(), root: Path | None = None):
    """One per-part set (spec.part, provenance dataset_root) in the evaluate tests' synthetic mel format."""
    rng = np.random.default_rng(seed)
    meta = codec_meta(rows)
    base = mel_spec(corpus).to_dict()
    spec = FeatureSetSpec.from_dict(base | {"manifest_sha256": f"{seed:064d}", "part": part})
    fs = store.create(spec, meta, shard_size=8, extra={"dataset_root": str(root or ""), "part": part})
    fs.ensure_array("mel", FRAME)
    data = synthetic_features(meta["label"], rng, np.full(len(rows), 60))
    for s in range(fs.n_shards):
        a, b = fs.shard_bounds(s)
        fs.write_shard(
            "mel",
            s,
            data[a:b],
            rejects=[(i - a, "MissingAudio: file not found") for i in rejects if a <= i < b],
        )
    return fs


@pytest.fixture(scope="module")
def parts_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval-parts")
    store = FeatureStore(root / "features")
    la_root = root / "LA"
    (la_root / "ASVspoof2019_LA_asv_scores").mkdir(parents=True)
    rng = np.random.default_rng(3)
    asv = [f"bonafide target {v}" for v in rng.normal(2, 1, 40)] + [
        f"bonafide nontarget {v}" for v in rng.normal(-2, 1, 40)
    ]
    asv += [f"A07 spoof {v}" for v in rng.normal(0.5, 1.5, 40)]
    (la_root / "ASVspoof2019_LA_asv_scores" / "ASVspoof2019.LA.asv.eval.gi.trl.scores.txt").write_text(
        "\n".join(asv)
    )
    train = _part_set(
        store,
        "codecfake",
        "train",
        [(f"train/{i}", i % 2, "train", "train") for i in range(16)],
        seed=1,
    )
    _part_set(store, "codecfake", "dev", [(f"dev/{i}", i % 2, "dev", "dev") for i in range(8)], seed=2)
    for k, c in enumerate(("C1", "C3-1", "C4-2")):
        _part_set(store, "codecfake", c, [(f"{c}/{i}", i % 2, c, "test") for i in range(12)], seed=3 + k)
    a3 = [(f"A3/{i}", i % 2, "A3", "test") for i in range(12)]
    _part_set(store, "codecfake", "A3", a3, seed=9, rejects=[i for i in range(12) if i % 2 == 0])
    _part_set(store, "asvspoof2019la", "eval", la_rows(), seed=10, root=la_root)
    run_dir = make_run(root / "runs" / "codec-parts", store, train.key)
    return root, run_dir


def test_per_part_sets_variants_tdcf_and_skipped_parts(parts_env) -> None:
    root, run_dir = parts_env
    out = evaluate_run(run_dir, root / "features", device="cpu", figures=False)
    rep = out.report
    assert [c["name"] for c in rep["conditions"]] == ["19LA", "C1", "C3-1", "C4-2"]
    assert rep["averages"]["plain"]["CAVG"]["over"] == ["C1"]  # variants are reported, never averaged
    assert rep["averages"]["plain"]["AVG"]["over"] == ["19LA", "C1"]
    assert "A3" in rep["skipped"] and "no valid bona fide clips (6 rejected" in rep["skipped"]["A3"]
    assert list(rep["tdcf"]) == ["19LA"]
    sc = out.score_files["19LA"]
    from codecfake.evaluate.score_tsv import read_scores

    s = read_scores(sc)
    asv = root / "LA" / "ASVspoof2019_LA_asv_scores" / "ASVspoof2019.LA.asv.eval.gi.trl.scores.txt"
    want = condition_tdcf(s.score, s.label, asv)  # from the written score file (9 significant digits)
    for mode in ("plain", "paper"):
        assert rep["tdcf"]["19LA"][mode]["min_tdcf"] == pytest.approx(want[mode]["min_tdcf"], abs=1e-9)
    md = (run_dir / "report" / "report.md").read_text()
    assert "| run | 19LA | 19LA min t-DCF | C1 | C3-1 | C4-2 | CAVG | AVG |" in md
    assert "kept out of CAVG/AVG" in md and "Not evaluated: A3" in md
    assert json.loads((run_dir / "report" / "report.json").read_text())["tdcf"]["19LA"]["plain"][
        "asv_file"
    ] == str(asv)


def test_a_whole_corpus_set_beside_its_parts_is_refused(parts_env, tmp_path) -> None:
    import shutil

    root, run_dir = parts_env
    store_root = tmp_path / "features"
    shutil.copytree(root / "features", store_root)
    store = FeatureStore(store_root)
    c1 = store.open(next(k for k in store.keys() if k.startswith("codecfake.C1.")))
    spec = FeatureSetSpec.from_dict(c1.spec.to_dict() | {"part": "", "manifest_sha256": "f" * 64})
    old = store.create(spec, c1.meta, shard_size=8)
    old.ensure_array("mel", c1.frame_shape("mel"))
    for s in range(old.n_shards):
        a, b = old.shard_bounds(s)
        old.write_shard("mel", s, np.asarray(c1.reader("mel").batch(np.arange(a, b)), dtype=np.float32))
    with pytest.raises(EvaluationError, match=r"condition C1 is in two feature sets.*codecfake store rm KEY"):
        evaluate_run(run_dir, store_root, device="cpu", figures=False)

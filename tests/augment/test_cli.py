"""End to end on the tiny demo-format corpus: `codecfake augment` (make features AUGMENT=), `codecfake train
--augment --hold-out --feataug`, `codecfake robustness` (make robustness): what they write and what they refuse."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from codecfake.app.cli import main
from codecfake.corpus.build.mini_codecfake import MARKER, DemoParams
from codecfake.corpus.build.tiny import make_tiny_corpus
from codecfake.extract import variants as variants_mod
from codecfake.store.featurestore import FeatureStore


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("augment-e2e")
    demo = root / "demo"
    make_tiny_corpus(demo)
    (demo / MARKER).write_text(json.dumps({"params": DemoParams(size="small").as_json()}))
    paths = {"demo": demo, "store": root / "features", "runs": root / "runs"}
    assert main(["augment", "--augment", "rawboost:1,codec:1", *_data(paths)]) == 0
    return paths


def _data(p: dict[str, Path]) -> list[str]:
    return [
        "--data",
        "demo",
        "--store",
        str(p["store"]),
        "--demo-dir",
        str(p["demo"]),
        "--size",
        "small",
        "--num-workers",
        "0",
    ]


def _sets(store: Path) -> dict[str, object]:
    s = FeatureStore(store)
    return {k: s.open(k) for k in s.keys()}


def test_variants_hold_training_rows_only_beside_untouched_clean_sets(env):
    sets = _sets(env["store"])
    clean = {fs.spec.corpus: fs for fs in sets.values() if not fs.spec.is_variant}
    variants = [fs for fs in sets.values() if fs.spec.is_variant]
    assert len(clean) == 2 and len(variants) == 4  # rawboost#0 and codec#0 of each demo corpus
    for v in variants:
        c = clean[v.spec.corpus]
        assert v.spec.augment["of"] == c.key and set(v.meta["split"].tolist()) == {"train"}  # dev/test never
        if v.spec.augment["family"] == "codec" and v.spec.corpus == "mini-codecfake":
            assert set(v.meta["label"].tolist()) == {1}  # Codecfake framing: no codec copy of its bona fide
        row = {u: i for i, u in enumerate(c.meta["utt_id"].tolist())}
        i0 = row[v.meta["utt_id"][0]]
        assert not np.allclose(
            v.reader("mel")[0], c.reader("mel")[i0]
        )  # the variant differs from the clean clip
    files = {
        p: p.stat().st_mtime_ns
        for fs in clean.values()
        for p in Path(env["store"], fs.key).rglob("*")
        if p.is_file()
    }
    assert main(["augment", "--augment", "rawboost:2,codec:1", *_data(env)]) == 0  # one more rawboost variant
    after = _sets(env["store"])
    assert (
        sorted(set(after) - set(sets)) == sorted(k for k in after if ".rawboost1." in k) and len(after) == 8
    )
    assert all(p.stat().st_mtime_ns == t for p, t in files.items())  # the clean sets were not written


def test_disk_cost_is_checked_before_extracting(env, monkeypatch, caplog):
    monkeypatch.setattr(variants_mod, "free_bytes", lambda store: 1000)
    before = set(_sets(env["store"]))
    with caplog.at_level(logging.ERROR):
        assert main(["augment", "--augment", "noise:1", *_data(env)]) == 2
    assert "Not enough room" in caplog.text and "--force" in caplog.text and "x the" in caplog.text
    assert set(_sets(env["store"])) == before
    assert main(["augment", "--augment", "foo:1", *_data(env)]) == 2  # unknown family: nothing built
    assert "known: rawboost, codec" in caplog.text


def test_train_robustness_and_held_out_report(env, caplog):
    train = [
        "train",
        "--backend",
        "lcnn",
        "--task",
        "cotrain",
        "--epochs",
        "1",
        "--batch",
        "8",
        "--device",
        "cpu",
    ]
    where = ["--store", str(env["store"]), "--runs", str(env["runs"]), "--name", "aug"]
    argv = [
        *train,
        *where,
        "--augment",
        "rawboost:1,codec:1",
        "--hold-out",
        "A02",
        "--feataug",
        "tmask:4,mixup:0.2",
    ]
    assert main(argv) == 0
    run = env["runs"] / "aug"
    config = json.loads((run / "config.json").read_text())
    assert (config["augment"], config["hold_out"], config["feataug"]) == (
        "rawboost:1,codec:1",
        ["A02"],
        "tmask:4,mixup:0.2",
    )
    assert any("codec: spoof, vocoder: all" in note for note in config["augment_labels"])
    prov = json.loads((run / "provenance.json").read_text())
    assert len(prov["augment"]["variant_sets"]) == 4 and prov["hold_out"] == ["A02"]
    assert (
        main(
            ["evaluate", "--run", str(run), "--store", str(env["store"]), "--resamples", "20", "--no-figures"]
        )
        == 0
    )
    held = json.loads((run / "report" / "report.json").read_text())["held_out"]
    assert held["generators"]["A02"]["condition"] == "19LA" and held["mean"] is not None

    with caplog.at_level(logging.ERROR):
        assert (
            main(["robustness", "--run", str(run), "--store", str(env["store"]), "--degrade", "mp4:32k"]) == 2
        )
    assert "known: opus, mp3" in caplog.text
    sweep = [
        "robustness",
        "--run",
        str(run),
        "--store",
        str(env["store"]),
        "--resamples",
        "20",
        "--num-workers",
        "0",
    ]
    assert main([*sweep, "--degrade", "resample:8k,mp3:32k"]) == 0
    report = json.loads((run / "robustness" / "robustness.json").read_text())
    assert report["degradations"] == ["resample:8k", "mp3:32k"]
    assert set(report["conditions"]) == {"19LA", "C1", "C7"}
    for cond in report["conditions"]:
        assert {"clean", "resample:8k", "mp3:32k"} <= set(report["cells"][cond])
        assert "eer" in report["cells"][cond]["mp3:32k"]
    assert (run / "robustness" / "robustness.png").is_file()
    sets = _sets(env["store"])
    for fs in (s for s in sets.values() if s.spec.augment.get("role") == "degrade"):
        clean = sets[fs.spec.augment["of"]]
        test = np.flatnonzero(clean.meta["split"] == "test")
        for col in (
            "utt_id",
            "label",
            "condition",
            "split",
            "domain",
        ):  # aligned to and labelled as the originals
            assert np.array_equal(np.asarray(clean.meta[col])[test], np.asarray(fs.meta[col]))
    n = len(sets)
    assert main([*sweep, "--degrade", "mp3:32k"]) == 0  # only what is missing: nothing new
    assert len(_sets(env["store"])) == n

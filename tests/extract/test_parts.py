"""Dataset parts: selectable (--parts), a part with missing audio refused by name (or kept as rejects), one feature
set per part, a part added later extends the store without touching the sets already written."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from codecfake.app.cli import main
from codecfake.corpus.build.tiny import make_tiny_corpus
from codecfake.corpus.parts import MissingPartAudio, UnknownPart, available_parts, load_parts
from codecfake.evaluate.conditions import group_test_rows
from codecfake.evaluate.score_features import find_test_sets
from codecfake.store.featurestore import FeatureStore
from codecfake.store.spec import extractor_fields
from codecfake.train.config import TrainConfig
from codecfake.train.data import find_sets, load_training_data


@pytest.fixture
def roots(tmp_path) -> tuple[Path, Path]:
    return make_tiny_corpus(tmp_path / "corpus", n_speakers=4, clips_per_speaker=2)


def _features(codec: Path, store: Path, *extra: str) -> int:
    return main(
        [
            "features",
            "--data",
            "codecfake",
            "--root",
            str(codec),
            "--model",
            "mel",
            "--mel-hop",
            "512",
            "--store",
            str(store),
            "--num-workers",
            "0",
            *extra,
        ]
    )


def _snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in root.rglob("*")
        if p.is_file()
    }


def test_parts_found_and_selected(roots):
    codec, voc = roots
    assert available_parts("codecfake", codec) == ("train", "dev", "C1", "C7")
    assert available_parts("asvspoof2019", voc) == ("train", "dev", "eval")
    assert [p.name for p in load_parts("codecfake", codec, ("dev", "C7"))] == ["dev", "C7"]
    eval_part = load_parts("asvspoof2019", voc, ("eval",))[0]
    assert {r.split for r in eval_part.manifest} == {"test"}
    with pytest.raises(UnknownPart, match=r"\['A3'\] not found .* PARTS=train,dev,C1,C7"):
        load_parts("codecfake", codec, ("train", "A3"))


def test_missing_audio_refuses_the_part_by_name_with_the_parts_fix(roots, tmp_path, caplog):
    codec, _ = roots
    (codec / "label" / "C7.txt").write_text(
        (codec / "label" / "C7.txt").read_text() + "Y2ix2vJVgICk.wav real 0\n"
    )
    with pytest.raises(MissingPartAudio) as err:
        load_parts("codecfake", codec)
    msg = str(err.value)
    assert "part 'C7': 1 of 5 audio files missing" in msg and "Y2ix2vJVgICk.wav" in msg
    assert "PARTS=train,dev,C1" in msg and "--allow-missing" in msg
    store = tmp_path / "features"
    assert _features(codec, store) == 2  # the CLI: one line, exit 2, nothing extracted
    assert "PARTS=train,dev,C1 (--parts train,dev,C1)" in caplog.text
    assert FeatureStore(store).keys() == []
    assert _features(codec, store, "--parts", "train,dev,C1") == 0  # the fix the message names
    assert sorted(i.part for i in FeatureStore(store).list()) == ["C1", "dev", "train"]


def test_allow_missing_records_the_absent_clips_as_rejects(roots, tmp_path):
    codec, _ = roots
    (codec / "label" / "C7.txt").write_text(
        (codec / "label" / "C7.txt").read_text() + "Y2ix2vJVgICk.wav real 0\n"
    )
    store = tmp_path / "features"
    assert _features(codec, store, "--parts", "C7", "--allow-missing") == 0
    (fs,) = [FeatureStore(store).open(k) for k in FeatureStore(store).keys()]
    assert fs.spec.part == "C7" and fs.key.startswith("codecfake.C7.mel.") and fs.n_clips == 5
    (rej,) = fs.rejects("mel")
    assert rej["utt_id"] == "C7/Y2ix2vJVgICk" and "MissingAudio" in rej["reason"]
    assert int(fs.valid("mel").sum()) == 4


def test_a_part_added_later_leaves_the_written_sets_untouched_and_all_parts_are_found(
    roots, tmp_path, caplog
):
    codec, _ = roots
    store = tmp_path / "features"
    assert _features(codec, store, "--parts", "train,dev,C1") == 0
    before = _snapshot(store)
    keys_before = set(FeatureStore(store).keys())
    with caplog.at_level(logging.INFO):
        assert _features(codec, store) == 0  # every part found: C7 is new
    assert caplog.text.count("nothing to do") == 3
    after = _snapshot(store)
    assert {k: v for k, v in after.items() if k in before} == before  # mtimes and bytes of the old sets
    fstore = FeatureStore(store)
    new = set(fstore.keys()) - keys_before
    assert len(new) == 1 and next(iter(new)).startswith("codecfake.C7.mel.")
    assert {i.corpus for i in fstore.list()} == {"codecfake"}
    # training: the codec task trains on the train part and selects on the dev part
    sets = find_sets(fstore, TrainConfig(task="codec", extractor="mel"))
    assert sorted(fs.spec.part for fs in sets) == ["dev", "train"]
    data = load_training_data(fstore, TrainConfig(task="codec", extractor="mel"))
    assert len(data.train) == 8 and len(data.dev) == 4
    # evaluation: every test part with the run's extractor spec, one condition each
    tests = find_test_sets(fstore, extractor_fields(sets[0].spec), "mel")
    names = [g.name for fs in tests for g in group_test_rows(fs.spec.corpus, fs.meta)]
    assert sorted(names) == ["C1", "C7"]


def test_store_ls_shows_corpus_and_part(roots, tmp_path, capsys):
    codec, _ = roots
    store = tmp_path / "features"
    assert _features(codec, store, "--parts", "dev,C1") == 0
    capsys.readouterr()
    assert main(["store", "ls", str(store)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[:3] == ["key", "corpus", "part"]
    assert [ln.split("\t")[1:3] for ln in lines[1:]] == [["codecfake", "C1"], ["codecfake", "dev"]]
    assert np.all([ln.startswith("codecfake.") for ln in lines[1:]])


def test_parts_refused_for_the_demo_and_one_part_corpora(tmp_path, caplog):
    assert main(["features", "--data", "demo", "--parts", "C1", "--store", str(tmp_path)]) == 2
    assert "drop PARTS=" in caplog.text
    with pytest.raises(UnknownPart, match="one part"):
        load_parts("itw", tmp_path, ("ITW",))
    csv = tmp_path / "m.csv"
    csv.write_text("utt_id,path,label\na,a.wav,bonafide\n")
    with pytest.raises(
        MissingPartAudio, match=r"part 'csv': 1 of 1 audio files missing.*ALLOW_MISSING=1"
    ) as err:
        load_parts("csv", csv)
    assert "PARTS=" not in str(err.value)
    (part,) = load_parts("csv", csv, allow_missing=True)
    assert part.name == "" and len(part.missing) == 1

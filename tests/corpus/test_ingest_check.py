"""The ingest check on a fabricated ASVspoof 5 tree with planted problems: every one is found, nothing refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from codecfake.app.cli import main
from codecfake.corpus.ingest_check import CheckConfig, check_corpus
from codecfake.corpus.parts import load_parts
from codecfake.corpus.testing import asv5_line, write_lines, write_tone


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """train: 4 clips of speakers T_0001/T_0002; eval: 6 listed, with one missing file, one unreadable, one silent,
    one at 22.05 kHz, one a copy of a train clip (audio leak) and one of speaker T_0002 (speaker leak); plus an
    unlisted file beside them."""
    root = tmp_path / "asv5"
    train = [
        ("T_0000000000", "T_0001", "bonafide"),
        ("T_0000000001", "T_0001", "A01"),
        ("T_0000000002", "T_0002", "bonafide"),
        ("T_0000000003", "T_0002", "A02"),
    ]
    write_lines(root / "ASVspoof5.train.tsv", [asv5_line(u, speaker=s, attack=a) for u, s, a in train])
    for i, (u, _, _) in enumerate(train):
        write_tone(root / "flac_T" / f"{u}.flac", seed=i)
    evl = [
        ("E_0000000000", "E_0001", "-", "bonafide"),
        ("E_0000000001", "E_0001", "C01", "A17"),
        ("E_0000000002", "E_0003", "C01", "bonafide"),
        ("E_0000000003", "E_0003", "-", "A18"),
        ("E_0000000004", "T_0002", "-", "A18"),  # speaker leak
        ("E_0000000005", "E_0004", "-", "bonafide"),  # audio leak: a copy of train clip T_0000000002
    ]
    write_lines(
        root / "ASVspoof5.eval.track_1.tsv",
        [asv5_line(u, speaker=s, codec=c, attack=a) for u, s, c, a in evl],
    )
    d = root / "flac_E_eval"
    write_tone(d / "E_0000000000.flac", seed=10)
    write_tone(d / "E_0000000001.flac", seed=11, level=0.0)  # digital silence
    (d / "E_0000000002.flac").write_bytes(b"not audio at all")  # unreadable
    # E_0000000003 missing
    write_tone(d / "E_0000000004.flac", seed=14, rate_hz=22050)
    shutil.copy(root / "flac_T" / "T_0000000002.flac", d / "E_0000000005.flac")
    write_tone(d / "E_0000000099.flac", seed=99)  # listed nowhere
    return root


def test_every_planted_problem_is_found(planted: Path) -> None:
    parts = load_parts("asvspoof5", planted, allow_missing=True)
    rep = check_corpus([(p.name, p.manifest) for p in parts], corpus="asvspoof5", root=planted)
    ev = rep.parts["eval"]
    assert (ev["listed"], ev["found"], ev["missing"]["count"], ev["extra"]["count"]) == (6, 5, 1, 1)
    assert ev["missing"]["examples"][0].endswith("E_0000000003.flac")
    assert ev["extra"]["examples"][0].endswith("E_0000000099.flac")
    assert ev["unreadable"]["count"] == 1 and "E_0000000002" in ev["unreadable"]["examples"][0]
    assert ev["sample_rates_hz"] == {16000: 3, 22050: 1}
    assert ev["near_silent"]["count"] == 1 and ev["near_silent"]["examples"][0].endswith("E_0000000001.flac")
    assert ev["label_balance"]["test/ASV5-C01"] == {"bonafide": 1, "spoof": 1}
    assert ev["shorter_than_model_input"] == 4  # 0.25 s clips: repeat-padded to 4.04 s by the models
    leak = rep.leakage
    assert leak["audio"]["groups"] == 1
    assert sorted(u.split()[0] for u in leak["audio"]["examples"][0]) == ["E_0000000005", "T_0000000002"]
    assert leak["speakers"]["shared"] == 1 and leak["speakers"]["examples"] == ["T_0002"]
    assert rep.duplicates["groups"] == 1
    assert any("appear in a training part and a test part" in w for w in rep.warnings)


def test_quick_mode_probes_a_sample_but_counts_every_row(planted: Path) -> None:
    parts = load_parts("asvspoof5", planted, allow_missing=True)
    rep = check_corpus(
        [(p.name, p.manifest) for p in parts],
        corpus="asvspoof5",
        root=planted,
        config=CheckConfig(quick=True, sample=2),
    )
    assert rep.parts["eval"]["probed"] == 2 and rep.parts["eval"]["missing"]["count"] == 1
    assert rep.leakage["speakers"]["shared"] == 1


def test_corpus_check_and_info_commands(planted: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "check.json"
    assert main(["corpus", "check", "asvspoof5", str(planted), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "part eval: listed 6, found 5, missing 1, extra 1, unreadable 1 of 5 probed" in text
    assert "leakage, same audio in train/dev and test: 1" in text
    assert json.loads(out.read_text())["leakage"]["speakers"]["shared"] == 1
    assert main(["corpus", "ls", "asvspoof5", str(planted), "--no-check-paths"]) == 0
    table = capsys.readouterr().out
    assert "test   spoof     ASV5-C00         2" in table and "test   bonafide  ASV5-C01         1" in table
    assert main(["corpus", "info", "asvspoof5", str(planted), "--no-check-paths"]) == 1  # the unreadable clip
    info = capsys.readouterr().out
    assert "gender (1): F:10" in info and "methods (5)" in info


def test_features_extract_a_new_corpus_part_by_part_after_the_ingest_check(
    planted: Path, tmp_path: Path, caplog
) -> None:
    import logging

    from codecfake.store.featurestore import FeatureStore

    args = ["features", "--data", "asvspoof5", "--root", str(planted), "--model", "mel", "--mel-hop", "512"]
    args += ["--store", str(tmp_path / "store"), "--num-workers", "0", "--parts", "eval", "--allow-missing"]
    with caplog.at_level(logging.INFO):
        assert main(args) == 0
    assert "ingest check asvspoof5: 1 parts, 6 listed, 5 found" in caplog.text
    (info,) = FeatureStore(tmp_path / "store").list()
    assert info.key.startswith("asvspoof5.eval.mel.")
    fs = FeatureStore(tmp_path / "store").open(info.key)
    assert sorted(set(fs.meta["condition"].tolist())) == ["ASV5-C00", "ASV5-C01"]
    assert (
        int((~fs.valid("mel")).sum()) == 2
    )  # the missing and the unreadable clip: rejects, as extraction rules

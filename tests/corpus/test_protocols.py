"""Protocol parsers on fixture files written in the exact real formats."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codecfake.corpus import LABELS, Manifest, ManifestError, load_manifest
from codecfake.corpus.protocols import codecfake_speaker


def _wav(path: Path, sr: int = 16000, seconds: float = 0.2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(int(sr * seconds), dtype=np.float32) + 0.01, sr)


@pytest.fixture()
def codecfake_root(tmp_path: Path) -> Path:
    root = tmp_path / "Codecfake"
    label = root / "label"
    label.mkdir(parents=True)
    (label / "train.txt").write_text(
        "p225_001.wav real 0\nF01_p225_001.wav fake 1\nSSB05440084.wav real 0\nF03_SSB05440084.wav fake 3\n"
    )
    (label / "dev.txt").write_text("p226_002.wav real 0\nF06_p226_002.wav fake 6\n")
    (label / "C1.txt").write_text("p225_001.wav real 0\nF01_p225_001.wav fake 1\n")
    (label / "C7.txt").write_text(
        "p225_001.wav real 0\nF07_p225_001.wav fake 7\nF07_SSB18370167.wav fake 7\n"
    )
    (label / "A1.txt").write_text("p275_117.wav real L1\nL1_p275_117.wav fake L1\n")
    for part, d in (
        ("train", "train"),
        ("dev", "dev"),
        ("C1", "test/C1"),
        ("C7", "test/C7"),
        ("A1", "test/A1"),
    ):
        for line in (label / f"{part}.txt").read_text().splitlines():
            _wav(root / d / line.split()[0], sr=24000 if "SSB" in line else 16000)
    return root


def test_codecfake_rows_carry_part_condition_method_and_label_from_column_2(codecfake_root: Path) -> None:
    m = load_manifest("codecfake", codecfake_root)
    assert len(m) == 4 + 2 + 2 + 3 + 2
    by_id = {r.utt_id: r for r in m}
    # the same real file appears in train, C1 and C7 under distinct ids
    assert {"train/p225_001", "C1/p225_001", "C7/p225_001"} <= set(by_id)
    r = by_id["C7/F07_SSB18370167"]
    assert (r.label, r.split, r.condition, r.method, r.speaker, r.language, r.domain) == (
        "spoof",
        "test",
        "C7",
        "7",
        "SSB1837",
        "zh",
        "codec",
    )
    assert r.path == "test/C7/F07_SSB18370167.wav"
    real_c1 = by_id["C1/p225_001"]
    assert (real_c1.label, real_c1.condition, real_c1.method, real_c1.speaker) == (
        "bonafide",
        "C1",
        "0",
        "p225",
    )
    assert by_id["train/F01_p225_001"].condition == "train" and by_id["dev/p226_002"].split == "dev"
    # A-sets: the real rows carry L1 in column 3, so the label must come from column 2
    a1 = by_id["A1/p275_117"]
    assert (a1.label, a1.method, a1.domain) == ("bonafide", "L1", "alm")
    assert by_id["A1/L1_p275_117"].label == "spoof"
    assert all(m.resolve(r).is_file() for r in m)


def test_codecfake_accepts_test_sets_directly_under_root(tmp_path: Path) -> None:
    root = tmp_path / "cf"
    (root / "label").mkdir(parents=True)
    (root / "label" / "C2.txt").write_text("p225_001.wav real 0\nF02_p225_001.wav fake 2\n")
    _wav(root / "C2" / "p225_001.wav")
    _wav(root / "C2" / "F02_p225_001.wav")
    m = load_manifest("codecfake", root)
    assert [r.path for r in m] == ["C2/p225_001.wav", "C2/F02_p225_001.wav"]


def test_codecfake_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "label").mkdir()
    (tmp_path / "label" / "train.txt").write_text("p225_001.wav real 0\np225_002.wav maybe 0\n")
    with pytest.raises(ManifestError, match=r"train.txt line 2"):
        load_manifest("codecfake", tmp_path, check_paths=False)


def test_missing_audio_fails_validation_unless_told_not_to_check(codecfake_root: Path) -> None:
    (codecfake_root / "test" / "C1" / "F01_p225_001.wav").unlink()
    with pytest.raises(ManifestError, match="1 audio files missing"):
        load_manifest("codecfake", codecfake_root)
    assert len(load_manifest("codecfake", codecfake_root, check_paths=False)) == 13


def test_missing_audio_names_the_part_and_the_command_line_ways_past_it(codecfake_root: Path) -> None:
    (codecfake_root / "test" / "C1" / "F01_p225_001.wav").unlink()
    with pytest.raises(ManifestError) as err:
        load_manifest("codecfake", codecfake_root)
    msg = str(err.value)
    parts = [r.condition for r in load_manifest("codecfake", codecfake_root, check_paths=False)]
    rest = ",".join(c for c in dict.fromkeys(parts) if c != "C1")
    assert f"part C1: 1 of {parts.count('C1')}" in msg
    assert (
        f"make features PARTS={rest}" in msg and "--allow-missing" in msg
    )  # what a command-line user can do
    assert "C1" not in rest.split(",")


@pytest.mark.parametrize(
    ("stem", "speaker"),
    [
        ("F03_p225_001", "p225"),
        ("SSB05440084", "SSB0544"),
        ("L2_p275_117", "p275"),
        ("C3-1_p225_001", "p225"),
        ("69630", ""),
    ],
)
def test_codecfake_speaker(stem: str, speaker: str) -> None:
    assert codecfake_speaker(stem) == speaker


@pytest.fixture()
def la_root(tmp_path: Path) -> Path:
    root = tmp_path / "LA"
    proto = root / "ASVspoof2019_LA_cm_protocols"
    proto.mkdir(parents=True)
    (proto / "ASVspoof2019.LA.cm.train.trn.txt").write_text(
        "LA_0079 LA_T_1138215 - - bonafide\nLA_0079 LA_T_1271820 - A01 spoof\n"
    )
    (proto / "ASVspoof2019.LA.cm.dev.trl.txt").write_text("LA_0069 LA_D_1047731 - A05 spoof\n")
    (proto / "ASVspoof2019.LA.cm.eval.trl.txt").write_text(
        "LA_0039 LA_E_2834763 - A11 spoof\nLA_0014 LA_E_8877452 - - bonafide\n"
    )
    for part, ids in (
        ("train", ["LA_T_1138215", "LA_T_1271820"]),
        ("dev", ["LA_D_1047731"]),
        ("eval", ["LA_E_2834763", "LA_E_8877452"]),
    ):
        for i in ids:
            _wav(root / f"ASVspoof2019_LA_{part}" / "flac" / f"{i}.flac")
    return root


def test_asvspoof2019_attack_is_condition_and_eval_is_test(la_root: Path) -> None:
    m = load_manifest("asvspoof2019", la_root)
    rows = {r.utt_id: r for r in m}
    assert rows["LA_T_1271820"].condition == "A01" and rows["LA_T_1271820"].label == "spoof"
    assert rows["LA_T_1138215"].condition == "bonafide" and rows["LA_T_1138215"].speaker == "LA_0079"
    assert rows["LA_E_2834763"].split == "test" and rows["LA_D_1047731"].split == "dev"
    assert rows["LA_E_8877452"].path == "ASVspoof2019_LA_eval/flac/LA_E_8877452.flac"
    assert {r.corpus for r in m} == {"asvspoof2019la"} and {r.domain for r in m} == {"vocoder"}
    assert [c for c in m.counts() if c[0] == "test"] == [
        ("test", "bonafide", "bonafide", 1),
        ("test", "spoof", "A11", 1),
    ]


def test_asvspoof2019_missing_protocol_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="ASVspoof2019.LA.cm.train.trn.txt not found"):
        load_manifest("asvspoof2019", tmp_path)


def test_itw_meta_csv(tmp_path: Path) -> None:
    (tmp_path / "meta.csv").write_text(
        "file,speaker,label\n0.wav,Alec Guinness,spoof\n1.wav,Alec Guinness,bona-fide\n"
    )
    _wav(tmp_path / "0.wav")
    _wav(tmp_path / "1.wav")
    m = load_manifest("itw", tmp_path)
    assert [(r.utt_id, r.label, r.condition, r.split, r.speaker) for r in m] == [
        ("0", "spoof", "ITW", "test", "Alec Guinness"),
        ("1", "bonafide", "ITW", "test", "Alec Guinness"),
    ]
    assert [r.label_int for r in m] == [LABELS["spoof"], LABELS["bonafide"]] == [1, 0]


def test_plain_csv_and_round_trip(la_root: Path, tmp_path: Path) -> None:
    m = load_manifest("asvspoof2019", la_root)
    csv_path = m.to_csv(tmp_path / "out" / "m.csv", absolute_paths=True)
    back = load_manifest("csv", csv_path)
    assert back.rows[0].utt_id == m.rows[0].utt_id and back.content_hash() == m.content_hash()
    assert back == Manifest([r for r in back], back.root)
    minimal = tmp_path / "mini.csv"
    minimal.write_text(f"utt_id,path,label\nx1,{m.resolve(m.rows[0])},bonafide\n")
    r = load_manifest("csv", minimal, name="mine").rows[0]
    assert (r.corpus, r.split, r.condition, r.domain) == ("mine", "test", "mine", "unknown")


def test_csv_rejects_unknown_label_and_columns(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("utt_id,path,label\nx,a.wav,fake\n")
    with pytest.raises(ManifestError, match=r"unknown labels \['fake'\]"):
        load_manifest("csv", p, check_paths=False)
    p.write_text("utt_id,path,label,colour\nx,a.wav,spoof,red\n")
    with pytest.raises(ManifestError, match="unknown columns"):
        load_manifest("csv", p, check_paths=False)


def test_unknown_kind() -> None:
    with pytest.raises(ManifestError, match="unknown manifest kind"):
        load_manifest("librispeech", Path("."))

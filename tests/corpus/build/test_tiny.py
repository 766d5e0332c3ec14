"""The importable tiny corpus other stages' tests use."""

from pathlib import Path

import soundfile as sf

from codecfake.corpus import load_clips, load_manifest
from codecfake.corpus.build.tiny import make_tiny_corpus


def test_tiny_corpus_is_fast_and_readable_by_every_parser(tmp_path: Path) -> None:
    codec_root, voc_root = make_tiny_corpus(tmp_path)
    cf = load_manifest("codecfake", codec_root)
    # tiny: 4 speakers x 3 clips of 1.5 s -> 30 codec rows (3 train/dev speakers: real + fake = 18; the test speaker's
    # 3 clips: real + fake in both C1 and C7 = 12) and 24 LA rows (bona fide + spoof each), ~54 files of 24,000
    # samples; that is what keeps it a few-second fixture
    assert len(cf) == 30 and len(load_manifest("asvspoof2019", voc_root)) == 24
    assert {sf.info(cf.resolve(r)).frames for r in cf} == {24000}
    assert {r.split for r in cf} == {"train", "dev", "test"}
    assert {r.condition for r in cf.select(split="test")} == {"C1", "C7"}
    assert {r.label for r in cf.select(split="test", condition="C7")} == {"bonafide", "spoof"}
    la = load_manifest("asvspoof2019", voc_root)
    assert {r.split for r in la} == {"train", "dev", "test"} and {r.condition for r in la} >= {
        "A01",
        "bonafide",
    }
    assert load_manifest("demo-codec", tmp_path).name == "mini-codecfake"
    assert load_manifest("demo-vocoder", tmp_path).rows[0].corpus == "mini-19la"
    rep = load_clips(cf.rows, cf.root)
    assert rep.n_in == len(cf) and not rep.rejects
    # deterministic for a seed
    make_tiny_corpus(tmp_path / "again")
    assert load_manifest("codecfake", tmp_path / "again" / "codec").content_hash() == cf.content_hash()

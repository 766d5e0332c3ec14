"""The importable tiny corpus other stages' tests use."""

import time
from pathlib import Path

from codecfake.corpus import load_clips, load_manifest
from codecfake.corpus.build.tiny import make_tiny_corpus


def test_tiny_corpus_is_fast_and_readable_by_every_parser(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    codec_root, voc_root = make_tiny_corpus(tmp_path)
    assert time.perf_counter() - t0 < 3.0
    cf = load_manifest("codecfake", codec_root)
    assert {r.split for r in cf} == {"train", "dev", "test"}
    assert {r.condition for r in cf.select(split="test")} == {"C1", "C7"}
    assert {r.label for r in cf.select(split="test", condition="C7")} == {"bonafide", "spoof"}
    la = load_manifest("asvspoof2019", voc_root)
    assert {r.split for r in la} == {"train", "dev", "test"} and {r.condition for r in la} >= {"A01", "bonafide"}
    assert load_manifest("demo-codec", tmp_path).name == "mini-codecfake"
    assert load_manifest("demo-vocoder", tmp_path).rows[0].corpus == "mini-19la"
    rep = load_clips(cf.rows, cf.root)
    assert rep.n_in == len(cf) and not rep.rejects
    # deterministic for a seed
    make_tiny_corpus(tmp_path / "again")
    assert load_manifest("codecfake", tmp_path / "again" / "codec").content_hash() == cf.content_hash()

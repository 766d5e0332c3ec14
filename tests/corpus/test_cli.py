"""`codecfake corpus ls|info|synth|demo` through the real CLI entry point."""

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codecfake.app.cli import main
from codecfake.corpus import load_manifest
from codecfake.corpus.build.tiny import synth_voice


def test_ls_prints_counts_by_split_label_condition(
    tiny_corpus: tuple[Path, Path], capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    codec_root, _ = tiny_corpus
    assert main(["corpus", "ls", "codecfake", str(codec_root), "--csv", str(tmp_path / "m.csv")]) == 0
    out = capsys.readouterr().out
    assert "test   spoof     C7" in out and "total" in out
    assert len(load_manifest("csv", tmp_path / "m.csv", check_paths=False)) == len(
        load_manifest("codecfake", codec_root)
    )


def test_info_checks_audio_and_fails_on_a_bad_file(
    tiny_corpus: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _, voc_root = tiny_corpus
    assert main(["corpus", "info", "asvspoof2019", str(voc_root)]) == 0
    assert "accepted" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    (tmp_path / "x.wav").write_bytes(b"")
    bad.write_text("utt_id,path,label\nx,x.wav,spoof\n")
    assert main(["corpus", "info", "csv", str(bad)]) == 1
    assert "EmptyAudio" in capsys.readouterr().out


def test_ls_on_a_missing_corpus_exits_2_with_the_fix(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert main(["corpus", "ls", "demo-codec", str(tmp_path)]) == 2
    assert "codecfake corpus demo --out" in caplog.text


def test_synth_cli(tmp_path: Path) -> None:
    sf.write(tmp_path / "a.wav", synth_voice(np.random.default_rng(0), 2.0), 16000)
    assert (
        main(["corpus", "synth", "--real", str(tmp_path), "--codec", "amrnb", "--out", str(tmp_path / "o")])
        == 0
    )
    assert len(load_manifest("codecfake", tmp_path / "o")) == 2


@pytest.mark.slow
@pytest.mark.net
def test_small_demo_corpus_from_packages(demo_small: Path, caplog: pytest.LogCaptureFixture) -> None:
    cm, vm = load_manifest("demo-codec", demo_small), load_manifest("demo-vocoder", demo_small)
    reals = cm.select(label="bonafide")
    assert 20 <= len({r.utt_id.split("/")[1] for r in reals}) <= 40  # "tens of reals"
    assert {r.condition for r in cm.select(split="test")} == {f"C{k}" for k in range(1, 8)}
    assert "7" not in {r.method for r in cm.select(split=["train", "dev"])}
    by_split = {s: {r.utt_id.split("/")[1] for r in reals.select(split=s)} for s in ("train", "dev", "test")}
    assert not (by_split["train"] & by_split["test"]) and not (by_split["train"] & by_split["dev"])
    assert len({r.language for r in cm}) >= 3 and {r.corpus for r in vm} == {"mini-19la"}
    assert Counter(r.label for r in vm)["spoof"] >= 2 * Counter(r.label for r in vm)["bonafide"]
    readme = (demo_small / "README.md").read_text()
    assert "CC-BY-SA-3.0" in readme and "codec2-1300" in readme
    stamps = {p: p.stat().st_mtime_ns for p in demo_small.rglob("*") if p.is_file()}
    with caplog.at_level(logging.INFO):
        assert main(["corpus", "demo", "--out", str(demo_small), "--size", "small"]) == 0
    assert "is complete for these parameters; reusing it" in caplog.text
    assert {
        p: p.stat().st_mtime_ns for p in demo_small.rglob("*") if p.is_file()
    } == stamps  # nothing rebuilt

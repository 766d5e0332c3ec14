"""Planning (joins, disjoint splits) and a fast end-to-end demo build from generated speech (--real-dir path)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codecfake.corpus import ManifestError, load_manifest
from codecfake.corpus.build.mini_codecfake import MARKER, build_demo
from codecfake.corpus.build.plan import SIZES, plan
from codecfake.corpus.build.sources import SourceClip, list_real_dir
from codecfake.corpus.build.tiny import synth_voice


def _clips(n_speakers: int = 4, per: int = 30) -> list[SourceClip]:
    return [
        SourceClip(f"/x/s{s}/{i}.wav", "sf", f"src{s % 2}", f"s{s}", "en", f"w{i}", 0.6 + 0.1 * (i % 5))
        for s in range(n_speakers)
        for i in range(per)
    ]


def test_plan_uses_each_clip_once_and_keeps_utterances_in_one_split() -> None:
    codec, voc = plan(_clips(), (18, 8), seed=3)
    assert len(codec) == 18 and len(voc) == 8
    used = [c.path for u in codec + voc for c in u.clips]
    assert len(used) == len(set(used))  # no clip in two utterances, nor in both domains
    assert all(sum(c.seconds for c in u.clips) + 0.3 * len(u.clips) >= 4.25 for u in codec)
    assert all(len({c.speaker for c in u.clips}) == 1 for u in codec)  # joins stay within one speaker
    for utts in (codec, voc):
        splits = [u.split for u in utts]
        assert {"train", "dev", "test"} == set(splits) and splits.count("train") >= 0.6 * len(splits)
    assert plan(_clips(), (18, 8), seed=3) == (codec, voc)
    assert plan(_clips(), (18, 8), seed=4) != (codec, voc)


def _stamps(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("reals")
    for s in range(3):
        (d / f"spk{s}").mkdir()
        for i in range(12):
            sf.write(d / f"spk{s}" / f"u{i}.wav", synth_voice(np.random.default_rng(10 * s + i), 1.4), 16000)
    return d


def test_real_dir_clips_take_the_folder_as_speaker(real_dir: Path) -> None:
    clips = list_real_dir(real_dir)
    assert len(clips) == 36 and {c.speaker for c in clips} == {"spk0", "spk1", "spk2"}


def test_tiny_demo_build_is_readable_reused_and_protected(
    real_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(SIZES, "tiny", (6, 4))
    monkeypatch.setattr(
        "codecfake.corpus.build.mini_codecfake.available_attacks", lambda: {"A02": "Griffin-Lim"}
    )
    out = tmp_path / "demo"
    build_demo(out, size="tiny", seed=1, real_dir=real_dir, workers=1)
    cm = load_manifest("demo-codec", out)
    assert cm.name == "mini-codecfake" and {r.domain for r in cm} == {"codec"}
    assert {r.condition for r in cm.select(split="test")} == {f"C{k}" for k in range(1, 8)}
    assert "7" not in {r.method for r in cm.select(split=["train", "dev"])}  # C7 never in train/dev
    train_reals = cm.select(split="train", label="bonafide")
    assert len(cm.select(split="train")) == 7 * len(train_reals)  # every real + its C1..C6 fakes
    test_stems = {r.utt_id.split("/")[1] for r in cm.select(split="test", label="bonafide")}
    assert not test_stems & {r.utt_id.split("/")[1] for r in train_reals}
    vm = load_manifest("demo-vocoder", out)
    assert vm.name == "mini-19la" and {r.condition for r in vm.select(label="spoof")} == {"A02"}
    for m in (cm, vm):
        x, sr = sf.read(m.resolve(m.rows[-1]))
        assert sr == 16000 and len(x) == 64600
    assert "What it is not" in (out / "README.md").read_text()
    stamps = _stamps(out)

    def no_rebuild(*args, **kwargs):
        raise AssertionError("a complete corpus was planned again")

    monkeypatch.setattr("codecfake.corpus.build.mini_codecfake.list_real_dir", no_rebuild)
    monkeypatch.setattr("codecfake.corpus.build.mini_codecfake.plan", no_rebuild)
    assert (
        build_demo(out, size="tiny", seed=1, real_dir=real_dir, workers=1) == out
    )  # complete marker: reused
    assert _stamps(out) == stamps  # not one file rewritten
    assert json.loads((out / MARKER).read_text())["params"]["seed"] == 1
    with pytest.raises(ManifestError, match="--force"):
        build_demo(out, size="tiny", seed=2, real_dir=real_dir, workers=1)


def test_same_seed_gives_identical_files_whatever_the_workers(
    real_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    from codecfake.corpus.build.mini_codecfake import SUMS

    pytest.importorskip("pycodec2")
    monkeypatch.setitem(SIZES, "tiny", (3, 2))
    attacks = {"A02": "Griffin-Lim"}
    if importlib.util.find_spec("pyworld"):
        attacks["A01"] = "WORLD"
    monkeypatch.setattr("codecfake.corpus.build.mini_codecfake.available_attacks", lambda: attacks)

    def digest(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    a = build_demo(tmp_path / "a", size="tiny", seed=5, real_dir=real_dir, workers=1)
    b = build_demo(
        tmp_path / "b", size="tiny", seed=5, real_dir=real_dir, workers=2
    )  # other processes and order
    da, db = digest(a), digest(b)
    assert len(da) > 30 and da == db  # C7 (Codec 2) and A01 (WORLD) included
    sums = dict(reversed(line.split("  ")) for line in (a / SUMS).read_text().splitlines())
    audio = {k: v for k, v in da.items() if k.endswith((".wav", ".flac"))}
    assert sums == audio and any(k.startswith("codec/test/C7/F07_") for k in sums)


def test_a_corpus_of_an_older_builder_version_is_rebuilt_without_force(tmp_path: Path) -> None:
    from codecfake.corpus.build.mini_codecfake import VERSION, _older_version

    marker = tmp_path / MARKER
    marker.write_text(json.dumps({"params": {"size": "default", "version": VERSION - 1}}))
    assert _older_version(marker)
    marker.write_text(json.dumps({"params": {"size": "default", "version": VERSION}}))
    assert not _older_version(marker)

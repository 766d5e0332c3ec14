"""`codecfake features`: the Makefile's arguments, demo planning, errors as one line with exit 2."""

from __future__ import annotations

import json
import logging

import pytest

from codecfake.app.cli import main
from codecfake.corpus.build.mini_codecfake import MARKER, DemoParams
from codecfake.corpus.build.tiny import make_tiny_corpus
from codecfake.extract.cli import parse_layers
from codecfake.extract.errors import ExtractError
from codecfake.presets import read_preset, recorded_preset
from codecfake.store.featurestore import FeatureStore


def test_parse_layers():
    assert parse_layers("5") == (5,)
    assert parse_layers("5,12") == (5, 12)
    for bad in ("", "five", "-1"):
        with pytest.raises(ExtractError, match="--layers"):
            parse_layers(bad)


def test_makefile_arguments_end_to_end(tmp_path, caplog):
    demo = tmp_path / "demo"
    make_tiny_corpus(demo)
    # the marker the corpus stage writes last for a finished small corpus: features must not rebuild it
    (demo / MARKER).write_text(json.dumps({"params": DemoParams(size="small").as_json()}))
    store = tmp_path / "features"
    argv = [
        "features",
        "--preset",
        "demo",
        "--data",
        "demo",
        "--extractor",
        "mel",
        "--layers",
        "5",
        "--store",
        str(store),
        "--device",
        "auto",
        "--demo-dir",
        str(demo),
        "--size",
        "small",
        "--num-workers",
        "0",
    ]
    assert main(argv) == 0
    infos = {i.corpus: i for i in FeatureStore(store).list()}
    assert set(infos) == {"mini-codecfake", "mini-19la"}  # both demo corpora, one mel set each
    assert all(i.arrays == {"mel": True} for i in infos.values())
    want = read_preset("demo").features  # the preset's values fill the --mel-* flags not given
    for fs in (FeatureStore(store).open(i.key) for i in infos.values()):
        p = fs.spec.params
        assert (p["log"], p["hop_samples"], p["n_fft"], p["win_length"]) == (
            want["mel_values"] == "log",
            want["mel_hop"],
            want["mel_n_fft"],
            want["mel_n_fft"],
        )
        assert recorded_preset(fs.provenance) == "demo"  # in the provenance attributes, not in the key
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert main(argv) == 0
    assert caplog.text.count("nothing to do") == 2


def test_errors_exit_2(tmp_path, caplog):
    assert main(["features", "--data", "codecfake", "--store", str(tmp_path)]) == 2
    assert "needs --root" in caplog.text
    assert (
        main(
            [
                "features",
                "--data",
                "codecfake",
                "--root",
                str(tmp_path),
                "--model",
                "xlsr",
                "--model-dir",
                str(tmp_path / "nope"),
                "--store",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert f"checkpoint folder {tmp_path / 'nope'} does not exist" in caplog.text
    caplog.clear()  # mel has no checkpoint: a --model-dir beside it is refused, not silently used for xlsr
    assert (
        main(["features", "--extractor", "mel", "--model-dir", str(tmp_path), "--store", str(tmp_path)]) == 2
    )
    assert "--extractor mel takes no --model-dir" in caplog.text and not list(tmp_path.iterdir())


def test_real_dataset_defaults_to_the_release_power_mel_and_log_on_request(tmp_path):
    codec, _ = make_tiny_corpus(tmp_path / "corpus", clips_per_speaker=1)
    store = tmp_path / "features"
    base = [
        "features",
        "--data",
        "codecfake",
        "--root",
        str(codec),
        "--store",
        str(store),
        "--num-workers",
        "0",
        "--parts",
        "train",
    ]
    assert main(base) == 0
    assert main([*base, "--mel-values", "log"]) == 0
    specs = sorted(
        (
            (fs.spec.params["log"], fs.spec.params["hop_samples"], fs.spec.dtype)
            for fs in (FeatureStore(store).open(k) for k in FeatureStore(store).keys())
        ),
        key=str,
    )
    assert specs == [(False, 128, "float32"), (True, 128, "float16")]


def test_a_preset_fills_the_mel_flags_not_given_and_is_recorded_outside_the_key(
    tmp_path, monkeypatch, caplog
):
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "hop.toml").write_text('[features]\nmel_hop = 256\nmel_values = "log"\n')
    monkeypatch.setattr("codecfake.presets.CONFIG_DIR", configs)
    codec, _ = make_tiny_corpus(tmp_path / "corpus", clips_per_speaker=1)
    base = ["features", "--data", "codecfake", "--root", str(codec), "--num-workers", "0", "--parts", "train"]
    preset, flags = tmp_path / "preset", tmp_path / "flags"
    assert main([*base, "--store", str(preset), "--preset", "hop"]) == 0
    assert main([*base, "--store", str(flags), "--mel-hop", "256", "--mel-values", "log"]) == 0
    (made,) = (FeatureStore(preset).open(k) for k in FeatureStore(preset).keys())
    (typed,) = (FeatureStore(flags).open(k) for k in FeatureStore(flags).keys())
    assert made.key == typed.key and made.spec == typed.spec  # the same values, the same set
    assert (made.spec.params["hop_samples"], made.spec.params["log"]) == (256, True)
    assert (recorded_preset(made.provenance), recorded_preset(typed.provenance)) == ("hop", None)
    assert main([*base, "--store", str(preset), "--preset", "hop", "--mel-hop", "512"]) == 0  # a flag wins
    hops = sorted(
        FeatureStore(preset).open(k).spec.params["hop_samples"] for k in FeatureStore(preset).keys()
    )
    assert hops == [256, 512]
    assert main([*base, "--store", str(preset), "--preset", "nope"]) == 2
    assert "preset 'nope' not found; known presets: hop" in caplog.text

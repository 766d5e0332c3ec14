"""``extractor_from_spec``: the extractor a recorded spec describes, for every parameter of every extractor.

The parameters are enumerated from the extractors themselves (``MelConfig``'s fields, the constructors' signatures),
so a parameter added later fails these tests until the spec records it and the rebuild reads it back.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from codecfake.extract import build_extractor
from codecfake.extract.errors import ExtractorMismatch, MissingCheckpoint, UnknownExtractor
from codecfake.extract.mel import MelConfig, MelExtractor
from codecfake.extract.rebuild import extractor_from_spec, extractor_spec
from codecfake.extract.ssl import SSLExtractor
from codecfake.extract.testing import save_tiny_model
from codecfake.store import FeatureSetSpec


def _stored(ext: Any) -> FeatureSetSpec:
    """The spec as a feature set records it, through its JSON form (what a worker or a run reads back)."""
    spec = FeatureSetSpec(corpus="c", manifest_sha256="0" * 64, **extractor_spec(ext))
    return FeatureSetSpec.from_dict(json.loads(json.dumps(spec.to_dict())))


def _other(value: Any) -> Any:
    """A valid non-default value of a numeric or boolean parameter."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return type(value)(value * 2 if value else 1)
    raise TypeError(f"no non-default value for {value!r}: teach this test the new parameter's type")


MEL_FIELDS = [f.name for f in dataclasses.fields(MelConfig)]
# MelExtractor's constructor: the config (every field above), the clip length, the resampler its clips are loaded
# with (tested below), and the device the caller picks
MEL_ARGS = {"config", "n_samples", "resampler"}


def test_the_mel_constructor_has_no_parameter_these_tests_miss() -> None:
    params = set(inspect.signature(MelExtractor.__init__).parameters) - {"self", "device"}
    assert params == MEL_ARGS, f"new MelExtractor parameter(s) {params - MEL_ARGS}: record and rebuild them"


def _mel_roundtrip(config: MelConfig, n_samples: int) -> tuple[MelExtractor, Any]:
    ext = MelExtractor(config, n_samples=n_samples)
    return ext, extractor_from_spec(_stored(ext), arrays=["mel"])


@pytest.mark.parametrize("field", MEL_FIELDS)
def test_each_mel_parameter_round_trips_at_a_non_default_value(field: str) -> None:
    default = MelConfig()
    config = dataclasses.replace(default, **{field: _other(getattr(default, field))})
    if field == "log_floor":  # recorded (and used) only for log mels
        config = dataclasses.replace(config, log=True)
    ext, rebuilt = _mel_roundtrip(config, 64600)
    assert ext.config != default
    assert rebuilt.config == ext.config and extractor_spec(rebuilt) == extractor_spec(ext)


def test_every_mel_parameter_at_once_rebuilds_the_same_values() -> None:
    default = MelConfig()
    config = MelConfig(**{f: _other(getattr(default, f)) for f in MEL_FIELDS})
    assert all(getattr(config, f) != getattr(default, f) for f in MEL_FIELDS)
    ext, rebuilt = _mel_roundtrip(config, 2 * 64600)
    assert (rebuilt.config, rebuilt.n_samples) == (config, 2 * 64600)
    wave = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 2 * 64600)).astype(np.float32))
    torch.testing.assert_close(rebuilt(wave)["mel"], ext(wave)["mel"], rtol=0, atol=0)


def test_the_mel_resampler_round_trips() -> None:
    ext = MelExtractor(MelConfig(), resampler="kaiser_best")
    rebuilt = extractor_from_spec(_stored(ext), arrays=["mel"])
    assert rebuilt.resampler == "kaiser_best" and extractor_spec(rebuilt) == extractor_spec(ext)
    assert extractor_from_spec(_stored(MelExtractor(MelConfig())), arrays=["mel"]).resampler == "soxr_hq"


def test_a_mel_setting_the_rebuild_cannot_make_is_refused() -> None:
    spec = _stored(build_extractor("mel")).to_dict()
    spec["params"] = {**spec["params"], "window": "hamming"}
    with pytest.raises(ExtractorMismatch, match="window"):
        extractor_from_spec(spec, arrays=["mel"], source="set x")


# SSLExtractor's constructor: kind (both are tested), the folder and device the caller gives, and these
SSL_NON_DEFAULT = {
    "layers": (0, 2),
    "n_samples": 16000,
    "precision": "bf16",
    "resampler": "kaiser_best",
    "dtype": "float32",
}


def test_the_ssl_constructor_has_no_parameter_these_tests_miss() -> None:
    sig = inspect.signature(SSLExtractor.__init__).parameters
    params = set(sig) - {"self", "kind", "model_dir", "device"}
    assert params == set(SSL_NON_DEFAULT), f"new SSLExtractor parameter(s): record and rebuild {params}"
    assert all(SSL_NON_DEFAULT[p] != sig[p].default for p in params)


def _snapshot(tmp_path: Path, kind: str, seed: int = 0, normalise: bool = False) -> Path:
    """A tiny checkpoint in a Hugging Face cache snapshot folder (the revision is recorded) whose preprocessor sets
    do_normalize (the normalisation is recorded)."""
    folder = tmp_path / f"models--org--tiny-{kind}" / "snapshots" / f"rev{seed}"
    save_tiny_model(folder, kind, stable=True, seed=seed)
    pre = json.loads((folder / "preprocessor_config.json").read_text())
    (folder / "preprocessor_config.json").write_text(json.dumps(pre | {"do_normalize": normalise}))
    return folder


@pytest.mark.parametrize("kind", ["xlsr", "wavlm"])
def test_every_ssl_parameter_round_trips_with_the_callers_folder(kind: str, tmp_path: Path) -> None:
    folder = _snapshot(tmp_path, kind)
    ext = SSLExtractor(kind, str(folder), **SSL_NON_DEFAULT)
    params = ext.spec_fields()["params"]
    assert (params["revision"], params["normalise"], params["precision"]) == ("rev0", False, "bf16")
    rebuilt = extractor_from_spec(_stored(ext), arrays=["L00", "L02"], model_dir=folder)
    assert (rebuilt.name, rebuilt.model_dir, rebuilt.normalise) == (kind, ext.model_dir, False)
    assert {p: getattr(rebuilt, p) for p in SSL_NON_DEFAULT} == SSL_NON_DEFAULT
    assert extractor_spec(rebuilt) == extractor_spec(ext)
    wave = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 16000)).astype(np.float32))
    for name, x in ext(wave).items():
        torch.testing.assert_close(rebuilt(wave)[name], x, rtol=0, atol=0)


def test_an_ssl_folder_that_differs_from_the_spec_is_refused(tmp_path: Path) -> None:
    spec = _stored(SSLExtractor("xlsr", str(_snapshot(tmp_path, "xlsr")), layers=(1,)))
    other = _snapshot(tmp_path / "b", "xlsr", seed=1)
    with pytest.raises(ExtractorMismatch, match="weights_sha256"):
        extractor_from_spec(spec, arrays=["L01"], model_dir=other, source="run r")
    normalising = _snapshot(tmp_path / "c", "xlsr", normalise=True)
    with pytest.raises(ExtractorMismatch, match="normalise"):
        extractor_from_spec(spec, arrays=["L01"], model_dir=normalising, source="run r")
    with pytest.raises(MissingCheckpoint, match="--model-dir"):
        extractor_from_spec(spec, arrays=["L01"], source="run r")
    with pytest.raises(UnknownExtractor, match="layer names"):
        extractor_from_spec(spec, arrays=["mel"], model_dir=other, source="run r")

"""What an extractor records in a feature set's spec, and the extractor a recorded spec describes.

``extractor_spec(ext)`` is what extraction writes into ``FeatureSetSpec`` (and so into a run's provenance);
``extractor_from_spec(spec, arrays=…)`` is its inverse, the one way to rebuild an extractor: dask workers rebuild the
set's extractor from the set's spec, ``codecfake score`` rebuilds a run's from the run's provenance. Mel features are
rebuilt from the spec alone (every ``MelConfig`` field is recorded); SSL features need the caller's local model
folder, and the spec pins what that folder must give (model id, weights hash, normalisation, revision, precision);
the resampler (``params.resampler``, absent = soxr) and the SSL store dtype come back from the spec too.
Layers are not in a spec (a set holds one array per layer): the caller names the arrays it needs.

The rebuilt extractor's own spec must equal the recorded one, field for field; any difference is refused with
:class:`~codecfake.extract.errors.ExtractorMismatch` before a single clip is computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from codecfake.common import N_SAMPLES
from codecfake.corpus.resample import DEFAULT_RESAMPLER
from codecfake.extract.errors import ExtractorMismatch, MissingCheckpoint, UnknownExtractor
from codecfake.extract.extractors import EXTRACTORS, Extractor
from codecfake.store.spec import EXTRACTOR_FIELDS

__all__ = ["RECORDED_FIELDS", "extractor_spec", "recorded_fields", "extractor_from_spec"]

# The FeatureSetSpec fields an extractor determines: the store's EXTRACTOR_FIELDS but the pad / crop rules, which the
# clip loader decides (the rest of a spec says which clips: corpus, manifest, part).
RECORDED_FIELDS = tuple(f for f in EXTRACTOR_FIELDS if f not in ("pad_rule", "crop_rule"))


def extractor_spec(ext: Extractor) -> dict[str, Any]:
    """The spec fields ``ext`` records (:data:`RECORDED_FIELDS`): name, model id, weights hash, params, store dtype,
    the sample rate it expects its input at and the clip length in samples."""
    return {
        "extractor": ext.name,
        **ext.spec_fields(),
        "dtype": ext.dtype,
        "sample_rate_hz": int(ext.sample_rate_hz),
        "n_samples": int(ext.n_samples),
    }


def recorded_fields(spec: Any) -> dict[str, Any]:
    """The :data:`RECORDED_FIELDS` present in a ``FeatureSetSpec`` (anything with ``to_dict()``) or a mapping such
    as a run's provenance ``extractor``."""
    d = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
    return {k: d[k] for k in RECORDED_FIELDS if k in d}


def _ssl_layers(name: str, arrays: Sequence[str], source: str) -> tuple[int, ...]:
    from codecfake.extract.ssl import layer_index

    layers = [layer_index(a) for a in arrays]
    if not arrays or any(k is None for k in layers):
        raise UnknownExtractor(
            f"{source}: {name} arrays are SSL layer names like 'L05', found {list(arrays)}; name the layers the "
            "features hold"
        )
    return tuple(k for k in layers if k is not None)


def _build(
    fields: Mapping[str, Any], arrays: Sequence[str], model_dir: str | Path | None, device: Any, source: str
) -> Extractor:
    name = fields.get("extractor")
    n_samples = int(fields.get("n_samples", N_SAMPLES))
    params = fields.get("params") or {}
    resampler = str(params.get("resampler", DEFAULT_RESAMPLER))  # absent: soxr, what every set used before
    if name == "mel":
        from codecfake.extract.mel import MelExtractor, mel_config_from_spec

        return MelExtractor(
            mel_config_from_spec(fields), device=device, n_samples=n_samples, resampler=resampler
        )
    if name in ("xlsr", "wavlm"):
        from codecfake.extract.ssl import SSLExtractor

        if model_dir is None:
            raise MissingCheckpoint(
                f"{source} uses {name} features ({fields.get('model_id')}); pass the local checkpoint folder with "
                "--model-dir DIR (the same one used for `codecfake features`)"
            )
        return SSLExtractor(
            name,
            str(model_dir),
            _ssl_layers(name, arrays, source),
            device,
            n_samples=n_samples,
            precision=str(params.get("precision", "fp32")),
            resampler=resampler,
            dtype=str(fields.get("dtype", "float16")),
        )
    raise UnknownExtractor(
        f"{source}: extractor {name!r} is not known; expected one of {', '.join(EXTRACTORS)}"
    )


def extractor_from_spec(
    spec: Any,
    *,
    arrays: Sequence[str],
    model_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
    source: str = "the recorded spec",
) -> Extractor:
    """The extractor that made the features ``spec`` records, computing ``arrays`` (e.g. ``["mel"]``,
    ``["L00", "L05"]``); ``model_dir``: the local checkpoint folder of SSL features. ``source`` names the spec's
    owner in errors ("run runs/x", a feature set's location). Refuses an extractor whose spec differs."""
    from codecfake.device import resolve_device

    fields = recorded_fields(spec)
    ext = _build(fields, arrays, model_dir, resolve_device(device), source)
    rebuilt = extractor_spec(ext)
    diff = {k: (fields[k], rebuilt[k]) for k in fields if fields[k] != rebuilt[k]}
    if diff:
        fix = (
            "point --model-dir at the checkpoint the features were extracted with"
            if ext.name != "mel"
            else "the spec records a mel setting this version cannot rebuild; re-extract the features"
        )
        raise ExtractorMismatch(
            f"{source}: the rebuilt {ext.name} extractor differs from the one recorded (recorded, rebuilt: {diff}); "
            f"{fix}"
        )
    missing = [a for a in arrays if a not in ext.arrays()]
    if missing:
        raise ExtractorMismatch(
            f"{source}: the rebuilt extractor gives arrays {list(ext.arrays())}, not {missing}"
        )
    return ext

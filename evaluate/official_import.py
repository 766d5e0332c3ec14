"""``codecfake import-official``: one of the paper's released back-ends as an ordinary run, ready to evaluate.

The training stage reads the release's weights into our back-end and writes the run (``codecfake.train.official``);
this module decides which features the run records, which may take building an extractor (the paper's mel power, or
the local XLS-R folder): the part that needs the extract stage, which training may not import.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

from codecfake.extract.extractors import build_extractor
from codecfake.train.official import (
    RELEASE_PREPROCESS,
    RELEASE_RESAMPLER,
    OfficialImportError,
    check_backend,
    check_run_folder,
    feature_kind,
    hinted_extractor,
    load_importable,
    write_official_run,
)

log = logging.getLogger(__name__)

XLSR_MODEL_ID = "facebook/wav2vec2-xls-r-300m"  # the SSL model of the release's W2V2 back-ends


def default_extractor(kind: str) -> dict[str, Any]:
    """The features the release made (``kind``: "xlsr" layer 5 or "mel" power without log), from audio resampled
    as its librosa 0.9.1 load does (kaiser_best).

    For XLS-R the local weights' sha256 and the extractor's params are unknown here (""/{}): pin them with
    ``--features-hint KEY`` (a feature set) or ``--features-hint DIR`` (the local XLS-R folder).
    """
    if kind == "mel":
        mel = build_extractor("mel", log=False, resampler=RELEASE_RESAMPLER)
        return {"extractor": "mel", **mel.spec_fields(), **RELEASE_PREPROCESS, "dtype": mel.dtype}  # float32
    return {
        "extractor": "xlsr",
        "model_id": XLSR_MODEL_ID,
        "weights_sha256": "",
        "params": {},
        **RELEASE_PREPROCESS,
    }


def model_dir_extractor(model_dir: str | Path) -> dict[str, Any]:
    """Extractor fields of the local XLS-R folder `model_dir` at layer 5, checked to give (201, 1024) frames."""
    ext = build_extractor("xlsr", model_dir=model_dir, layers=(5,), resampler=RELEASE_RESAMPLER)
    if ext.arrays().get("L05") != (201, 1024):
        raise OfficialImportError(
            f"{model_dir}: layer 5 gives frames {ext.arrays().get('L05')}, the release's W2V2 back-ends take "
            f"(201, 1024) from {XLSR_MODEL_ID}; point --features-hint at that model's local folder"
        )
    return {"extractor": "xlsr", **ext.spec_fields(), **RELEASE_PREPROCESS}


def import_official(
    path: str | Path,
    backend: str,
    name: str,
    *,
    runs: str | Path = "runs",
    features_hint: str | None = None,
    store: str | Path = "features",
    force: bool = False,
) -> Path:
    """Write runs/<name>/ from a release checkpoint: weights (safetensors), config, provenance. Returns the folder.

    ``features_hint``: a feature-set key in ``store`` whose extractor spec the run records, or (W2V2 back-ends) the
    local XLS-R folder; none: :func:`default_extractor`."""
    check_backend(backend)
    run_dir = Path(runs) / name
    check_run_folder(run_dir, force)
    model = load_importable(path, backend)
    frame_shape = cast(
        tuple[int, int], model.frame_shape
    )  # AASIST and LCNN keep the (T, D) they were built for
    kind = feature_kind(frame_shape)  # W2V2-LCNN: XLS-R, like W2V2-AASIST
    if not features_hint:
        extractor = default_extractor(kind)
    elif kind == "xlsr" and Path(features_hint).is_dir():
        extractor = model_dir_extractor(features_hint)
    else:
        extractor = hinted_extractor(kind, store, features_hint, frame_shape)
    return write_official_run(run_dir, path, backend, model, extractor, features_hint, force=force)


def run_import(args: Any) -> int:
    run_dir = import_official(
        args.file,
        args.backend,
        args.name,
        runs=args.runs,
        features_hint=args.features_hint,
        store=args.store,
        force=args.force,
    )
    print(f"imported {args.file} -> {run_dir} (evaluate with `codecfake evaluate --run {run_dir}`)")
    return 0


__all__ = ["XLSR_MODEL_ID", "default_extractor", "import_official", "model_dir_extractor", "run_import"]

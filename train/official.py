"""Import the paper's released back-ends (whole pickled ``torch.nn.Module`` files) as ordinary runs, safely.

The release's ``anti-spoofing_feat_model.pt`` files are read by ``codecfake.train.official_pickle`` (a restricted
unpickler with an allow-list: nothing the pickle names outside ``ALLOWED`` is ever called; its public names are
re-exported here). Parameters and buffers (batch-norm running statistics included) collected from it are then
renamed onto our modules through an explicit table checked complete in both directions, and the result is written
as a run directory. The command ``codecfake import-official`` lives in ``codecfake.evaluate.official_import``: it
also builds the extractor whose features the run records, and training never imports the extract stage.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import torch

from codecfake.common import N_SAMPLES, SAMPLE_RATE_HZ
from codecfake.train.backends import build_backend
from codecfake.train.official_pickle import (
    ALLOWED,
    OfficialImportError,
    UnsafeCheckpoint,
    read_release_checkpoint,
)

__all__ = [  # the reader's names, re-exported, then this module's own
    "ALLOWED", "OfficialImportError", "UnsafeCheckpoint", "read_release_checkpoint",
    "AASIST_NAME_MAP", "LCNN_NAME_MAP", "NAME_MAPS", "our_name", "map_release_state", "frame_shape_for",
    "release_input", "feature_kind", "RELEASE_RESAMPLER",
    "load_official", "file_sha256", "RELEASE_PREPROCESS", "hinted_extractor", "check_backend", "check_run_folder", "load_importable",
    "write_official_run",
]  # fmt: skip

log = logging.getLogger(__name__)

_RELEASE_CLASS = {"aasist": "model.W2VAASIST", "lcnn": "model.LCNN"}


# ---- the name table: release module path -> ours (parameter names below it are kept) ----------------------------------
AASIST_NAME_MAP: tuple[tuple[str, str], ...] = (
    ("LL", "proj"),
    ("first_bn", "stem_bn"),
    ("first_bn1", "encoder_bn"),
    *((f"encoder.{i}.0", f"encoder.{i}") for i in range(6)),
    ("encoder.0.0.conv_downsample", "encoder.0.downsample"),
    ("encoder.2.0.conv_downsample", "encoder.2.downsample"),
    ("attention.0", "attention.conv_in"),
    ("attention.2", "attention.bn"),
    ("attention.3", "attention.conv_out"),
    ("pos_S", "pos_spectral"),
    ("GAT_layer_S", "gat_spectral"),
    ("GAT_layer_T", "gat_temporal"),
    ("pool_S", "pool_spectral"),
    ("pool_T", "pool_temporal"),
    *((f"master{b}", f"branches.{b - 1}.master") for b in (1, 2)),
    *((f"HtrgGAT_layer_ST{b}1", f"branches.{b - 1}.htrg1") for b in (1, 2)),
    *((f"HtrgGAT_layer_ST{b}2", f"branches.{b - 1}.htrg2") for b in (1, 2)),
    *((f"pool_hS{b}", f"branches.{b - 1}.pool_s") for b in (1, 2)),
    *((f"pool_hT{b}", f"branches.{b - 1}.pool_t") for b in (1, 2)),
    ("out_layer", "classifier"),
)
LCNN_NAME_MAP: tuple[tuple[str, str], ...] = (
    *((f"conv{i}.0", f"conv{i}") for i in range(1, 10)),
    ("conv2.2", "bn2"),
    ("conv3.3", "bn3"),
    ("conv4.2", "bn4"),
    ("conv6.2", "bn6"),
    ("conv7.2", "bn7"),
    ("conv8.2", "bn8"),
    ("out.1", "fc1"),
    ("out.3", "fc2"),
    ("fc_mu", "classifier"),
)
NAME_MAPS = {"aasist": AASIST_NAME_MAP, "lcnn": LCNN_NAME_MAP}


def our_name(release_name: str, table: tuple[tuple[str, str], ...]) -> str | None:
    """Our state-dict key for a release key (longest matching module path in `table`), or None."""
    hits = [(a, b) for a, b in table if release_name == a or release_name.startswith(a + ".")]
    if not hits:
        return None
    src, dst = max(hits, key=lambda ab: len(ab[0]))
    return dst + release_name[len(src) :]


def map_release_state(
    release: Mapping[str, torch.Tensor], backend: str, model: torch.nn.Module, *, source: str = "checkpoint"
) -> dict[str, torch.Tensor]:
    """Rename a release state dict onto `model`'s keys; every key on both sides must pair up with equal shapes."""
    table = NAME_MAPS[backend]
    own = model.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    unmapped, clashes = [], []
    for key, tensor in release.items():
        ours = our_name(key, table)
        if ours is None or ours not in own:
            unmapped.append(key if ours is None else f"{key} -> {ours}")
        elif ours in mapped:
            clashes.append(ours)
        else:
            mapped[ours] = tensor
    missing = sorted(set(own) - set(mapped))
    shapes = [
        f"{k}: {tuple(mapped[k].shape)} vs {tuple(own[k].shape)}"
        for k in mapped
        if tuple(mapped[k].shape) != tuple(own[k].shape)
    ]
    if unmapped or missing or clashes or shapes:
        raise OfficialImportError(
            f"{source}: does not map onto our {backend} ({model.__class__.__name__}): release keys without a "
            f"place {unmapped[:6]}, our keys left empty {missing[:6]}, duplicates {clashes[:3]}, shape mismatches "
            f"{shapes[:3]}; is it the right --backend, and the input shape the paper's?"
        )
    return {k: v.to(own[k].dtype) for k, v in mapped.items()}


def frame_shape_for(backend: str, release: Mapping[str, torch.Tensor]) -> tuple[int, int]:
    """The input (T, D) the released weights imply: AASIST (201, D from ``LL``), LCNN (505, 80) mel or (201, 1024)."""
    return release_input(backend, release)[0]


def release_input(
    backend: str, release: Mapping[str, torch.Tensor]
) -> tuple[tuple[int, int], dict[str, Any]]:
    """(frame shape (T, D), ``build_backend`` options) of a release checkpoint.

    The release feeds every back-end ``feat.transpose(2, 3)`` of its stored features (``main_train.py:271``,
    ``generate_score.py``): mel stored (80, 505) reaches LCNN time-first as (505, 80); XLS-R stored (201, 1024)
    reaches it frequency-first as (1024, 201). Both images flatten to sizes the fc1 weight tells apart:
    4,960 (Mel-LCNN) and 24,576 (W2V2-LCNN, ``model.py``'s hard-coded ``Linear(24576, 160)``)."""
    if backend == "aasist":
        return (201, int(release["LL.weight"].shape[1])), {}
    flat = int(release["out.1.weight"].shape[1])
    for shape, options in (((505, 80), {}), ((201, 1024), {"freq_major": True})):
        if build_backend("lcnn", shape, **options).flat_dim == flat:
            return shape, options
    raise OfficialImportError(
        f"LCNN checkpoint: flattened size {flat} fits neither (505, 80) mel (4,960) nor "
        "(201, 1024) XLS-R (24,576) input"
    )


def load_official(path: str | Path, backend: str) -> torch.nn.Module:
    """Our back-end with a release checkpoint's weights, in eval mode (CPU)."""
    class_name, release = read_release_checkpoint(path)
    if class_name != _RELEASE_CLASS[backend]:
        raise OfficialImportError(
            f"{path}: holds {class_name}, but --backend {backend} expects "
            f"{_RELEASE_CLASS[backend]}; use --backend "
            f"{next((b for b, c in _RELEASE_CLASS.items() if c == class_name), '?')}"
        )
    shape, options = release_input(backend, release)
    model = build_backend(backend, shape, **options)
    model.load_state_dict(map_release_state(release, backend, model, source=str(path)), strict=True)
    return model.eval()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---- import as a run directory (the command, which also builds extractors, is codecfake.evaluate.official_import) --
RELEASE_PREPROCESS = {  # the preprocessing fields of the features every release back-end takes
    "dtype": "float16",
    "sample_rate_hz": SAMPLE_RATE_HZ,
    "n_samples": N_SAMPLES,
    "pad_rule": "repeat",
    "crop_rule": "first",
}
_ARRAY = {"xlsr": "L05", "mel": "mel"}
RELEASE_RESAMPLER = "kaiser_best"  # librosa 0.9.1's load(sr=16000), which made every release feature


def feature_kind(frame_shape: tuple[int, int]) -> str:
    """The release's features for a back-end input: mel (505, 80), else XLS-R layer 5."""
    return "mel" if tuple(frame_shape) == (505, 80) else "xlsr"


def hinted_extractor(
    kind: str, store_root: str | Path, key: str, frame_shape: tuple[int, int]
) -> dict[str, Any]:
    """Extractor fields copied from feature set `key`, checked to be the kind and shape the release expects."""
    from codecfake.store import FeatureStore

    fs = FeatureStore(store_root).open(key)
    spec = fs.spec.to_dict()
    array = _ARRAY[kind]
    want = kind
    problems = []
    if spec.get("extractor") != want:
        problems.append(f"extractor {spec.get('extractor')!r} (want {want!r})")
    if array not in fs.arrays or tuple(fs.frame_shape(array)) != tuple(frame_shape):
        found = tuple(fs.frame_shape(array)) if array in fs.arrays else f"arrays {fs.arrays}"
        problems.append(f"array {array} {found} (want {frame_shape})")
    if kind == "mel" and (spec.get("params") or {}).get("log"):
        problems.append("log-mel (the release's Mel-LCNN takes mel power without log)")
    if problems:
        wants = "xlsr --layers 5" if kind == "xlsr" else "mel --mel-values power"
        raise OfficialImportError(
            f"feature set {key} in {store_root}: {'; '.join(problems)}; extract the "
            f"features the release expects (`codecfake features` with {wants})"
        )
    return {
        k: spec[k]
        for k in ("extractor", "model_id", "weights_sha256", "params", *RELEASE_PREPROCESS)
        if k in spec
    }


def _infer_training(path: Path) -> tuple[str, str]:
    """(task, opt) from the release's folder/file naming ("cotrain_w2v2aasist_CSAM" -> cotrain, csam)."""
    text = f"{path.parent.name}_{path.stem}".lower()
    task = (
        "cotrain" if "cotrain" in text or "co-train" in text else "vocoder" if "vocoder" in text else "codec"
    )
    opt = next((o for o in ("csam", "asam", "sam") if re.search(rf"(^|[_\-]){o}($|[_\-])", text)), "adam")
    return task, opt


def check_backend(backend: str) -> None:
    if backend not in _RELEASE_CLASS:
        raise OfficialImportError(f"--backend {backend!r}: expected one of {', '.join(_RELEASE_CLASS)}")


def check_run_folder(run_dir: Path, force: bool) -> None:
    """Refuse, before the release is read, a run folder that exists (unless ``force``) or that holds no run; with
    ``force`` the old run is replaced only once the new one is ready (``write_official_run``)."""
    if run_dir.exists() and any(p.name != ".lock" for p in run_dir.iterdir()):
        if not force:
            raise OfficialImportError(
                f"{run_dir} already exists; choose another --name or --force to replace it"
            )
        if not (run_dir / "config.json").is_file():
            raise OfficialImportError(f"{run_dir} exists and is not a run directory; refusing to replace it")


def load_importable(path: str | Path, backend: str) -> torch.nn.Module:
    """:func:`load_official` for ``--backend`` (checked): Mel-LCNN, W2V2-LCNN (frequency-first) or W2V2-AASIST."""
    check_backend(backend)
    return load_official(path, backend)


def write_official_run(
    run_dir: Path,
    path: str | Path,
    backend: str,
    model: torch.nn.Module,
    extractor: Mapping[str, Any],
    features_hint: str | None = None,
    force: bool = False,
) -> Path:
    """Write ``run_dir`` from a loaded release model: weights (safetensors), config (task and optimiser read from
    the release's file name), provenance (``extractor``: the features the run records, and the source file), through
    the run folder's one writer (``write_run``; ``force`` replaces a run there)."""
    from codecfake.train.config import TrainConfig
    from codecfake.train.rundir import make_provenance, write_run

    path = Path(path)
    task, opt = _infer_training(path)
    frame_shape = cast(
        tuple[int, int], model.frame_shape
    )  # AASIST and LCNN keep the (T, D) they were built for
    kind = feature_kind(frame_shape)
    layout: dict[str, Any] = (
        {"lcnn_layout": "freq-first" if model.freq_major else "time-first"} if backend == "lcnn" else {}
    )
    config = TrainConfig(name=run_dir.name, task=task, backend=backend, opt=opt, array=_ARRAY[kind], **layout)
    source = {
        "kind": "official-release",
        "file": str(path.resolve()),
        "sha256": file_sha256(path),
        "release_class": _RELEASE_CLASS[backend],
        "task_opt_inferred_from": "file name",
        "features_hint": features_hint or "",
    }
    prov = make_provenance([], _ARRAY[kind], frame_shape, dict(extractor), source=source)
    write_run(run_dir, model, config, prov, force=force)
    log.info("imported %s (%s, input %s) into %s", path, _RELEASE_CLASS[backend], frame_shape, run_dir)
    return run_dir

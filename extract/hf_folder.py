"""Locate and fingerprint a local Hugging Face checkpoint folder (never a hub download)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codecfake.extract.errors import MissingCheckpoint

# Default hub ids, used only in the help text of MissingCheckpoint (what to download on a connected machine).
HUB_IDS = {"xlsr": "facebook/wav2vec2-xls-r-300m", "wavlm": "microsoft/wavlm-large"}
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_CACHE_DIR = re.compile(r"models--(?P<org>[^/]+?)--(?P<name>[^/]+)/snapshots/(?P<rev>[^/]+)/?$")


@dataclass(frozen=True)
class CheckpointInfo:
    """A resolved local checkpoint: folder, weight files, model id, revision (HF cache snapshots), sha256."""

    folder: Path
    weight_files: tuple[Path, ...]
    model_id: str
    revision: str
    weights_sha256: str
    config: dict[str, Any]
    preprocessor: dict[str, Any] | None


def _fix_hint(kind: str, folder: Path) -> str:
    hub_id = HUB_IDS.get(kind, "facebook/wav2vec2-xls-r-300m")
    return (
        f"on a machine with network access run `huggingface-cli download {hub_id} --local-dir {folder}` "
        f"(or `hf download {hub_id} --local-dir {folder}`), copy the folder here and pass --model-dir {folder} "
        "(MODEL_DIR= for make). A path inside a local HF cache (models--ORG--NAME/snapshots/REV/) works too."
    )


def _weight_files(folder: Path) -> tuple[Path, ...]:
    for name in _WEIGHT_FILES:
        if (folder / name).is_file():
            return (folder / name,)
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = folder / index_name
        if index.is_file():
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            return tuple(folder / s for s in shards)
    return ()


def sha256_of_files(paths: tuple[Path, ...], chunk_bytes: int = 1 << 24) -> str:
    """sha256 of one file, or of the sorted "name:sha256" lines of several (sharded checkpoints)."""
    digests = []
    for path in paths:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(chunk_bytes):
                h.update(block)
        digests.append((path.name, h.hexdigest()))
    if len(digests) == 1:
        return digests[0][1]
    return hashlib.sha256("\n".join(f"{n}:{d}" for n, d in sorted(digests)).encode()).hexdigest()


def resolve_checkpoint(model_dir: str | Path | None, kind: str) -> CheckpointInfo:
    """Check ``model_dir`` holds config.json and weights; raise ``MissingCheckpoint`` naming the folder otherwise."""
    if model_dir is None:
        raise MissingCheckpoint(
            f"the {kind} extractor needs a local checkpoint folder but none was given; "
            + _fix_hint(kind, Path("DIR"))
        )
    folder = Path(model_dir).expanduser().resolve()
    if not folder.is_dir():
        raise MissingCheckpoint(f"checkpoint folder {folder} does not exist; " + _fix_hint(kind, folder))
    if not (folder / "config.json").is_file():
        raise MissingCheckpoint(f"no config.json in checkpoint folder {folder}; " + _fix_hint(kind, folder))
    weights = _weight_files(folder)
    if not weights:
        raise MissingCheckpoint(
            f"no weights ({' or '.join(_WEIGHT_FILES)}) in checkpoint folder {folder}; found "
            f"{sorted(p.name for p in folder.iterdir())}; " + _fix_hint(kind, folder)
        )
    config = json.loads((folder / "config.json").read_text())
    pre_path = folder / "preprocessor_config.json"
    preprocessor = json.loads(pre_path.read_text()) if pre_path.is_file() else None
    model_id, revision = _model_id(folder, config)
    return CheckpointInfo(folder, weights, model_id, revision, sha256_of_files(weights), config, preprocessor)


def _model_id(folder: Path, config: dict[str, Any]) -> tuple[str, str]:
    match = _CACHE_DIR.search(folder.as_posix())
    if match:
        return f"{match['org']}/{match['name']}", match["rev"]
    name = str(config.get("_name_or_path") or "")
    if name and not Path(name).is_absolute() and not name.startswith("."):
        return name, ""
    return folder.name, ""

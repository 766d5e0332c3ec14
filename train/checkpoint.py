"""Checkpoints as a pair ``<stem>.safetensors`` (every tensor) + ``<stem>.json`` (everything else).

Nothing is pickled, so loading a checkpoint never executes code. Tensors are namespaced: ``model.<state key>``,
``optim.<param index>.<state name>``, ``rng.torch``, ``rng.cuda.<i>``, ``rng.numpy``. Both files carry the same random
``checkpoint_id``. Writes go through ``codecfake.atomic`` (temp file, fdatasync, ``os.replace``): the previous
tensors are kept as ``<stem>.prev.safetensors`` (a hard link), then the new tensors replace ``<stem>.safetensors``,
then the JSON is replaced and the folder fsynced, then the previous tensors are dropped. A crash at any point leaves
the JSON with a matching tensor file (the current or the previous one); a pair with no match is refused.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save

from codecfake.atomic import fsync_path, remove_stale_temps, temp_path, write_atomic, write_json_atomic
from codecfake.train.errors import CheckpointError

FORMAT_VERSION = 1


def write_json(path: str | Path, doc: Any) -> None:
    """Write `doc` as indented JSON, atomically."""
    write_json_atomic(path, doc)


def save_checkpoint(stem: str | Path, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
    """Write ``stem.safetensors`` (tensors, moved to CPU and made contiguous) then ``stem.json`` (`state`), each
    through ``codecfake.atomic`` (temp file, fdatasync, rename); the JSON's rename is made durable with its folder."""
    stem = Path(stem)
    ckpt_id = uuid.uuid4().hex
    flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    blob = save(flat, metadata={"checkpoint_id": ckpt_id, "format": str(FORMAT_VERSION)})
    current = stem.with_suffix(".safetensors")
    prev = stem.with_name(f"{stem.name}.prev.safetensors")
    remove_stale_temps(current)  # left by a killed trainer; one trainer per run folder (its lock)
    if current.is_file():  # keep the tensors the current JSON points at until the new JSON is in place
        link = temp_path(prev)
        link.unlink(missing_ok=True)
        os.link(current, link)
        os.replace(link, prev)
    write_atomic(current, blob)
    write_json_atomic(
        stem.with_suffix(".json"), {**state, "checkpoint_id": ckpt_id, "format": FORMAT_VERSION}
    )
    fsync_path(stem.parent)  # both renames survive a power cut
    prev.unlink(missing_ok=True)  # the new pair is complete


def load_checkpoint(
    stem: str | Path, device: str | torch.device = "cpu"
) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a pair written by :func:`save_checkpoint`: ``(tensors, state)``."""
    stem = Path(stem)
    js, st = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
    if not js.is_file() or not st.is_file():
        raise CheckpointError(
            f"checkpoint {stem}: expected {st.name} and {js.name}; found "
            f"{[p.name for p in (js, st) if p.is_file()] or 'neither'}; rerun `codecfake train`"
        )
    prev = stem.with_name(f"{stem.name}.prev.safetensors")
    for attempt in range(
        3
    ):  # a trainer may replace the pair while it is read (evaluate --unfinished): read again
        with open(js) as fh:
            state = json.load(fh)
        for candidate in (st, prev):
            try:
                with safe_open(str(candidate), framework="pt", device=str(device)) as fh:
                    if (fh.metadata() or {}).get("checkpoint_id") == state.get("checkpoint_id"):
                        return {key: fh.get_tensor(key) for key in fh.keys()}, state
            except FileNotFoundError:
                continue
        time.sleep(0.05 * (attempt + 1))
    raise CheckpointError(
        f"checkpoint {stem}: no tensor file matches {js.name} (checkpoint_id "
        f"{state.get('checkpoint_id')}); rerun with --force to start the run again"
    )


# ---- model ----
def model_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``model.<key>`` for every entry of the state dict (parameters and buffers)."""
    return {f"model.{k}": v for k, v in model.state_dict().items()}


def load_model_tensors(model: torch.nn.Module, tensors: dict[str, torch.Tensor], source: str) -> None:
    """Load the ``model.*`` tensors strictly; a missing or extra key or a shape mismatch raises CheckpointError."""
    state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    own = model.state_dict()
    missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    shapes = [k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or extra or shapes:
        raise CheckpointError(
            f"{source}: weights do not fit the model: missing {missing[:5]}, unexpected "
            f"{extra[:5]}, shape mismatch {sorted(shapes)[:5]}; was it written for another "
            "back-end or feature shape?"
        )
    model.load_state_dict(state, strict=True)


# ---- optimiser (torch.optim state dicts: tensors split off, the rest as JSON) ----
def optimizer_parts(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split ``optimizer.state_dict()`` into tensors (``optim.<i>.<name>``) and a JSON document."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    state_json: dict[str, dict[str, Any]] = {}
    for idx, entries in sd["state"].items():
        state_json[str(idx)] = {}
        for name, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{name}"] = value
                state_json[str(idx)][name] = {"tensor": True}
            else:
                state_json[str(idx)][name] = value
    return tensors, {"state": state_json, "param_groups": sd["param_groups"]}


def load_optimizer_parts(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], doc: dict
) -> None:
    """Inverse of :func:`optimizer_parts`."""
    state: dict[int, dict[str, Any]] = {}
    for idx, entries in doc["state"].items():
        state[int(idx)] = {
            name: (tensors[f"optim.{idx}.{name}"] if isinstance(v, dict) and v.get("tensor") else v)
            for name, v in entries.items()
        }
    groups = [{**g, **({"betas": tuple(g["betas"])} if "betas" in g else {})} for g in doc["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


# ---- random number generators ----
def rng_parts() -> tuple[dict[str, torch.Tensor], dict]:
    """The torch (CPU and CUDA), numpy and python generator states."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    tensors["rng.numpy"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
    version, py_state, gauss = random.getstate()
    doc = {
        "numpy": {
            "kind": kind,
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {"version": version, "state": list(py_state), "gauss": gauss},
    }
    return tensors, doc


def restore_rng(tensors: dict[str, torch.Tensor], doc: dict) -> None:
    """Inverse of :func:`rng_parts`."""
    torch.set_rng_state(tensors["rng.torch"].to("cpu", torch.uint8))
    cuda = [
        tensors[k]
        for k in sorted(
            (k for k in tensors if k.startswith("rng.cuda.")), key=lambda k: int(k.rsplit(".", 1)[1])
        )
    ]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.to("cpu", torch.uint8) for s in cuda])
    n = doc["numpy"]
    np.random.set_state(
        (
            n["kind"],
            tensors["rng.numpy"].numpy().astype(np.uint32),
            n["pos"],
            n["has_gauss"],
            n["cached_gaussian"],
        )
    )
    p = doc["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))

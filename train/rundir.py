"""The run directory: what a training run leaves behind, its one writer, and how others read it.

```
runs/<name>/
  .lock                held while a process writes the folder (codecfake.lease: host, pid, start, renewal)
  config.json          the resolved TrainConfig (TrainConfig.to_dict())
  provenance.json      feature_keys, array, frame_shape [T, D], extractor spec fields, backend, package version,
                       git commit, torch version, command line, created time; fused layers: arrays [L00, L03, …]
  metrics.jsonl        one JSON object per epoch (train_loss, dev_loss, dev_eer, lr, clips_per_s, data_wait_share …)
  checkpoints/best.safetensors + best.json   weights with the lowest dev loss (JSON: epoch, metrics)
  checkpoints/last.safetensors + last.json   full training state for resume (optimiser, schedule, RNG, sampler)
  DONE                 written when training finished: {"epochs": N, "best": {"epoch", "dev_loss", "dev_eer"}}
```
``RunWriter`` is the one writer of this folder (training and ``write_run``, which imports a model trained
elsewhere): it holds the folder's lease while it writes, so a second process is refused with the holder's host and
pid, and a holder killed with -9 is taken over. Loading uses safetensors and JSON only; the model class is rebuilt
from ``config.backend`` and ``frame_shape`` by ``build_backend`` (train/backends.py), so no code is ever unpickled.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from codecfake.lease import Holder, Lease, acquire
from codecfake.provenance import environment, git_commit, package_version
from codecfake.train.checkpoint import (
    load_checkpoint,
    load_model_tensors,
    model_tensors,
    save_checkpoint,
    write_json,
)
from codecfake.train.config import RUNTIME_KEYS, TrainConfig, legacy_defaults
from codecfake.train.errors import RunBusy, RunError, TrainError

log = logging.getLogger(__name__)

Builder = Callable[[str, tuple[int, int]], torch.nn.Module]
REQUIRED_PROVENANCE = ("feature_keys", "array", "frame_shape", "extractor")
LOCK_NAME = ".lock"  # the run folder's lease (codecfake.lease)


@dataclass(frozen=True)
class LoadedRun:
    """A trained model ready for scoring, with what it was trained on."""

    run_dir: Path
    model: torch.nn.Module  # eval mode, best weights, on CPU
    config: TrainConfig
    feature_keys: tuple[str, ...]
    array: str  # "L05", "mel", …; fused layers "L00+L03+L05" (train/input_arrays.py)
    frame_shape: tuple[int, int]  # (T, D) of each array (the model takes (B, T, D), fused (B, N, T, D))
    extractor: dict[
        str, Any
    ]  # spec fields shared by the training sets: extractor, model_id, weights_sha256, params…
    provenance: dict[str, Any] = field(default_factory=dict)
    best: dict[str, Any] = field(default_factory=dict)  # best.json minus bookkeeping: epoch, metrics

    @property
    def classes(self) -> tuple[str, ...]:
        """Task trace: the generator classes (logit order, "bonafide" first); () for a binary run."""
        return tuple(str(c) for c in self.provenance.get("classes") or ())


def default_builder(name: str, frame_shape: tuple[int, int], **kw: Any) -> torch.nn.Module:
    """``codecfake.train.backends.build_backend`` (imported lazily: the back-ends are optional for rundir tests)."""
    from codecfake.train.backends import build_backend

    return build_backend(name, tuple(frame_shape), **kw)


def make_provenance(
    feature_keys: Sequence[str],
    array: str,
    frame_shape: Sequence[int],
    extractor: Mapping[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """A provenance document: the required fields, ``codecfake.provenance.environment()`` (package version, git
    commit, library versions, command, UTC time, host), the torch/Python versions under their run-era names."""
    env = environment()
    return {
        "feature_keys": list(feature_keys),
        "array": array,
        "frame_shape": [int(v) for v in frame_shape],
        "extractor": dict(extractor),
        **env,
        "torch_version": torch.__version__,
        "python_version": env["versions"]["python"],
        **extra,
    }


def _check_provenance(prov: Mapping[str, Any], source: str) -> None:
    missing = [k for k in REQUIRED_PROVENANCE if k not in prov]
    if missing:
        raise RunError(
            f"{source}: provenance lacks {missing}; expected keys {list(REQUIRED_PROVENANCE)} "
            "(build it with codecfake.train.rundir.make_provenance)"
        )


def _config_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Keys whose values differ; a key absent on one side (a run saved before the field existed) is its default."""
    d = TrainConfig().to_dict()
    a = legacy_defaults(dict(a))  # a saved run from before a field existed: the value it was trained with
    return sorted(
        k for k in set(a) | set(b) if k not in RUNTIME_KEYS and a.get(k, d.get(k)) != b.get(k, d.get(k))
    )


class RunWriter:
    """The one writer of a run folder: holds its lease (``.lock``) from ``claim`` to ``release``.

    ``claim`` refuses a folder another live process holds (``RunBusy``: host, pid, start); a holder killed with -9
    left a stale lease, taken over and logged. ``prepare`` applies the write mode: a folder without a run is new,
    one holding the same configuration is resumed (or reused when it has ``DONE``), another configuration is refused,
    ``force`` empties it first."""

    def __init__(self, run_dir: Path, lease: Lease):
        self.run_dir, self.lease = run_dir, lease

    @classmethod
    def claim(cls, run_dir: str | Path, *, purpose: str = "train") -> RunWriter:
        run_dir = Path(run_dir)
        got = acquire(run_dir / LOCK_NAME, purpose=purpose)
        if isinstance(got, Holder):
            raise RunBusy(
                f"{run_dir} is in use by {got.describe()} ({got.purpose or 'a run'}); wait for it to finish "
                f"(rerunning then resumes or reuses the run), stop that process, or pick another --name",
                got.to_json(),
            )
        if got.previous is not None:
            log.warning(
                "%s: taking over from %s, which stopped without finishing", run_dir, got.previous.describe()
            )
        return cls(run_dir, got)

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Give the lease back; a folder left empty (a run refused before it wrote anything) is removed."""
        self.lease.release()
        try:
            if not any(self.run_dir.iterdir()):
                self.run_dir.rmdir()
        except OSError:  # gone, or another process has just claimed it: leave it
            pass

    def has_run(self) -> bool:
        return (self.run_dir / "config.json").is_file()

    def is_done(self) -> bool:
        return (self.run_dir / "DONE").is_file()

    def clear(self) -> None:
        """Remove everything in the folder but the lease (``--force``)."""
        log.warning("--force: removing the run in %s", self.run_dir)
        for child in self.run_dir.iterdir():
            if child.name == LOCK_NAME:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()

    def prepare(self, config: TrainConfig, *, force: bool = False) -> str:
        """ "new", "resume" or "done"; a folder holding a run of another configuration is refused (``TrainError``)."""
        if force:
            self.clear()
        if not self.has_run():
            return "new"
        diff = _config_differences(read_json(self.run_dir / "config.json"), config.to_dict())
        if diff:
            raise TrainError(
                f"{self.run_dir} holds a run with a different configuration (differs in {diff}); pick another "
                "--name, or add --force to overwrite it"
            )
        return "done" if self.is_done() else "resume"

    def write_start(self, config: TrainConfig, provenance: Mapping[str, Any]) -> None:
        """``config.json`` and ``provenance.json`` of a new run (``provenance``: see :func:`make_provenance`)."""
        self.lease.check()
        _check_provenance(provenance, str(self.run_dir))
        prov = {"package_version": package_version(), "git_commit": git_commit(), **dict(provenance)}
        write_json(self.run_dir / "config.json", config.to_dict())
        write_json(self.run_dir / "provenance.json", prov)

    def write_done(self, epochs: int, best: Mapping[str, Any]) -> None:
        """``DONE``: the run finished after ``epochs`` epochs; ``best``: epoch, dev_loss, dev_eer of the best one."""
        self.lease.check()
        write_json(self.run_dir / "DONE", {"epochs": int(epochs), "best": dict(best)})


def write_run(
    run_dir: str | Path,
    model: torch.nn.Module,
    config: TrainConfig,
    provenance: Mapping[str, Any],
    *,
    metrics: Mapping[str, Any] | None = None,
    force: bool = False,
) -> Path:
    """Write a finished run (config, provenance, best weights, DONE) e.g. for an imported model; returns the folder.

    `provenance` needs at least ``feature_keys, array, frame_shape, extractor`` (see :func:`make_provenance`);
    package version and git commit are filled in when absent. A folder that holds a run is refused unless ``force``.
    """
    run_dir = Path(run_dir)
    _check_provenance(provenance, str(run_dir))
    with RunWriter.claim(run_dir, purpose="write_run") as writer:
        if writer.has_run() and not force:
            raise RunError(f"{run_dir} already holds a run; pick another folder, or replace it with --force")
        if force:
            writer.clear()
        writer.write_start(config, provenance)
        epoch = int((metrics or {}).get("epoch", 0))
        state = {
            "kind": "best",
            "epoch": epoch,
            "metrics": dict(metrics or {}),
            "frame_shape": [int(v) for v in provenance["frame_shape"]],
            "backend": config.backend,
        }
        save_checkpoint(run_dir / "checkpoints" / "best", model_tensors(model), state)
        best = {
            "epoch": epoch,
            **{k: metrics[k] for k in ("dev_loss", "dev_eer") if metrics and k in metrics},
        }
        writer.write_done(epoch, best)
    return run_dir


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise RunError(f"{path}: missing; is {path.parent} a run directory written by `codecfake train`?")
    with open(path) as fh:
        return json.load(fh)


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The per-epoch rows of ``metrics.jsonl`` ([] when absent)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_run(
    run_dir: str | Path, *, builder: Builder | None = None, device: str | torch.device = "cpu"
) -> LoadedRun:
    """Rebuild a run's model with its best weights (eval mode). Reads safetensors + JSON only; never unpickles."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(
            f"run directory {run_dir} does not exist; train one with `make train` / `codecfake train`"
        )
    config = TrainConfig.from_dict(read_json(run_dir / "config.json"), source=str(run_dir / "config.json"))
    prov = read_json(run_dir / "provenance.json")
    _check_provenance(prov, str(run_dir / "provenance.json"))
    frame_shape = (int(prov["frame_shape"][0]), int(prov["frame_shape"][1]))
    stem = run_dir / "checkpoints" / "best"
    if not stem.with_suffix(".json").is_file():
        raise RunError(
            f"{run_dir}: no best checkpoint yet (checkpoints/best.json); finish training with "
            f"`codecfake train --name {run_dir.name} --runs {run_dir.parent}`"
        )
    tensors, state = load_checkpoint(stem, device="cpu")
    from codecfake.train.fusion import wrap_for_input  # fused layers: FusedBackend around the back-end

    classes = [
        str(c) for c in prov.get("classes") or []
    ]  # task trace: the generator classes, bona fide first
    kw = {"n_classes": len(classes)} if classes else {}
    model = (builder or default_builder)(config.backend, frame_shape, **kw, **config.backend_options)
    model = wrap_for_input(model, str(prov["array"]))
    load_model_tensors(model, tensors, str(stem.with_suffix(".safetensors")))
    model.to(device).eval()
    best = {k: v for k, v in state.items() if k not in ("checkpoint_id", "format")}
    return LoadedRun(
        run_dir=run_dir,
        model=model,
        config=config,
        feature_keys=tuple(prov["feature_keys"]),
        array=str(prov["array"]),
        frame_shape=frame_shape,
        extractor=dict(prov["extractor"]),
        provenance=prov,
        best=best,
    )

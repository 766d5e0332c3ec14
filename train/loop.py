"""``train(config, store, runs)``: feature sets -> back-end -> run directory, resumable after a crash.

Everything is checked before work starts (back-end, data, input shape, the run folder: free, same configuration),
then ``Trainer`` (train/trainer.py) trains for ``config.epochs`` epochs into the folder that ``RunWriter``
(train/rundir.py) holds, with the clips in RAM or streamed as ``data_mode`` says (train/data_mode.py). Rerunning the
same command resumes from ``last`` (mid-epoch too with ``save_every_steps``); on CPU with a fixed seed the result
equals an uninterrupted run's.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codecfake.device import resolve_device
from codecfake.progress import Progress
from codecfake.store import FeatureStore
from codecfake.train.config import ConfigError, TrainConfig, default_run_name, resolve_lcnn_layout
from codecfake.train.data import TASK_DOMAINS, TrainingData, load_training_data
from codecfake.train.data_mode import load_for_mode
from codecfake.train.errors import TrainError
from codecfake.train.fusion import wrap_for_input
from codecfake.train.input_arrays import array_names, input_shape
from codecfake.train.rundir import Builder, RunWriter, default_builder, make_provenance
from codecfake.train.trainer import Trainer

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def deterministic_cudnn(device: torch.device) -> None:
    """On CUDA, what the release's ``setup_seed`` sets: cuDNN's deterministic algorithms, no autotuning (whose
    choice of kernels varies from run to run). Nothing on CPU."""
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def build_model(
    config: TrainConfig, frame_shape: tuple[int, int], builder: Builder | None, n_classes: int = 0
) -> torch.nn.Module:
    """Build the back-end and run two zero clips through it, so a shape it cannot take fails now.

    ``n_classes``: the trace task's K (the builder gets ``n_classes=K``); 0 = the binary head.
    A fused input (``config.array`` "L00+L05") wraps the back-end in ``FusedBackend`` (train/fusion.py); its weights
    start at 0 and draw no random numbers, so the back-end's initial weights equal a plain run's."""
    kw = {"n_classes": n_classes, **config.backend_options} if n_classes else dict(config.backend_options)
    model = wrap_for_input((builder or default_builder)(config.backend, frame_shape, **kw), config.array)
    model.eval()
    try:
        with torch.no_grad():
            _, logits = model(torch.zeros(2, *input_shape(config.array, frame_shape)))
    except (RuntimeError, ValueError) as err:
        raise TrainError(
            f"back-end {config.backend!r} cannot take input (B, {frame_shape[0]}, {frame_shape[1]}): "
            f"{err}; use a feature set whose frames fit (mel (505, 80), XLS-R (201, 1024))"
        ) from None
    if tuple(logits.shape) != (2, n_classes or 2):
        raise TrainError(
            f"back-end {config.backend!r} returned logits {tuple(logits.shape)}, expected "
            f"(B, {n_classes or 2})"
        )
    return model


def check_domain_ratio(config: TrainConfig) -> None:
    """Refuse, before any data is read, a ``domain_ratio`` whose length cannot fit the task's domains (sets found
    by task; explicit ``features`` are checked against their own domains once opened, by the Trainer)."""
    if not config.domain_ratio or config.features:
        return
    domains = TASK_DOMAINS[config.task]  # sorted names: the order the shares are given in
    n, ratio = len(domains), list(config.domain_ratio)
    if len(ratio) == n or (len(ratio) == 1 and n == 2 and 0.0 < ratio[0] < 1.0):
        return
    raise ConfigError(
        f"--domain-ratio {','.join(map(str, ratio))}: task {config.task} trains on {n} domain(s) "
        f"{', '.join(domains)}; give {n} shares in that order"
        + (" or one share in (0, 1) for the first" if n == 2 else "")
    )


def train(
    config: TrainConfig,
    store: str | Path | FeatureStore,
    runs: str | Path,
    *,
    builder: Builder | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Train (or resume, or reuse a finished) run of ``config`` as it is; returns ``runs/<name>``. All checks happen
    before training."""
    check_domain_ratio(config)
    if config.threads:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    deterministic_cudnn(device)
    fstore = store if isinstance(store, FeatureStore) else FeatureStore(store)
    data = load_training_data(fstore, config)
    config, model = prepare_run(config, data, builder)
    run_dir = Path(runs) / config.name
    with RunWriter.claim(run_dir) as writer:
        trainer = open_trainer(config, data, model, device, writer, force=force)
        if trainer is None:
            return run_dir
        load_for_mode(config, data)
        trainer.run(progress, lease=writer.lease)
        writer.write_done(config.epochs, trainer.state.best)
    return run_dir


def prepare_run(
    config: TrainConfig, data: TrainingData, builder: Builder | None = None
) -> tuple[TrainConfig, torch.nn.Module]:
    """The run's full configuration (array, layout, feature keys, name) and its model, built right after seeding
    (the same initial weights on every rerun): what ``train`` does before it touches the run folder."""
    if config.augment or config.feataug:
        from codecfake.train.variants import label_notes

        config = config.replace(augment_labels=label_notes(config, data))
    seed_everything(config.seed)
    config = config.replace(array=data.array)  # the array found (fused: as asked) decides the model's input
    config = resolve_lcnn_layout(config, data.extractor.get("extractor", ""))  # recorded in config.json
    model = build_model(config, data.frame_shape, builder, len(data.classes))  # seeded: same weights on rerun
    config = config.replace(
        features=tuple(fs.key for fs in data.sets),
        name=config.name or default_run_name(config, data.extractor.get("extractor", "")),
    )
    return config, model


def open_trainer(
    config: TrainConfig,
    data: TrainingData,
    model: torch.nn.Module,
    device: torch.device,
    writer: RunWriter,
    *,
    force: bool = False,
) -> Trainer | None:
    """The Trainer of the run in ``writer``'s folder: resumed from its last checkpoint, or new (config and
    provenance written); None when the run already finished (it is reused)."""
    status = writer.prepare(config, force=force)
    if status == "done":
        log.info("%s already finished; reusing it (add --force to train again)", writer.run_dir)
        return None
    trainer = Trainer(config, data, model, writer.run_dir, device)
    if not (status == "resume" and trainer.load_last()):
        writer.write_start(config, run_provenance(config, data))
    return trainer


def run_provenance(config: TrainConfig, data: TrainingData) -> dict[str, Any]:
    """What a new run records in provenance.json about the data it trains on."""
    arrays = array_names(data.array)
    return make_provenance(
        config.features,
        data.array,
        data.frame_shape,
        data.extractor,
        backend=config.backend,
        domains=data.domains,
        n_train=len(data.train),
        n_dev=len(data.dev),
        corpora=[fs.spec.corpus for fs in data.sets],
        **(
            {"classes": list(data.classes), "class_weights": list(data.class_weights)} if data.classes else {}
        ),
        **({"arrays": list(arrays)} if len(arrays) > 1 else {}),
        **(
            {"augment": {**data.variants.describe(), "variant_sets": [fs.key for fs in data.variants.sets]}}
            if data.variants is not None
            else {}
        ),
        **({"hold_out": list(config.hold_out)} if config.hold_out else {}),
    )

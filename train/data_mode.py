"""Where a run's clips live while it trains: loaded into RAM once, or streamed from the store batch by batch.

``data_mode`` memory loads them, stream never does, auto (the default) loads them when the train + dev clips fit in
``memory_limit_mb`` as stored. Either way the batches are the same (the sampler never looks at the mode), so a run
may resume in the other mode.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from codecfake.train.config import TrainConfig
from codecfake.train.data import TrainingData, load_into_memory

log = logging.getLogger(__name__)


def data_megabytes(data: TrainingData) -> float:
    """Size of the train + dev clips (and stored augmented variants) in the sets' dtype (2 bytes a value for float16,
    4 for float32 power mels); N fused layers count N times."""
    itemsize = np.dtype(data.sets[0].dtype).itemsize
    n_variants = data.variants.n_variant_clips if data.variants is not None else 0
    return (len(data.train) + len(data.dev) + n_variants) * itemsize * math.prod(data.input_shape) / 2**20


def uses_memory(config: TrainConfig, data: TrainingData) -> bool:
    """True when the run loads its clips into RAM (``data_mode`` memory, or auto below ``memory_limit_mb``)."""
    return config.data_mode == "memory" or (
        config.data_mode == "auto" and data_megabytes(data) <= config.memory_limit_mb
    )


def load_for_mode(config: TrainConfig, data: TrainingData) -> None:
    """Load the train and dev clips into RAM when ``uses_memory``; otherwise leave them to be streamed."""
    if not uses_memory(config, data):
        return
    t0 = time.perf_counter()
    load_into_memory(data, data.train)
    load_into_memory(data, data.dev)
    if data.variants is not None:  # --augment: the stored variants of the train clips too
        from codecfake.train.variants import load_variants_into_memory

        load_variants_into_memory(data)
    log.info(
        "loaded %d + %d clips (%.0f MB) into memory in %.1f s",
        len(data.train),
        len(data.dev),
        data_megabytes(data),
        time.perf_counter() - t0,
    )

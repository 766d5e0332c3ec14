"""Which batches a run draws: the sampler for a configuration and its training clips (train/sampler.py).

csam/csam-pd: exact per-domain counts, the release's epoch length by default; csam with ``csam_draw = "release"``: the
release's own CSAMSampler draw. adam/sam/asam: uniform batches whether
the clips are held in memory or streamed from disk, so the data mode never changes the batches (a resume in another
mode sees the same ones); block-shuffled batches only with ``shuffle = "block"``, with a logged warning that names the
domain mix they produce.
"""

from __future__ import annotations

import logging

import numpy as np

from codecfake.train.config import TrainConfig
from codecfake.train.data import Split, TrainingData
from codecfake.train.sampler import (
    BlockBatches,
    RandomBatches,
    ReleaseCSAMBatches,
    StratifiedBatches,
    domain_mix,
    uniform_missing_share,
)

log = logging.getLogger(__name__)


def make_sampler(
    c: TrainConfig, data: TrainingData
) -> RandomBatches | StratifiedBatches | ReleaseCSAMBatches:
    """The run's sampler (module docstring)."""
    if c.csam_draw == "release":
        return ReleaseCSAMBatches(data.train.domains, c.batch, c.seed, list(c.domain_ratio) or None)
    if c.needs_domains:
        min_count = (
            2 if c.opt == "csam-pd" else 1
        )  # csam-pd: each domain's sub-batch is normalised on its own
        return StratifiedBatches(
            data.train.domains,
            c.batch,
            c.seed,
            list(c.domain_ratio) or None,
            min_count,
            epoch_mode=c.csam_epoch,
        )
    if c.shuffle == "uniform":
        return RandomBatches(len(data.train), c.batch, c.seed)
    sampler = BlockBatches(shard_ids(data, data.train), c.batch, c.seed, c.shuffle_window_shards)
    missing = domain_mix(sampler.epoch(0), data.train.domains, len(data.domains))
    uniform = uniform_missing_share(
        np.bincount(data.train.domains, minlength=len(data.domains)).tolist(), c.batch
    )
    mix = ", ".join(
        f"{100 * m:.1f} % of batches hold no {name} clip (uniform: {100 * u:.1f} %)"
        for name, m, u in zip(data.domains, missing, uniform, strict=True)
    )
    log.warning(
        "--shuffle block: batches come from windows of %d shards, not uniformly from all %d training clips: "
        "%s (epoch 1's plan); --shuffle uniform draws the release's batches",
        c.shuffle_window_shards,
        len(data.train),
        mix,
    )
    return sampler


def shard_ids(data: TrainingData, split: Split) -> np.ndarray:
    """(n,) one id per shard file of each position: set index and shard index within that set."""
    sizes = np.array([fs.shard_size for fs in data.sets], dtype=np.int64)
    shard = split.local // sizes[split.set_index]
    return split.set_index * (int(shard.max(initial=0)) + 1) + shard

"""Audio for extraction: a Dataset over manifest rows that decodes in DataLoader workers and never raises on bad audio.

A clip whose audio fails (missing, empty, corrupt, non-finite) comes back as zeros with its reason, so that it is
recorded as a reject in the feature set instead of stopping a million-clip run. Batches never straddle shards, so the
batch composition — and therefore every float — is the same in a fresh run, a resumed run and on dask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from codecfake.alloc import worker_init
from codecfake.common import N_SAMPLES, SAMPLE_RATE_HZ
from codecfake.corpus import AudioError, load_clip
from codecfake.corpus.resample import DEFAULT_RESAMPLER


@dataclass(frozen=True)
class ShardJob:
    """One shard of a feature set: clips ``start:stop`` with their absolute audio paths."""

    shard_index: int
    start: int
    stop: int
    paths: tuple[str, ...]
    array_names: tuple[str, ...]  # arrays this shard still lacks
    # augmented variants (codecfake.augment.variant.Variant): (wave, utt_id) -> (wave, reject reason), and the ids
    transform: Callable[[np.ndarray, str], tuple[np.ndarray, str]] | None = None
    utt_ids: tuple[str, ...] = ()

    @property
    def n_clips(self) -> int:
        return self.stop - self.start

    def wave(
        self, k: int, n_samples: int, sample_rate_hz: int = SAMPLE_RATE_HZ, resampler: str = DEFAULT_RESAMPLER
    ) -> tuple[np.ndarray, str]:
        """Clip k of this shard as the set stores it: decoded, fixed length, then the variant's transform if any."""
        wave, reason = load_wave(self.paths[k], n_samples, sample_rate_hz, resampler)
        if self.transform is not None and not reason:
            wave, reason = self.transform(wave, self.utt_ids[k])
        return wave, reason


def resampler_of(extractor: object) -> str:
    """The resampler an extractor's clips are loaded with (an extractor without one: the library default)."""
    return str(getattr(extractor, "resampler", DEFAULT_RESAMPLER))


def load_wave(
    path: str, n_samples: int, sample_rate_hz: int = SAMPLE_RATE_HZ, resampler: str = DEFAULT_RESAMPLER
) -> tuple[np.ndarray, str]:
    """``(n_samples,)`` float32 clip at ``sample_rate_hz`` and "" — or zeros and the reason the audio was rejected."""
    try:
        return load_clip(path, sample_rate_hz, n_samples, resampler), ""
    except AudioError as err:
        return np.zeros(n_samples, dtype=np.float32), f"{type(err).__name__}: {err.problem}"


class ClipDataset(Dataset):
    """Item i -> (i, wave (n_samples,) float32, reject reason or ""); ``items`` are (shard job, clip in it)."""

    def __init__(
        self,
        items: Sequence[tuple[ShardJob, int]],
        n_samples: int = N_SAMPLES,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
        resampler: str = DEFAULT_RESAMPLER,
    ):
        self.items = list(items)
        self.n_samples = n_samples
        self.sample_rate_hz = sample_rate_hz
        self.resampler = resampler

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[int, np.ndarray, str]:
        job, k = self.items[i]
        wave, reason = job.wave(k, self.n_samples, self.sample_rate_hz, self.resampler)
        return i, wave, reason


def collate(items: list[tuple[int, np.ndarray, str]]) -> tuple[list[int], torch.Tensor, list[str]]:
    """-> (indices, waves (B, n_samples) float32, reasons)."""
    return (
        [i for i, _, _ in items],
        torch.from_numpy(np.stack([w for _, w, _ in items])),
        [r for _, _, r in items],
    )


def shard_batches(jobs: Sequence[ShardJob], batch: int, offset_of: dict[int, int]) -> list[list[int]]:
    """Dataset indices in batches of ``batch`` that restart at every shard boundary."""
    out = []
    for job in jobs:
        base = offset_of[job.shard_index]
        for lo in range(0, job.n_clips, batch):
            out.append(list(range(base + lo, base + min(lo + batch, job.n_clips))))
    return out


class ClaimedBatches:
    """Batch sampler over ``jobs`` in order that asks ``claim(job)`` when it reaches a job (the loader runs a few
    batches ahead, so a shard is claimed just before its audio is decoded) and skips the jobs it refuses."""

    def __init__(
        self,
        jobs: Sequence[ShardJob],
        batch: int,
        offset_of: dict[int, int],
        claim: Callable[[ShardJob], bool],
    ):
        self.jobs, self.batch, self.offset_of, self.claim = list(jobs), batch, offset_of, claim

    def __iter__(self) -> Iterator[list[int]]:
        for job in self.jobs:
            if self.claim(job):
                yield from shard_batches([job], self.batch, self.offset_of)


def job_offsets(jobs: Sequence[ShardJob]) -> dict[int, int]:
    """Position of each job's first clip in the loader's dataset (its jobs' clips back to back, in order)."""
    offsets, n = {}, 0
    for job in jobs:
        offsets[job.shard_index] = n
        n += job.n_clips
    return offsets


def make_loader(
    jobs: Sequence[ShardJob],
    batch: int,
    num_workers: int,
    n_samples: int,
    pin_memory: bool = False,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    resampler: str = DEFAULT_RESAMPLER,
    claim: Callable[[ShardJob], bool] | None = None,
) -> DataLoader:
    """A DataLoader over the clips of ``jobs`` in order; decoding/resampling/padding run in ``num_workers`` workers.

    Items are ``(positions, waves, reasons)``; ``job_offsets(jobs)`` maps positions back to jobs. ``claim``: called
    for each job as the loader reaches it; a job it refuses is skipped (``ClaimedBatches``). ``pin_memory``: batches
    come back in page-locked memory, so the copy to a CUDA device can be non-blocking."""
    items = [(job, k) for job in jobs for k in range(job.n_clips)]
    offset_of = job_offsets(jobs)
    sampler = (
        shard_batches(jobs, batch, offset_of)
        if claim is None
        else ClaimedBatches(jobs, batch, offset_of, claim)
    )
    return DataLoader(
        ClipDataset(items, n_samples, sample_rate_hz, resampler),
        batch_sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate,
        worker_init_fn=worker_init,  # workers keep freed buffers too (codecfake/alloc.py)
        prefetch_factor=4 if num_workers else None,
        persistent_workers=False,
        pin_memory=pin_memory,
    )

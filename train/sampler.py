"""Batch samplers over training positions ``0..N-1``; every epoch's batches are a pure function of (seed, epoch),
so a sampler's state is just ``(epoch, batch index)`` and a resumed run sees exactly the batches it would have. ``describe()`` is what a checkpoint records so
that a resume drawing different batches is refused (train/trainer.py).

- :class:`RandomBatches` (adam, sam, asam): a fresh permutation per epoch, cut into batches of ``batch``; a last
  batch of one clip is dropped (batch norm cannot train on it).
- :class:`BlockBatches` (adam, sam, asam, only with ``shuffle = "block"``): shuffle the shards, then the clips inside
  each window of ``window`` consecutive shuffled shards, then cut into batches, so one window's reads stay within a few
  shard files. Its batches are *not* uniform: a small domain (19LA among Codecfake shards) is missing from most of
  them; :func:`domain_mix` measures that from the plan and the trainer logs it.
- :class:`StratifiedBatches` (csam, csam-pd): **every** batch holds exactly ``counts[d]`` clips of domain d, the same
  counts in every batch (largest-remainder rounding of ``ratio * batch``, at least one clip for a domain with a
  positive share). Each domain is drawn from its own shuffled stream, re-shuffled when exhausted. Two epoch lengths:
  ``epoch_mode="release"`` (default): the release's ``len(DataLoader)`` over ``CSAMSampler``, K domains x
  ceil(largest domain / batch) steps (11,576 at Codecfake scale), drawn from *one* endless stream per domain that
  carries over from epoch to epoch (the release keeps one iterator and recreates it when exhausted, so an epoch is
  about two passes); ``epoch_mode="pass"``: the smallest number of batches in which every clip of every domain
  appears at least once, with fresh streams per epoch.

- :class:`ReleaseCSAMBatches` (csam with ``csam_draw="release"``): the official ``CSAMSampler`` draw itself.

The official ``CSAMSampler`` emits groups of ``int(r_c*128)`` + ``int(r_v*128)`` = 127 indices that the DataLoader
then cuts into batches of 128, so batches are misaligned with the groups and their counts drift: at Codecfake scale
a batch holds 4 or 5 19LA clips (5 in 180 of the 5,743 batches of a pass), and a pass ends on a batch of 100. Each
pass (each time the DataLoader's iterator is re-created) builds new ``RandomSampler`` s per domain; a pass takes
5,788 x 123 codec and 5,788 x 4 19LA indices, fewer than either domain holds, so neither sampler is ever exhausted and
every pass skips a fresh random ~28,800 codec and ~2,200 19LA clips. ``StratifiedBatches`` keeps the counts exact in
every batch and carries each domain's stream across epochs (every clip once before any clip twice); only the epoch
length is the release's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class RandomBatches:
    """Shuffled batches of positions ``0..n-1``."""

    def __init__(self, n: int, batch: int, seed: int):
        if n < 2:
            raise ValueError(f"RandomBatches: need at least 2 training clips, found {n}")
        self.n, self.batch, self.seed = int(n), int(batch), int(seed)

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch)
        return full + (1 if rest >= 2 else 0)

    def epoch(self, epoch: int) -> list[np.ndarray]:
        """The batches of `epoch` (int64 position arrays, in order)."""
        perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        return [perm[i : i + self.batch] for i in range(0, len(self) * self.batch, self.batch)][: len(self)]

    def describe(self) -> dict:
        """Everything the batches depend on besides (epoch, step): a resume must find the same."""
        return {
            "kind": type(self).__name__,
            "seed": self.seed,
            "batch": self.batch,
            "n": self.n,
            "steps_per_epoch": len(self),
        }


class BlockBatches(RandomBatches):
    """Block-shuffled batches: `shards` is the shard id of each position (any ints; equal = same shard file)."""

    def __init__(self, shards: np.ndarray, batch: int, seed: int, window: int = 16):
        super().__init__(len(shards), batch, seed)
        if window < 1:
            raise ValueError(f"BlockBatches: window must be >= 1 shard, found {window}")
        self.window = int(window)
        ids, self.shard_of = np.unique(np.asarray(shards), return_inverse=True)
        self.members = [np.flatnonzero(self.shard_of == k) for k in range(len(ids))]

    def epoch(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.members))
        parts = [
            rng.permutation(np.concatenate([self.members[k] for k in order[w : w + self.window]]))
            for w in range(0, len(order), self.window)
        ]
        flat = np.concatenate(parts)
        return [flat[i : i + self.batch] for i in range(0, len(self) * self.batch, self.batch)][: len(self)]

    def describe(self) -> dict:
        return {**super().describe(), "window": self.window, "n_shards": len(self.members)}


def domain_mix(batches: Sequence[np.ndarray], domains: np.ndarray, n_domains: int) -> list[float]:
    """Per domain: the share of `batches` holding none of its clips (uniform batches: the hypergeometric P(0))."""
    counts = np.stack([np.bincount(domains[b], minlength=n_domains) for b in batches])  # (n_batches, K)
    return [float(x) for x in (counts == 0).mean(axis=0)]


def uniform_missing_share(sizes: Sequence[int], batch: int) -> list[float]:
    """Per domain: P(a uniform batch of `batch` from sum(sizes) clips holds none of it) = C(N-n, B) / C(N, B)."""
    total = int(sum(sizes))
    out = []
    for n in sizes:
        if total - n < batch:
            out.append(0.0)
            continue
        k = np.arange(batch)
        out.append(float(np.exp(np.sum(np.log(total - n - k) - np.log(total - k)))))
    return out


def domain_counts(
    sizes: Sequence[int], batch: int, ratio: Sequence[float] | None = None, min_count: int = 1
) -> list[int]:
    """Clips per batch for each domain: ``ratio`` (default: proportional to `sizes`) times `batch`, rounded by
    largest remainder so they sum to `batch`; a domain with a positive share gets at least `min_count` clips."""
    sizes = [int(s) for s in sizes]
    shares = np.asarray(ratio if ratio else sizes, dtype=np.float64)
    if len(shares) != len(sizes):
        raise ValueError(f"domain ratio has {len(shares)} values for {len(sizes)} domains")
    shares = np.where(np.asarray(sizes) > 0, shares, 0.0)
    if shares.sum() <= 0:
        raise ValueError("domain ratio: no domain with clips has a positive share")
    quota = shares / shares.sum() * batch
    counts = np.floor(quota).astype(int)
    order = sorted(range(len(sizes)), key=lambda d: (-(quota[d] - counts[d]), d))
    for d in order[: batch - counts.sum()]:
        counts[d] += 1
    for d in range(len(sizes)):  # every positive-share domain in every batch
        while shares[d] > 0 and counts[d] < min_count:
            donor = int(np.argmax(counts))
            if counts[donor] <= min_count:
                raise ValueError(f"batch {batch} cannot give each of {len(sizes)} domains {min_count} clips")
            counts[donor] -= 1
            counts[d] += 1
    return [int(c) for c in counts]


EPOCH_MODES = ("release", "pass")


class StratifiedBatches:
    """Batches with exact per-domain counts; `domains` is the domain id (0..K-1) of each position.

    `ratio`: one share per domain (normalised), or with two domains a single value in (0, 1), the first domain's share
    (domains are numbered in sorted name order, so with codec + vocoder it is codec's share). `min_count`: at least
    this many clips per domain and batch (csam-pd uses 2: each domain's sub-batch goes through batch norm alone).
    `epoch_mode`: "release" (the release's epoch length, streams carried across epochs) or "pass" (module docstring)."""

    def __init__(
        self,
        domains: np.ndarray,
        batch: int,
        seed: int,
        ratio: Sequence[float] | None = None,
        min_count: int = 1,
        epoch_mode: str = "release",
    ):
        if epoch_mode not in EPOCH_MODES:
            raise ValueError(
                f"StratifiedBatches: epoch_mode must be one of {EPOCH_MODES}, found {epoch_mode!r}"
            )
        domains = np.asarray(domains, dtype=np.int64)
        self.n_domains = int(domains.max()) + 1 if domains.size else 0
        self.pools = [np.flatnonzero(domains == d) for d in range(self.n_domains)]
        if ratio and len(ratio) == 1 and self.n_domains == 2 and 0.0 < ratio[0] < 1.0:
            ratio = [
                ratio[0],
                1.0 - ratio[0],
            ]  # one value with two domains: the first (sorted name) domain's share
        if ratio and len(ratio) != self.n_domains:
            raise ValueError(
                f"domain_ratio has {len(ratio)} values but the training sets hold {self.n_domains} "
                "domains (in sorted name order)"
            )
        self.counts = domain_counts([len(p) for p in self.pools], batch, ratio, min_count)
        self.batch, self.seed, self.epoch_mode = int(batch), int(seed), epoch_mode

    def pass_length(self) -> int:
        """The fewest batches in which every clip of every domain appears at least once."""
        return max(math.ceil(len(p) / c) for p, c in zip(self.pools, self.counts) if c > 0 and len(p))

    def __len__(self) -> int:
        if self.epoch_mode == "pass":
            return self.pass_length()
        # the release: len(DataLoader) = ceil(batch * ceil(largest / batch) * K / batch) = K * ceil(largest / batch)
        sizes = [len(p) for p in self.pools if len(p)]
        return len(sizes) * math.ceil(max(sizes) / self.batch)

    def _stream(self, epoch: int, d: int, n: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, epoch, d])
        pool = self.pools[d]
        reps = math.ceil(n / len(pool)) if n else 0
        return np.concatenate([pool[rng.permutation(len(pool))] for _ in range(reps)] or [pool[:0]])[:n]

    def _carried(self, d: int, start: int, n: int) -> np.ndarray:
        """Items start..start+n-1 of domain d's endless stream: permutation k of its pool covers k*len..(k+1)*len-1."""
        pool = self.pools[d]
        if n == 0:
            return pool[:0]
        first, last = start // len(pool), (start + n - 1) // len(pool)
        perms = [
            pool[np.random.default_rng([self.seed, 0xC5A, d, k]).permutation(len(pool))]
            for k in range(first, last + 1)
        ]
        flat = np.concatenate(perms)
        lo = start - first * len(pool)
        return flat[lo : lo + n]

    def epoch(self, epoch: int) -> list[np.ndarray]:
        """The batches of `epoch`: each is domain 0's clips, then domain 1's, … (int64 positions)."""
        steps = len(self)
        if self.epoch_mode == "pass":
            streams = [self._stream(epoch, d, c * steps).reshape(steps, c) for d, c in enumerate(self.counts)]
        else:  # global batch g = epoch * steps + i takes items g*c .. g*c+c-1 of each domain's endless stream
            streams = [
                self._carried(d, epoch * steps * c, c * steps).reshape(steps, c)
                for d, c in enumerate(self.counts)
            ]
        return [np.concatenate([s[i] for s in streams]) for i in range(steps)]

    def describe(self) -> dict:
        return {
            "kind": type(self).__name__,
            "seed": self.seed,
            "batch": self.batch,
            "epoch_mode": self.epoch_mode,
            "counts": list(self.counts),
            "pool_sizes": [len(p) for p in self.pools],
            "steps_per_epoch": len(self),
        }


class ReleaseCSAMBatches:
    """The release's CSAM draw (``CSAM.py`` ``CSAMSampler`` under a DataLoader of ``batch``), reproducible per seed.

    A *pass* is what one iterator over the release's DataLoader yields: ``ceil(largest domain / batch)`` groups, each
    ``int(share_d * batch)`` clips of every domain d in domain order (a new random permutation per domain and pass,
    re-drawn only if a pass needs more clips than the domain holds), the flat list cut into batches of ``batch`` (the
    last one short). An epoch is the release's ``len(DataLoader)`` = K x ceil(largest / batch) steps taken from one
    iterator that restarts at a new pass when it runs out, so global step g is batch ``g % pass_batches`` of pass
    ``g // pass_batches``. `ratio`: the shares (default: domain sizes, as the release's ``train_*_weight``)."""

    def __init__(self, domains: np.ndarray, batch: int, seed: int, ratio: Sequence[float] | None = None):
        domains = np.asarray(domains, dtype=np.int64)
        n_domains = int(domains.max()) + 1 if domains.size else 0
        self.pools = [np.flatnonzero(domains == d) for d in range(n_domains)]
        sizes = np.array([len(p) for p in self.pools], dtype=np.float64)
        shares = np.asarray(ratio, dtype=np.float64) if ratio else sizes
        if len(shares) == 1 and n_domains == 2 and 0.0 < shares[0] < 1.0:
            shares = np.array([shares[0], 1.0 - shares[0]])
        if len(shares) != n_domains or shares.sum() <= 0:
            raise ValueError(
                f"domain_ratio {list(shares)} does not give {n_domains} domains a positive total"
            )
        self.grab = [int(s / shares.sum() * batch) if len(p) else 0 for s, p in zip(shares, self.pools)]
        if sum(self.grab) == 0:
            raise ValueError(f"batch {batch}: int(share x batch) is 0 for every domain; raise --batch")
        self.batch, self.seed = int(batch), int(seed)
        self.groups = math.ceil(max(len(p) for p in self.pools) / self.batch)
        self.pass_batches = math.ceil(self.groups * sum(self.grab) / self.batch)
        self._cache: tuple[int, list[np.ndarray]] | None = None

    def __len__(self) -> int:
        return sum(1 for p in self.pools if len(p)) * self.groups

    def _pass(self, k: int) -> list[np.ndarray]:
        """The batches of pass k (int64 positions)."""
        if self._cache is not None and self._cache[0] == k:
            return self._cache[1]
        rng = np.random.default_rng([self.seed, 0xC5A, k])
        per_domain = []
        for pool, grab in zip(self.pools, self.grab):
            need = grab * self.groups
            reps = math.ceil(need / len(pool)) if need else 0
            stream = np.concatenate([pool[rng.permutation(len(pool))] for _ in range(reps)] or [pool[:0]])
            per_domain.append(stream[:need].reshape(self.groups, grab))
        flat = np.concatenate(per_domain, axis=1).reshape(
            -1
        )  # group by group: domain 0's clips, then domain 1's
        batches = [flat[i : i + self.batch] for i in range(0, len(flat), self.batch)]
        self._cache = (k, batches)
        return batches

    def epoch(self, epoch: int) -> list[np.ndarray]:
        """The batches of `epoch`: global steps epoch * len(self) ... from consecutive passes."""
        out = []
        for g in range(epoch * len(self), (epoch + 1) * len(self)):
            out.append(self._pass(g // self.pass_batches)[g % self.pass_batches])
        return out

    def describe(self) -> dict:
        return {
            "kind": type(self).__name__,
            "seed": self.seed,
            "batch": self.batch,
            "grab": list(self.grab),
            "pool_sizes": [len(p) for p in self.pools],
            "steps_per_epoch": len(self),
            "pass_batches": self.pass_batches,
        }

"""Batch plans at Codecfake scale (740,747 codec + 25,380 19LA training clips, shards of 256 clips).

Prints the share of batches holding no 19LA clip under block shuffling (16-shard windows) and uniform shuffling (with
the hypergeometric expectation), and the CSAM counts and epoch lengths. Run: ``.venv/bin/python scripts/batch_mix.py``
(docs/paper-fidelity.md quotes its output).
"""

import time

import numpy as np

from codecfake.train.sampler import (
    BlockBatches,
    RandomBatches,
    StratifiedBatches,
    domain_mix,
    uniform_missing_share,
)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    n_codec, n_19la, batch = 740_747, 25_380, 128
    domains = np.repeat([0, 1], [n_codec, n_19la])
    shards = np.r_[
        np.arange(n_codec) // 256, 10_000 + np.arange(n_19la) // 256
    ]  # one id per shard file, two sets
    print(f"19LA shards: {len(np.unique(shards[n_codec:]))} of {len(np.unique(shards))}")
    block, t_block = timed(lambda: BlockBatches(shards, batch, 688, 16).epoch(0))
    uniform, t_uniform = timed(lambda: RandomBatches(n_codec + n_19la, batch, 688).epoch(0))
    expected = uniform_missing_share([n_codec, n_19la], batch)[1]
    print(
        f"batches without a 19LA clip: block {domain_mix(block, domains, 2)[1]:.3f}, "
        f"uniform {domain_mix(uniform, domains, 2)[1]:.4f} (hypergeometric {expected:.4f})"
    )
    csam = StratifiedBatches(domains, batch, 688)
    epoch, t_csam = timed(lambda: csam.epoch(3))
    counts = sorted({tuple(int(c) for c in np.bincount(domains[b], minlength=2)) for b in epoch})
    print(
        f"csam: counts {csam.counts}, release epoch {len(csam)} steps, one pass {csam.pass_length()}, "
        f"per-batch (codec, 19LA) in epoch 4: {counts}"
    )
    print(f"plan seconds: block {t_block:.2f}, uniform {t_uniform:.2f}, csam epoch {t_csam:.2f}")


if __name__ == "__main__":
    main()

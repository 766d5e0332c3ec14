"""Facts every stage shares, in one place. A leaf: it imports nothing of ours, so any stage may import it.

The paper's preprocessing (spec §3): 16 kHz mono, a fixed length of 64,600 samples (~4.04 s; first 64,600 samples
or repeat-pad). What makes two feature sets comparable for one model, which training-config keys only say *how* a
run executes, and the optimiser names the config accepts. (What makes two feature sets fit one model is a store fact:
``codecfake.store.spec.EXTRACTOR_FIELDS``.)
"""

from __future__ import annotations

SAMPLE_RATE_HZ = 16000  # every clip is resampled to this before features
N_SAMPLES = 64600  # the paper's fixed clip length in samples at SAMPLE_RATE_HZ

# TrainConfig keys that change how a run executes, never what it learns: a resumed run may change them, and
# runs differing only in these (plus seed and name) are one row of a report. `from_demo_preset` only notes where
# some values came from (configs/demo.toml), so it is one of them.
RUNTIME_KEYS = (
    "device",
    "threads",
    "data_mode",
    "memory_limit_mb",
    "eval_batch",
    "save_every_steps",
    "from_demo_preset",
)

# The optimisers a training config accepts (configs/opt/<name>.toml); the paper's Table III order.
OPTIMISERS = ("adam", "sam", "asam", "csam", "csam-pd")


"""Facts every stage shares, in one place. A leaf: it imports nothing of ours, so any stage may import it.

The paper's preprocessing: 16 kHz mono, a fixed length of 64,600 samples (~4.04 s; the first 64,600 samples, or the
clip repeated until it is that long).
"""

from __future__ import annotations

SAMPLE_RATE_HZ = 16000  # every clip is resampled to this before features
N_SAMPLES = 64600  # the paper's fixed clip length in samples at SAMPLE_RATE_HZ

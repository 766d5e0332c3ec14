"""Which runs the demo trains: the paper's three settings (Tables III, IV, VIII) in miniature.

The default matrix fits `make demo`'s 20-minute budget on 2 CPU cores; `--full` (``make experiments``) runs both
back-ends with every optimiser. Run names are stable so a rerun finds and reuses finished runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from codecfake.common import OPTIMISERS

DEMO_EPOCHS = 5  # measured: ~12 min for the default matrix at ~80 clips/s (Mel-LCNN, 127 frames, 2 cores)
DEMO_BATCH = 32
# SAM radius for Mel-LCNN in the demo. The paper's rho = 0.05 (set for W2V2-AASIST) stalls Mel-LCNN on these log-mels:
# measured, co-trained CSAM kept a flat train loss (0.668 -> 0.656) and ~43 % dev EER over 5 epochs, because a 0.05
# step raises this LCNN's loss by ~0.1-0.3; with rho = 0.01 it learns like Adam (dev EER 20.0 % after 3 epochs).
DEMO_LCNN_RHO = 0.01


@dataclass(frozen=True)
class RunSpec:
    """One training run of the matrix."""

    task: str  # vocoder | codec | cotrain
    backend: str  # lcnn | aasist
    opt: str
    seed: int

    @property
    def name(self) -> str:
        return f"demo-{self.task}-{self.backend}-{self.opt}-s{self.seed}"

    @property
    def rho(self) -> float | None:
        """The SAM radius this run overrides (None: the preset's, i.e. the paper's 0.05)."""
        return DEMO_LCNN_RHO if self.backend == "lcnn" and self.opt != "adam" else None

    @property
    def setting(self) -> str:
        """The paper's name for the training setting."""
        return {"vocoder": "vocoder-trained", "codec": "codec-trained", "cotrain": "co-trained"}[self.task]


def demo_matrix(*, full: bool, seeds: int, base_seed: int = 688) -> list[RunSpec]:
    """Default: Mel-LCNN vocoder-, codec- and co-trained (Adam), and co-trained with CSAM.

    AASIST is left to the full matrix: one more co-trained run costs ~4 min (Adam) to ~8 min (CSAM) on 2 CPU
    cores, past `make demo`'s 20-minute budget.

    Full: for each back-end, vocoder- and codec-trained with Adam, co-trained with every optimiser; x seeds.
    """
    if seeds < 1:
        raise ValueError(f"--seeds {seeds}: expected at least 1")
    if full:
        cells = [(task, backend, "adam") for backend in ("lcnn", "aasist") for task in ("vocoder", "codec")]
        cells += [("cotrain", backend, opt) for backend in ("lcnn", "aasist") for opt in OPTIMISERS]
    else:
        cells = [("vocoder", "lcnn", "adam"), ("codec", "lcnn", "adam"), ("cotrain", "lcnn", "adam"),
                 ("cotrain", "lcnn", "csam")]
    return [RunSpec(task, backend, opt, base_seed + k) for k in range(seeds) for task, backend, opt in cells]

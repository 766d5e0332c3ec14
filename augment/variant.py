"""One augmented variant of a feature set: a recipe, its index and seed, applied clip by clip in decode workers.

A variant of clip ``utt_id`` is a pure function of (recipe, variant index, seed, utt_id, clean audio): its random
generator is seeded with all of them, so a rerun, a resumed extraction or another worker gives the same samples, and
variant k of one clip never shares draws with variant j. A variant that fails, or whose output is non-finite or
silent, comes back as a reject with its reason (the clean clip is untouched: it lives in its own set).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codecfake.augment.recipe import FAMILIES, Recipe

log = logging.getLogger(__name__)

DEFAULT_SEED = 1234
SILENT_DBFS = -80.0  # an output quieter than this (RMS) from a non-silent clip is rejected as silent
ROLES = ("augment", "degrade")


def _apply_fn(family: str) -> Callable[..., np.ndarray]:
    from codecfake.augment import channel, rawboost

    return {
        "rawboost": rawboost.rawboost,
        "codec": channel.codec,
        "resample": channel.resample,
        "lowpass": channel.lowpass,
        "noise": channel.noise,
    }[family]


def _utt_seed(utt_id: str) -> int:
    return int.from_bytes(hashlib.sha256(utt_id.encode()).digest()[:8], "little")


def _rms_dbfs(x: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    return 20 * np.log10(max(rms, 1e-12))


@dataclass(frozen=True)
class Variant:
    """Variant ``index`` of ``recipe`` with ``seed``; ``of``: the clean set's key; ``rows``: which clips it holds."""

    recipe: Recipe
    index: int = 0
    seed: int = DEFAULT_SEED
    role: str = "augment"  # "augment" (training variants) | "degrade" (robustness sweep of a test set)
    of: str = ""
    rows: Mapping[str, Any] = field(
        default_factory=dict
    )  # {"splits": [...], "on": {domain: all|spoof|bonafide}}

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Variant.role: one of {ROLES}, found {self.role!r}")

    @property
    def tag(self) -> str:
        """Short name inside the feature-set key: ``rawboost0`` (variant 0) or ``deg-mp3-32k``."""
        if self.role == "degrade":
            return "deg-" + self.recipe.name.replace(":", "-")
        return f"{self.recipe.family}{self.index}"

    def spec_entry(self) -> dict[str, Any]:
        """What goes into the feature set's spec (hence its key): everything that changes the samples."""
        return {
            "tag": self.tag,
            "role": self.role,
            "name": self.recipe.name,
            **self.recipe.to_dict(),
            "index": self.index,
            "seed": self.seed,
            "of": self.of,
            "rows": dict(self.rows),
        }

    def rng(self, utt_id: str) -> np.random.Generator:
        family_id = list(FAMILIES).index(self.recipe.family)
        return np.random.default_rng([self.seed, self.index, family_id, _utt_seed(utt_id)])

    def apply(self, wave: np.ndarray, utt_id: str) -> np.ndarray:
        """The variant of one clip (n,) float32 -> (n,) float32; raises on a failing augmentation."""
        y = _apply_fn(self.recipe.family)(wave, self.rng(utt_id), dict(self.recipe.params))
        y = np.asarray(y, dtype=np.float32)
        if len(y) != len(wave):
            raise ValueError(f"{self.recipe.name} returned {len(y)} samples for {len(wave)}")
        return y

    def __call__(self, wave: np.ndarray, utt_id: str) -> tuple[np.ndarray, str]:
        """(variant, "") or (zeros, reason): never raises, so one bad clip cannot stop a million-clip run."""
        zeros = np.zeros_like(wave)
        try:
            y = self.apply(wave, utt_id)
        except (
            Exception
        ) as err:  # codec libraries raise their own types; each becomes this clip's reject reason
            log.debug("%s of %s failed: %r", self.recipe.name, utt_id, err)
            return zeros, f"AugmentFailed: {self.recipe.name}: {type(err).__name__}: {err}"
        if not np.isfinite(y).all():
            return (
                zeros,
                f"AugmentNonFinite: {self.recipe.name} gave {int((~np.isfinite(y)).sum())} inf/NaN samples",
            )
        level = _rms_dbfs(y)
        if level < SILENT_DBFS and _rms_dbfs(wave) >= SILENT_DBFS:
            return (
                zeros,
                f"AugmentSilent: {self.recipe.name} output at {level:.1f} dBFS RMS (< {SILENT_DBFS:g})",
            )
        return y, ""

"""Zero-disk augmentation on cached features (``--feataug`` / ``FEATAUG=``), for users who cannot store V copies.

``tmask:W[:N]`` N time masks (default 1) of up to W frames, ``fmask:W[:N]`` frequency masks of up to W bins
(SpecAugment-style, filled with the clip's mean so a log-mel mask is not a loud silence), ``mixup:ALPHA`` mixup with
lambda ~ Beta(ALPHA, ALPHA) between clips of the same training domain (so CSAM's per-domain batches stay pure);
comma separated, e.g. ``tmask:8,fmask:10,mixup:0.2``. Applied to the training batch on the device, never to dev or
test; the draws are a function of (seed, global step), so a resumed run draws the same.

Label consequence: masking preserves the labels (a hidden band or stretch is still bona fide or spoof); mixup gives
soft labels, lambda of one clip's class and 1 - lambda of the other's, in the weighted cross-entropy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from codecfake.augment.errors import BadAugmentParameter, UnknownAugmentation
from codecfake.train.losses import weighted_ce

KINDS = {"tmask": (1, 10000), "fmask": (1, 10000), "mixup": (0.0, 100.0)}


@dataclass(frozen=True)
class FeatAug:
    tmask: tuple[int, int] = (0, 0)  # (max width in frames, masks)
    fmask: tuple[int, int] = (0, 0)  # (max width in bins, masks)
    mixup: float = 0.0  # Beta alpha; 0 = off

    @property
    def active(self) -> bool:
        return bool(self.tmask[0] or self.fmask[0] or self.mixup)


def parse_feataug(text: str) -> FeatAug:
    """``tmask:8,fmask:10:2,mixup:0.2`` -> FeatAug; unknown kinds list the known ones, bad values name the range."""
    values: dict[str, Any] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        kind, *args = item.split(":")
        if kind not in KINDS:
            raise UnknownAugmentation(
                f"FEATAUG: unknown feature augmentation {kind!r}; known: {', '.join(KINDS)}"
            )
        lo, hi = KINDS[kind]
        try:
            nums = [float(a) for a in args]
        except ValueError:
            nums = []
        if kind == "mixup":
            if len(nums) != 1 or not lo < nums[0] <= hi:
                raise BadAugmentParameter(f"FEATAUG mixup:ALPHA: ALPHA in (0, {hi:g}], found {item!r}")
            values["mixup"] = nums[0]
            continue
        if not 1 <= len(nums) <= 2 or any(v != int(v) for v in nums) or not lo <= nums[0] <= hi:
            raise BadAugmentParameter(
                f"FEATAUG {kind}:WIDTH[:COUNT]: WIDTH a whole number in [{lo}..{hi}], COUNT in [1..10], found {item!r}"
            )
        count = int(nums[1]) if len(nums) == 2 else 1
        if not 1 <= count <= 10:
            raise BadAugmentParameter(f"FEATAUG {kind}: COUNT in [1..10], found {item!r}")
        values[kind] = (int(nums[0]), count)
    return FeatAug(**values)


class MixedTargets:
    """Soft labels of a mixup batch: ``lam`` of ``ya`` and 1 - lam of ``yb`` (both (B,) int64)."""

    def __init__(self, ya: torch.Tensor, yb: torch.Tensor, lam: float):
        self.ya, self.yb, self.lam = ya, yb, lam

    def __getitem__(self, mask: torch.Tensor) -> MixedTargets:
        return MixedTargets(self.ya[mask], self.yb[mask], self.lam)

    def __len__(self) -> int:
        return len(self.ya)


def loss(logits: torch.Tensor, y: torch.Tensor | MixedTargets, class_weights: torch.Tensor) -> torch.Tensor:
    """The weighted CE of a plain or a mixup batch."""
    if isinstance(y, MixedTargets):
        return y.lam * weighted_ce(logits, y.ya, class_weights) + (1 - y.lam) * weighted_ce(
            logits, y.yb, class_weights
        )
    return weighted_ce(logits, y, class_weights)


def _masks(x: torch.Tensor, rng: np.random.Generator, width: int, count: int, axis: int) -> torch.Tensor:
    """Bool (B, ..., size along axis) masks broadcastable to x: ``count`` stripes of 0..width per clip."""
    size = x.shape[axis]
    keep = np.ones((x.shape[0], size), dtype=bool)
    for b in range(x.shape[0]):
        for _ in range(count):
            w = int(rng.integers(0, min(width, size) + 1))
            start = int(rng.integers(0, size - w + 1))
            keep[b, start : start + w] = False
    shape = [x.shape[0]] + [1] * (x.dim() - 1)
    shape[axis] = size
    return torch.from_numpy(keep).to(x.device).reshape(shape)


def apply(
    aug: FeatAug, x: torch.Tensor, y: torch.Tensor, dom: torch.Tensor, seed: int, step: int
) -> tuple[torch.Tensor, torch.Tensor | MixedTargets]:
    """x (B, ..., T, D) float32 on the device, y (B,), dom (B,) -> the augmented batch and its targets."""
    if not aug.active:
        return x, y
    rng = np.random.default_rng([seed, step, 0xFEA])
    if aug.tmask[0] or aug.fmask[0]:
        fill = x.mean(dim=tuple(range(1, x.dim())), keepdim=True)  # (B, 1, …): each clip's mean
        if aug.tmask[0]:
            x = torch.where(_masks(x, rng, *aug.tmask, axis=x.dim() - 2), x, fill)
        if aug.fmask[0]:
            x = torch.where(_masks(x, rng, *aug.fmask, axis=x.dim() - 1), x, fill)
    if not aug.mixup:
        return x, y
    lam = float(rng.beta(aug.mixup, aug.mixup))
    perm = np.arange(len(y))
    dom_np = dom.cpu().numpy()
    for d in np.unique(dom_np):  # partners from the same domain only
        idx = np.flatnonzero(dom_np == d)
        perm[idx] = idx[rng.permutation(len(idx))]
    perm_t = torch.from_numpy(perm).to(x.device)
    return lam * x + (1 - lam) * x[perm_t], MixedTargets(y, y[perm_t], lam)

"""Zero-disk feature augmentation: masks within their widths filled with the clip mean, mixup within a domain with
soft labels, draws fixed by (seed, step), bad FEATAUG text named before training."""

from __future__ import annotations

import pytest
import torch

from codecfake.augment.errors import BadAugmentParameter, UnknownAugmentation
from codecfake.train.config import TrainConfig
from codecfake.train.feataug import MixedTargets, apply, loss, parse_feataug
from codecfake.train.losses import weighted_ce


def test_parse_and_bad_input():
    aug = parse_feataug("tmask:8,fmask:10:2,mixup:0.2")
    assert (aug.tmask, aug.fmask, aug.mixup) == ((8, 1), (10, 2), 0.2)
    with pytest.raises(UnknownAugmentation, match="known: tmask, fmask, mixup"):
        parse_feataug("cutout:3")
    with pytest.raises(BadAugmentParameter, match=r"WIDTH a whole number in \[1..10000\]"):
        parse_feataug("tmask:0")
    with pytest.raises(BadAugmentParameter, match="ALPHA in"):
        parse_feataug("mixup:-1")
    with pytest.raises(BadAugmentParameter, match="COUNT"):
        TrainConfig(feataug="fmask:4:99")


def test_masks_stay_within_their_width_and_fill_with_the_clip_mean():
    x = torch.arange(2 * 20 * 6, dtype=torch.float32).reshape(2, 20, 6)  # (B, T, D)
    y, dom = torch.tensor([0, 1]), torch.tensor([0, 0])
    out, targets = apply(parse_feataug("tmask:5"), x, y, dom, seed=1, step=0)
    assert targets is y
    for b in range(2):
        changed = (out[b] != x[b]).any(dim=1)  # (T,): masked frames
        assert changed.sum() <= 5
        idx = torch.nonzero(changed).flatten()
        if len(idx):
            assert int(idx[-1] - idx[0]) + 1 == len(idx)  # one contiguous stripe
            assert torch.allclose(out[b, idx], x[b].mean().expand(len(idx), 6))
    out_f, _ = apply(parse_feataug("fmask:2"), x, y, dom, seed=1, step=0)
    assert ((out_f != x).any(dim=1).sum(dim=1) <= 2).all()  # at most 2 of 6 bins per clip
    again, _ = apply(parse_feataug("tmask:5"), x, y, dom, seed=1, step=0)
    assert torch.equal(out, again)  # a resumed run redraws the same masks at the same step


def test_mixup_pairs_within_a_domain_with_soft_labels():
    x = torch.stack([torch.full((4, 3), float(i)) for i in range(8)])  # clip i holds the value i
    y = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    dom = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    out, t = apply(parse_feataug("mixup:0.4"), x, y, dom, seed=3, step=7)
    assert isinstance(t, MixedTargets) and 0.0 <= t.lam <= 1.0
    for i in range(8):
        v = float(out[i, 0, 0])
        j = round((v - t.lam * i) / (1 - t.lam)) if t.lam < 1 else i
        assert dom[j] == dom[i]  # the partner comes from the same domain
        assert t.yb[i] == y[j]
    logits = torch.randn(8, 2)
    w = torch.tensor([10.0, 1.0])
    expect = t.lam * weighted_ce(logits, y, w) + (1 - t.lam) * weighted_ce(logits, t.yb, w)
    assert torch.allclose(loss(logits, t, w), expect)
    assert len(t[dom == 0]) == 4  # csam-pd's per-domain sub-batches keep their soft labels

"""The weighted CE is the paper's (the dev EER is the official one, tested in tests/test_eer.py)."""

from __future__ import annotations

import pytest
import torch

from codecfake.train.losses import weighted_ce, weighted_ce_sums


def test_weighted_ce_is_torch_weighted_mean_and_sums_agree() -> None:
    torch.manual_seed(0)
    logits, labels = torch.randn(10, 2), torch.tensor([0, 1, 1, 0, 1, 1, 1, 0, 1, 1])
    w = torch.tensor([10.0, 1.0])
    ce = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    expected = (w[labels] * ce).sum() / w[labels].sum()
    torch.testing.assert_close(weighted_ce(logits, labels, w), expected)
    num, den = weighted_ce_sums(logits, labels, w)
    assert num / den == pytest.approx(float(expected))

"""The local dev EER equals the evaluate stage's official EER, and the weighted CE is the paper's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from codecfake.train.losses import weighted_ce, weighted_ce_sums
from codecfake.train.metrics import eer_percent


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_local_eer_matches_evaluate(seed: int) -> None:
    from codecfake.evaluate.eer import eer_from_labels

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(size=300) - labels, 1)  # ties on purpose; bona fide (0) scores higher
    assert eer_percent(scores, labels) == pytest.approx(eer_from_labels(scores, labels).eer_percent, abs=1e-9)


def test_eer_edges() -> None:
    assert eer_percent(np.array([0.9, 0.8, 0.1, 0.2]), np.array([0, 0, 1, 1])) == 0.0
    assert eer_percent(np.array([0.1, 0.2, 0.9, 0.8]), np.array([0, 0, 1, 1])) == 100.0
    assert np.isnan(eer_percent(np.array([0.1, 0.2]), np.array([1, 1])))


def test_weighted_ce_is_torch_weighted_mean_and_sums_agree() -> None:
    torch.manual_seed(0)
    logits, labels = torch.randn(10, 2), torch.tensor([0, 1, 1, 0, 1, 1, 1, 0, 1, 1])
    w = torch.tensor([10.0, 1.0])
    ce = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    expected = (w[labels] * ce).sum() / w[labels].sum()
    torch.testing.assert_close(weighted_ce(logits, labels, w), expected)
    num, den = weighted_ce_sums(logits, labels, w)
    assert num / den == pytest.approx(float(expected))

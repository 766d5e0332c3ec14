"""The training loss: class-weighted cross-entropy, [10 on bona fide, 1 on spoof] by default (the paper's)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def weighted_ce(logits: torch.Tensor, labels: torch.Tensor, class_weights: torch.Tensor) -> torch.Tensor:
    """Weighted-mean CE: sum_i w_{y_i} * CE_i / sum_i w_{y_i}; logits (B, 2), labels (B,) int64 -> scalar.
    Identical to ``nn.CrossEntropyLoss(weight=...)`` with mean reduction."""
    return F.cross_entropy(logits, labels, weight=class_weights)


def weighted_ce_sums(
    logits: torch.Tensor, labels: torch.Tensor, class_weights: torch.Tensor
) -> tuple[float, float]:
    """(sum_i w_{y_i} * CE_i, sum_i w_{y_i}) so a whole dev set's weighted mean can be summed over batches."""
    ce = F.cross_entropy(logits, labels, reduction="none")  # (B,)
    w = class_weights[labels]  # (B,)
    return float((w * ce).sum()), float(w.sum())


def class_weight_tensor(weights: Sequence[float], device: torch.device) -> torch.Tensor:
    return torch.tensor(list(weights), dtype=torch.float32, device=device)

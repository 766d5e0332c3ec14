"""Dev-set evaluation for model selection: weighted-CE over the whole dev split, and dev EER."""

from __future__ import annotations

import numpy as np
import torch
from codecfake.train.data import Prefetcher, TrainingData
from codecfake.train.losses import weighted_ce_sums

from codecfake.eer import eer_percent


@torch.no_grad()
def evaluate_dev(model: torch.nn.Module, data: TrainingData, class_weights: torch.Tensor, device: torch.device,
                 batch: int) -> tuple[float, float]:
    """(dev loss: sum_i w_{y_i} CE_i / sum_i w_{y_i}, dev EER in %) with the model in eval mode."""
    model.eval()
    n = len(data.dev)
    batches = [np.arange(i, min(i + batch, n)) for i in range(0, n, batch)]
    num = den = 0.0
    scores: list[np.ndarray] = []
    feeder = Prefetcher(data, data.dev, batches)
    try:
        for x, y, _ in feeder:
            logits = model(x.to(device).float())[1].float()  # (B, T, D) fp16 -> fp32 on the device; (B, 2)
            a, b = weighted_ce_sums(logits, y.to(device), class_weights)
            num, den = num + a, den + b
            scores.append(torch.softmax(logits, dim=1)[:, 0].cpu().numpy())  # P(bona fide)
    finally:
        feeder.close()
    model.train()
    return num / den, eer_percent(np.concatenate(scores), data.dev.labels)

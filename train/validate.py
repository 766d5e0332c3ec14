"""Dev-set evaluation for model selection: weighted-CE over the whole dev split, and dev EER.

Two dev losses come from one pass: ``exact`` = sum_i w_i CE_i / sum_i w_i over every dev clip (our default), and
``batch-mean`` = the mean over dev batches of each batch's weighted mean, what the release selects on
(main_train.py:320,343; its dev batches are shuffled and the last one is short). Pass `batches` to choose the order.
"""

from __future__ import annotations

import numpy as np
import torch

from codecfake.eer import eer_percent
from codecfake.train.data import Prefetcher, TrainingData
from codecfake.train.losses import weighted_ce_sums


@torch.no_grad()
def evaluate_dev(
    model: torch.nn.Module,
    data: TrainingData,
    class_weights: torch.Tensor,
    device: torch.device,
    batch: int,
    batches: list[np.ndarray] | None = None,
) -> tuple[float, float, float]:
    """(exact dev loss, batch-mean dev loss, dev EER in %) with the model in eval mode; `batches` default: in order."""
    model.eval()
    n = len(data.dev)
    if batches is None:
        batches = [np.arange(i, min(i + batch, n)) for i in range(0, n, batch)]
    num = den = 0.0
    means: list[float] = []
    scores: list[np.ndarray] = []
    feeder = Prefetcher(data, data.dev, batches)
    try:
        for x, y, _ in feeder:
            logits = model(x.to(device).float())[1].float()  # (B, T, D) fp16 -> fp32 on the device; (B, 2)
            a, b = weighted_ce_sums(logits, y.to(device), class_weights)
            num, den = num + a, den + b
            means.append(a / b)
            scores.append(torch.softmax(logits, dim=1)[:, 0].cpu().numpy())  # P(bona fide)
    finally:
        feeder.close()
    model.train()
    order = np.concatenate(batches)
    return (
        num / den,
        float(np.mean(means)),
        eer_percent(np.concatenate(scores), np.minimum(data.dev.labels[order], 1)),
    )  # trace: class ids -> 0/1

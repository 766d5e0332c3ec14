"""Co-training SAM.

- ``csam`` (the official meaning): stratified batches (train/sampler.py ``StratifiedBatches``) + one ordinary SAM
  step (train/sam.py) on the joint batch. Nothing else: the official code has no per-domain perturbation.
- ``csam-pd`` (our extension): for each domain d in the batch, the ascent ε_d comes from the gradient of
  L_d, the loss on domain d's sub-batch *alone* (its own forward, so batch-norm statistics do not mix domains either);
  the descent gradient is Σ_d π_d ∇L_d(w + ε_d) with π_d = n_d / B, the domain's share of the batch. With ρ = 0 this is
  one Adam step on the joint loss Σ_d π_d L_d. Same cost as SAM (two forward/backward passes over B clips).
  Batch norm: the pass-one forwards (one per domain) update the running statistics, pass two never does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from codecfake.train.sam import (
    SAM,
    LossFn,
    capture_rng,
    frozen_bn_stats,
    grad_params,
    perturbed,
    replayed_rng,
    sam_epsilon,
)


class PerDomainSAM(SAM):
    """The csam-pd step; `step` takes the per-domain sub-batches and their weights."""

    def domain_epsilons(
        self, loss_fn: LossFn, sub_batches: Sequence[Any]
    ) -> tuple[list[list[torch.Tensor]], list[float], list[list[torch.Tensor]], list]:
        """Pass one for every domain: (ε_d per domain, L_d(w), the parameters ε_d applies to, RNG states)."""
        device = self._device()
        eps_all, losses, active_all, rngs = [], [], [], []
        for batch in sub_batches:
            rngs.append(capture_rng(device) if self.same_dropout else None)
            self.base.zero_grad(set_to_none=True)
            loss = loss_fn(self.model, batch)
            loss.backward()
            active = grad_params(self.params)
            eps_all.append(sam_epsilon(active, self.rho, self.adaptive))
            active_all.append(active)
            losses.append(float(loss.detach()))
        return eps_all, losses, active_all, rngs

    def step(
        self, loss_fn: LossFn, sub_batches: Sequence[Any], weights: Sequence[float] | None = None
    ) -> float:
        """One step; `weights` π_d default to equal shares. Returns Σ_d π_d L_d(w)."""
        weights = list(weights) if weights is not None else [1.0 / len(sub_batches)] * len(sub_batches)
        device = self._device()
        eps_all, losses, active_all, rngs = self.domain_epsilons(loss_fn, sub_batches)
        total = [torch.zeros_like(p) for p in self.params]
        for batch, weight, eps, active, rng in zip(
            sub_batches, weights, eps_all, active_all, rngs, strict=True
        ):
            with perturbed(active, eps), frozen_bn_stats(self.model), replayed_rng(rng, device):
                self.base.zero_grad(set_to_none=True)
                loss_fn(self.model, batch).backward()
            with torch.no_grad():
                for acc, p in zip(total, self.params, strict=True):
                    if p.grad is not None:
                        acc.add_(p.grad, alpha=weight)
        for p, acc in zip(self.params, total, strict=True):
            p.grad = acc
        self.base.step()
        return float(sum(w * loss for w, loss in zip(weights, losses, strict=True)))

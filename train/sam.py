"""Sharpness-aware minimisation (SAM, ASAM) around one base optimiser, as the official Codecfake code does it.

One step (as the release's training script takes it):
1. forward + backward on the batch at w: gradient g, loss L(w) (the reported training loss);
2. ascent: eps = rho * g / (||g|| + 1e-12); ASAM: eps = rho * w^2 * g / (|| |w| * g || + 1e-12), the norm taken over
   all parameters together; w <- w + eps;
3. forward + backward on the same batch at w + eps, with batch-norm running statistics left untouched;
4. w <- the saved w exactly (a copy, not w + eps - eps), then the base optimiser (Adam) steps with the gradient from 3.

Differences from the released code, on purpose:
- batch-norm: the official code sets BN momentum to 0 for pass two, which still increments ``num_batches_tracked``;
  we snapshot every BN buffer before pass two and copy it back after, so pass two leaves no trace at all.
- dropout: with ``same_dropout=False`` (the default, as the release: its pass two is a plain second forward) pass two
  draws fresh dropout masks; ``same_dropout=True`` replays pass one's random-number state, so both passes see the
  *same* masks and the ascent is measured on one sub-network (the generator then ends where one pass leaves it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import torch
from torch import nn

LossFn = Callable[[nn.Module, Any], torch.Tensor]  # (model, batch) -> scalar loss


def grad_params(params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The parameters that received a gradient in the last backward."""
    return [p for p in params if p.grad is not None]


@torch.no_grad()
def sam_epsilon(params: Sequence[torch.Tensor], rho: float, adaptive: bool = False) -> list[torch.Tensor]:
    """The ascent step for each parameter in `params` (all must hold ``.grad``): SAM or ASAM (element-wise |w|)."""
    grads = cast(list[torch.Tensor], [p.grad for p in params])  # set for every p, as required above
    scaled = [(p.abs() * g) if adaptive else g for p, g in zip(params, grads, strict=True)]
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(s) for s in scaled]))
    scale = rho / (norm + 1e-12)
    return [((p * p) if adaptive else 1.0) * g * scale for p, g in zip(params, grads, strict=True)]


@contextlib.contextmanager
def perturbed(params: Sequence[torch.Tensor], eps: Sequence[torch.Tensor]) -> Iterator[None]:
    """Inside: w + eps. On exit: exactly the saved w."""
    saved = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, e in zip(params, eps, strict=True):
            p.add_(e)
    try:
        yield
    finally:
        with torch.no_grad():
            for p, s in zip(params, saved, strict=True):
                p.copy_(s)


def _bn_modules(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@contextlib.contextmanager
def frozen_bn_stats(model: nn.Module) -> Iterator[None]:
    """Batch norm still normalises with batch statistics inside, but its running buffers come back bit-identical."""
    saved = [
        (m, {n: b.detach().clone() for n, b in m.named_buffers(recurse=False) if b is not None})
        for m in _bn_modules(model)
    ]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, buffers in saved:
                for name, value in buffers.items():
                    getattr(m, name).copy_(value)


def capture_rng(device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The CPU (and, on CUDA, the device's) generator state."""
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _set_rng(state: tuple[torch.Tensor, torch.Tensor | None], device: torch.device) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


@contextlib.contextmanager
def replayed_rng(
    state: tuple[torch.Tensor, torch.Tensor | None] | None, device: torch.device
) -> Iterator[None]:
    """Run the body with the generator rewound to `state` (None: no-op), then put it back where it was."""
    if state is None:
        yield
        return
    after = capture_rng(device)
    _set_rng(state, device)
    try:
        yield
    finally:
        _set_rng(after, device)


class SAM:
    """The SAM/ASAM step around a base optimiser (whose state is the only persistent state: rho/adaptive are config)."""

    def __init__(
        self,
        model: nn.Module,
        base: torch.optim.Optimizer,
        *,
        rho: float = 0.05,
        adaptive: bool = False,
        same_dropout: bool = False,
    ):
        self.model, self.base = model, base
        self.rho, self.adaptive, self.same_dropout = float(rho), bool(adaptive), bool(same_dropout)
        self.params = [p for g in base.param_groups for p in g["params"]]

    def _device(self) -> torch.device:
        return self.params[0].device

    def step(self, loss_fn: LossFn, batch: Any) -> float:
        """One two-pass step on `batch`; returns L(w) from pass one."""
        device = self._device()
        rng = capture_rng(device) if self.same_dropout else None
        self.base.zero_grad(set_to_none=True)
        loss = loss_fn(self.model, batch)
        loss.backward()
        active = grad_params(self.params)
        eps = sam_epsilon(active, self.rho, self.adaptive)
        with perturbed(active, eps), frozen_bn_stats(self.model), replayed_rng(rng, device):
            self.base.zero_grad(set_to_none=True)
            loss_fn(self.model, batch).backward()
        self.base.step()
        return float(loss.detach())

    def state_dict(self) -> dict[str, Any]:
        return {"rho": self.rho, "adaptive": self.adaptive, "same_dropout": self.same_dropout}


def plain_step(model: nn.Module, base: torch.optim.Optimizer, loss_fn: LossFn, batch: Any) -> float:
    """One ordinary step (Adam): forward, backward, step; returns the loss."""
    base.zero_grad(set_to_none=True)
    loss = loss_fn(model, batch)
    loss.backward()
    base.step()
    return float(loss.detach())


def build_base_optimizer(
    model: nn.Module, *, lr: float, betas: tuple[float, float], eps: float, weight_decay: float
) -> torch.optim.Adam:
    """The base optimiser every variant wraps: Adam with L2 weight decay (torch Adam's ``weight_decay``)."""
    return torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad],
        lr=lr,
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
    )

"""Multi-layer fusion: N SSL layers of a clip mixed by learned softmax weights before the back-end.

The SLS / WavLM "weighted sum" recipe: one scalar w_l per layer, y = Σ_l softmax(w)_l · x_l, so the back-end sees one
(B, T, D) input whatever N is. The weights start at 0 (equal shares) and train with the back-end (same optimiser, weight
decay and SAM perturbation as every other parameter). A one-layer input is never wrapped: the plain back-end.
"""

from __future__ import annotations

import torch
from torch import nn

from codecfake.train.input_arrays import array_names


class LayerFusion(nn.Module):
    """y = Σ_l softmax(w)_l · x_l: x (B, N, T, D) -> (B, T, D). ``w`` starts at 0 (equal weights, as WavLM/SUPERB)."""

    def __init__(self, n_layers: int):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"LayerFusion needs at least one layer, got {n_layers}")
        self.weights = nn.Parameter(torch.zeros(n_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.weights.numel():
            raise ValueError(
                f"LayerFusion({self.weights.numel()}) takes (B, N={self.weights.numel()}, T, D), "
                f"got {tuple(x.shape)}"
            )
        w = torch.softmax(self.weights, dim=0).to(x.dtype)  # (N,)
        y = x[:, 0] * w[0]  # (B, T, D); layer by layer: no (B, N, T, D) temporary
        for layer in range(1, x.shape[1]):
            y = y + x[:, layer] * w[layer]
        return y

    def softmax_weights(self) -> list[float]:
        return torch.softmax(self.weights.detach().float(), dim=0).cpu().tolist()


class FusedBackend(nn.Module):
    """LayerFusion then a back-end: forward(x (B, N, T, D)) -> the back-end's (embedding, logits)."""

    def __init__(self, n_layers: int, backend: nn.Module):
        super().__init__()
        self.fusion = LayerFusion(n_layers)
        self.backend = backend

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.backend(self.fusion(x))


def model_input(arrays: dict[str, torch.Tensor], array: str) -> torch.Tensor:
    """The model's input from an extractor's outputs {"L05": (B, T, D), …}: (B, T, D), fused (B, N, T, D)."""
    names = array_names(array)
    return arrays[names[0]] if len(names) == 1 else torch.stack([arrays[a] for a in names], dim=1)


def wrap_for_input(model: nn.Module, array: str) -> nn.Module:
    """``model`` itself for one array; ``FusedBackend(N, model)`` for a fused name of N arrays."""
    n = len(array_names(array))
    return FusedBackend(n, model) if n > 1 else model


def fusion_weights(model: nn.Module, array: str) -> dict[str, float] | None:
    """{array name: softmax weight} of a fused model (None for a plain one)."""
    fusion = getattr(model, "fusion", None)
    if not isinstance(fusion, LayerFusion):
        return None
    return dict(zip(array_names(array), fusion.softmax_weights(), strict=True))


__all__ = ["LayerFusion", "FusedBackend", "model_input", "wrap_for_input", "fusion_weights"]

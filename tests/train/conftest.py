"""Shared fixtures for the train tests: a tiny toy back-end (the real ones live in train/backends.py)."""

from __future__ import annotations

import pytest
import torch
from torch import nn


class ToyBackend(nn.Module):
    """(B, T, D) -> mean over T -> Linear -> BN -> ReLU -> Dropout -> Linear(2): (embedding (B, H), logits (B, 2))."""

    def __init__(self, frame_shape: tuple[int, int], hidden: int = 8, dropout: float = 0.0):
        super().__init__()
        self.frame_shape = tuple(frame_shape)
        self.proj = nn.Linear(frame_shape[1], hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if tuple(x.shape[1:]) != self.frame_shape:
            raise ValueError(f"ToyBackend takes (B, {self.frame_shape}), got {tuple(x.shape)}")
        emb = self.drop(torch.relu(self.bn(self.proj(x.mean(dim=1)))))  # (B, H)
        return emb, self.head(emb)  # (B, H), (B, 2)


def toy_builder(name: str, frame_shape: tuple[int, int]) -> nn.Module:
    if name != "toy":
        raise KeyError(f"unknown backend {name!r}")
    torch.manual_seed(0)
    return ToyBackend(frame_shape)


@pytest.fixture
def builder():
    return toy_builder


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)

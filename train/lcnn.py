"""LCNN back-end (Max-Feature-Map CNN) as released with the paper.

Nine conv layers with MFM activations (max over channel halves), four 2x2 max-pools, batch-norms without affine
parameters, then Flatten -> Dropout 0.7 -> Linear(F -> 160) -> MFM -> Linear(80 -> 256) = embedding -> Linear(256 -> 2).
F = 32 * (H // 16) * (W // 16) for the image (H, W) fed to conv1: 4,960 for the (505, 80) mel input (972,514
parameters) and 24,576 for (201, 1024) XLS-R features (W2V2-LCNN, 4,111,074 parameters).
"""

from __future__ import annotations

import torch
from torch import nn

N_POOLS = 4


def mfm(x: torch.Tensor) -> torch.Tensor:
    """Max-Feature-Map: (B, 2C, ...) -> (B, C, ...), element-wise max of the two channel halves."""
    a, b = x.chunk(2, dim=1)
    return torch.maximum(a, b)


def flat_dim(image_shape: tuple[int, int]) -> int:
    """Flattened size after the conv stack for an image (H, W): 32 * (H // 16) * (W // 16)."""
    h, w = image_shape
    for _ in range(N_POOLS):
        h, w = h // 2, w // 2
    return 32 * h * w


class LCNN(nn.Module):
    """LCNN over frame features x (B, T, D) -> (embedding (B, 256), logits (B, 2) [bona fide, spoof]).

    ``freq_major=False`` feeds the image (T, D) to conv1 (the release's Mel-LCNN layout, (505, 80));
    ``freq_major=True`` feeds (D, T) (the release's W2V2-LCNN layout, (1024, 201)).
    """

    def __init__(
        self,
        frame_shape: tuple[int, int],
        *,
        freq_major: bool = False,
        enc_dim: int = 256,
        n_classes: int = 2,
    ) -> None:
        super().__init__()
        n_frames, dim = int(frame_shape[0]), int(frame_shape[1])
        self.frame_shape = (n_frames, dim)
        self.freq_major = freq_major
        image = (dim, n_frames) if freq_major else (n_frames, dim)
        self.flat_dim = flat_dim(image)
        self.conv1 = nn.Conv2d(1, 64, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 64, 1)
        self.bn2 = nn.BatchNorm2d(32, affine=False)
        self.conv3 = nn.Conv2d(32, 96, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(48, affine=False)
        self.conv4 = nn.Conv2d(48, 96, 1)
        self.bn4 = nn.BatchNorm2d(48, affine=False)
        self.conv5 = nn.Conv2d(48, 128, 3, padding=1)
        self.conv6 = nn.Conv2d(64, 128, 1)
        self.bn6 = nn.BatchNorm2d(64, affine=False)
        self.conv7 = nn.Conv2d(64, 64, 3, padding=1)
        self.bn7 = nn.BatchNorm2d(32, affine=False)
        self.conv8 = nn.Conv2d(32, 64, 1)
        self.bn8 = nn.BatchNorm2d(32, affine=False)
        self.conv9 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.drop = nn.Dropout(0.7)
        self.fc1 = nn.Linear(self.flat_dim, 160)
        self.fc2 = nn.Linear(80, enc_dim)
        self.classifier = nn.Linear(enc_dim, n_classes)  # (B, 2); trace: (B, K)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.transpose(1, 2) if self.freq_major else x
        x = x.unsqueeze(1)  # (B, 1, H, W)
        x = self.pool(mfm(self.conv1(x)))  # (B, 32, H/2, W/2)
        x = self.bn2(mfm(self.conv2(x)))
        x = self.bn3(self.pool(mfm(self.conv3(x))))  # (B, 48, H/4, W/4)
        x = self.bn4(mfm(self.conv4(x)))
        x = self.pool(mfm(self.conv5(x)))  # (B, 64, H/8, W/8)
        x = self.bn6(mfm(self.conv6(x)))
        x = self.bn7(mfm(self.conv7(x)))  # (B, 32, H/8, W/8)
        x = self.bn8(mfm(self.conv8(x)))
        x = self.pool(mfm(self.conv9(x)))  # (B, 32, H/16, W/16)
        x = self.drop(torch.flatten(x, 1))  # (B, F)
        emb = self.fc2(mfm(self.fc1(x)))  # (B, 256)
        return emb, self.classifier(emb)

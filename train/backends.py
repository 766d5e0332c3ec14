"""Back-end registry: ``build_backend(name, frame_shape)`` checks the input shape before any work starts.

Every back-end maps frame features x (B, T, D) float32 to (embedding (B, E), logits (B, 2)) with logits ordered
[bona fide, spoof]; the score is softmax(logits)[:, 0] = P(bona fide).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from codecfake.train.errors import BackendError, BackendInputShapeError, UnknownBackend

BACKENDS = ("aasist", "lcnn")
EMBEDDING_DIM = {"aasist": 160, "lcnn": 256}


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (elements)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _check_shape(name: str, frame_shape: Any) -> tuple[int, int]:
    try:
        n_frames, dim = (int(v) for v in frame_shape)
    except (TypeError, ValueError):
        raise BackendInputShapeError(
            f"back-end {name!r}: frame_shape must be (n_frames, feature_dim), got {frame_shape!r}"
        ) from None
    if n_frames < 1 or dim < 1:
        raise BackendInputShapeError(
            f"back-end {name!r}: frame_shape {frame_shape!r} has a non-positive size"
        )
    return n_frames, dim


def _build_aasist(frame_shape: tuple[int, int], *, proj_dim: int = 128, n_classes: int = 2) -> nn.Module:
    from codecfake.train.aasist import AASIST

    n_frames, _ = frame_shape
    if n_frames < 3 or proj_dim < 3:
        raise BackendInputShapeError(
            f"back-end 'aasist': input (T={n_frames}, D={frame_shape[1]}) with projection {proj_dim} gives "
            f"{n_frames // 3} temporal and {proj_dim // 3} spectral graph nodes after the 3x3 max-pool; "
            "AASIST needs T >= 3 frames and proj_dim >= 3. Use longer clips or a feature set with more frames "
            "(e.g. `make features` with the default 64,600-sample clips)."
        )
    return AASIST(frame_shape, proj_dim=proj_dim, n_classes=n_classes)


def _build_lcnn(frame_shape: tuple[int, int], *, freq_major: bool = False, n_classes: int = 2) -> nn.Module:
    from codecfake.train.lcnn import LCNN, N_POOLS

    need = 2**N_POOLS
    image = (frame_shape[1], frame_shape[0]) if freq_major else frame_shape
    if min(image) < need:
        raise BackendInputShapeError(
            f"back-end 'lcnn': input (T={frame_shape[0]}, D={frame_shape[1]}) feeds conv1 an image of {image}; "
            f"its {N_POOLS} 2x2 max-pools need at least {need} x {need}. Use a feature set with at least {need} frames "
            f"and {need} feature dims (the paper's mel is (505, 80), XLS-R layer 5 is (201, 1024))."
        )
    return LCNN(frame_shape, freq_major=freq_major, n_classes=n_classes)


_BUILDERS: dict[str, Callable[..., nn.Module]] = {"aasist": _build_aasist, "lcnn": _build_lcnn}


def build_backend(name: str, frame_shape: Sequence[int], **kw: Any) -> nn.Module:
    """Build back-end ``name`` ("aasist" | "lcnn") for frames (T, D); forward(x (B, T, D)) -> (emb, logits (B, 2)).

    Keyword options: both ``n_classes`` (2; source tracing: K generator classes, logits (B, K), bona fide first);
    aasist ``proj_dim`` (128); lcnn ``freq_major`` (False: conv over (T, D) as the release's
    Mel-LCNN; True: over (D, T) as the release's W2V2-LCNN). Raises UnknownBackend / BackendInputShapeError before
    allocating anything.
    """
    key = str(name).lower()
    if key not in _BUILDERS:
        raise UnknownBackend(
            f"unknown back-end {name!r}: expected one of {', '.join(BACKENDS)} (e.g. `make train BACKEND=aasist`)"
        )
    shape = _check_shape(key, frame_shape)
    try:
        return _BUILDERS[key](shape, **kw)
    except TypeError as err:
        raise BackendError(f"back-end {key!r}: bad option(s) {sorted(kw)}: {err}") from None

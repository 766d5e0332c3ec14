"""One rule for ``--device`` across the stages: ``auto`` picks CUDA when present; an explicit CUDA device that is not
there fails at start-up with the fix, instead of deep inside the first forward pass."""

from __future__ import annotations

import torch

from codecfake.errors import CodecfakeError


class DeviceUnavailable(CodecfakeError):
    """The requested device does not exist on this machine."""


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> ``cuda`` when available, else ``cpu``; ``"cuda[:N]"`` only where CUDA is available."""
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceUnavailable(
            f"--device {name}: CUDA is not available on this machine; use --device cpu (or auto)"
        )
    return torch.device(name)

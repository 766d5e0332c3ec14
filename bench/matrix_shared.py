"""bench-matrix part 2 (shared reads): see bench/matrix.py."""

from __future__ import annotations

from pathlib import Path


def part_shared(work: Path) -> dict:
    raise NotImplementedError("shared reads: not built yet")

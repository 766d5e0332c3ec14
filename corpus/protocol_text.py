"""Whitespace-separated protocol files read column-wise: one ``str.split`` over the whole text, a malformed line
named by its number (the ASVspoof 5 / 2021 keys and the CodecFake+ label lists are all of this kind)."""

from __future__ import annotations

from pathlib import Path

from codecfake.corpus.rows import ManifestError

__all__ = ["read_columns", "find_file"]


def read_columns(path: Path, width: int, expected: str, *, at_least: bool = False) -> list[list[str]]:
    """The ``width`` columns of every non-blank line (``at_least``: lines may carry more tokens, the first
    ``width`` are returned and the **last** token replaces column ``width - 1``). Raises ``ManifestError`` naming
    the first line of another width, with ``expected`` (the format) in the message."""
    text = path.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines()]
    widths = [len(ln.split()) for ln in lines]
    ok = (lambda w: w == 0 or w >= width) if at_least else (lambda w: w in (0, width))
    for n, w in enumerate(widths, start=1):
        if not ok(w):
            raise ManifestError(f"{path} line {n}: expected {expected!r}, found {lines[n - 1]!r}")
    if not at_least or all(w in (0, width) for w in widths):
        tokens = text.split()
        return [tokens[k::width] for k in range(width)]
    rows = [ln.split() for ln, w in zip(lines, widths, strict=True) if w]
    return [[r[k] for r in rows] for k in range(width - 1)] + [[r[-1] for r in rows]]


def find_file(root: Path, candidates: tuple[str, ...], what: str, fix: str) -> Path:
    """The first of ``candidates`` (paths relative to ``root``) that exists; ``ManifestError`` naming them all."""
    for rel in candidates:
        if (root / rel).is_file():
            return root / rel
    raise ManifestError(f"{what} not found under {root} (looked for {', '.join(candidates)}); {fix}")

"""The previous Codecfake label parser and manifest hash, row by row: the same-run baseline of bench/scale.py.

The code before issue 13 (one ``ManifestRow`` per line through pathlib and the per-row regex, ``json.dumps`` per row
into the sha256; ``codecfake.corpus.testing``, the tests' oracle too) with the checks ``load_manifest`` ran on it,
so the dry run can measure old against new on the same files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from codecfake.corpus.manifest import LABELS, SPLITS, ManifestRow
from codecfake.corpus.protocols import CODECFAKE_PARTS
from codecfake.corpus.testing import row_by_row_hash as legacy_content_hash
from codecfake.corpus.testing import row_by_row_part


def legacy_parse_codecfake(root: Path, corpus: str = "codecfake") -> list[ManifestRow]:
    rows = [
        r
        for part in CODECFAKE_PARTS
        if (root / "label" / f"{part}.txt").is_file()
        for r in row_by_row_part(root, part, corpus)
    ]
    legacy_validate(rows)
    return rows


def legacy_validate(rows: list[ManifestRow]) -> None:
    """The previous ``Manifest.validate(check_paths=False)`` checks, row by row (``load_manifest`` ran them)."""
    dupes = [u for u, n in Counter(r.utt_id for r in rows).items() if n > 1]
    bad_label = {r.label for r in rows} - set(LABELS)
    bad_split = {r.split for r in rows} - set(SPLITS)
    empty = [r.utt_id for r in rows if not (r.utt_id and r.path and r.corpus and r.domain and r.condition)]
    if dupes or bad_label or bad_split or empty:
        raise ValueError("legacy validate: the fixture is invalid")


__all__ = ["legacy_content_hash", "legacy_parse_codecfake", "legacy_validate"]

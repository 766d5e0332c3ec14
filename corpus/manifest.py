"""The manifest of a dataset: ``load_manifest(kind, root)`` runs the kind's protocol parser and validates the rows.

The rows and their container (``ManifestRow``, ``Manifest``, ``LABELS``, ``SPLITS``, ``FIELDS``, ``ManifestError``)
live in ``codecfake.corpus.rows`` and are re-exported here; the parsers in ``codecfake.corpus.protocols``.
"""

from __future__ import annotations

from pathlib import Path

from codecfake.corpus.kinds import KINDS, corpus_kind
from codecfake.corpus.parted_readers import READERS
from codecfake.corpus.protocols import parse_asvspoof2019, parse_codecfake, parse_itw
from codecfake.corpus.rows import FIELDS, LABELS, SPLITS, Manifest, ManifestError, ManifestRow

__all__ = ["FIELDS", "LABELS", "SPLITS", "Manifest", "ManifestError", "ManifestRow", "load_manifest"]


def load_manifest(
    kind: str, root: str | Path, *, name: str | None = None, check_paths: bool = True
) -> Manifest:
    """Parse a dataset into a validated manifest.

    kind: "codecfake" (root = Codecfake/), "asvspoof2019" (root = LA/), "itw" (root = release_in_the_wild/),
    "csv" (root = the CSV file), "demo-codec" / "demo-vocoder" (root = the demo folder, e.g. data/mini-codecfake),
    "asvspoof5", "asvspoof2021la", "asvspoof2021df", "codecfakeplus" (``corpus.parted_readers``).
    ``name`` overrides the corpus name.
    """
    root = Path(root)
    entry = corpus_kind(kind)
    if entry is None:
        raise ManifestError(
            f"unknown manifest kind {kind!r}; expected {', '.join(KINDS[:-1])} or {KINDS[-1]}"
        )
    corpus = name or entry.corpus
    if kind in READERS:
        m = READERS[kind].parse(root, corpus=corpus)
    elif kind == "codecfake":
        m = parse_codecfake(root, corpus=corpus)
    elif kind == "asvspoof2019":
        m = parse_asvspoof2019(root, corpus=corpus)
    elif kind == "itw":
        m = parse_itw(root, corpus=corpus)
    elif kind == "csv":
        m = Manifest.read_csv(root, name=corpus)
    elif kind == "demo-codec":
        m = parse_codecfake(_demo_part(root, "codec"), corpus=corpus)
    else:  # demo-vocoder
        m = parse_asvspoof2019(_demo_part(root, "vocoder"), corpus=corpus)
    return m.validate(check_paths=check_paths)


def _demo_part(root: Path, part: str) -> Path:
    if (root / part).is_dir():
        return root / part
    raise ManifestError(
        f"{root / part} not found: build the demo corpus with `codecfake corpus demo --out {root}` (or `make demo-data`)"
    )

"""The previous Codecfake label parser and manifest hash, row by row: the same-run baseline of bench/scale.py.

A bench-only copy of the code before issue 13 (one ``ManifestRow`` per line through pathlib and the per-row regex,
``json.dumps`` per row into the sha256), so the dry run can measure old against new on the same files."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from codecfake.corpus.manifest import LABELS, SPLITS, ManifestRow
from codecfake.corpus.protocols import CODECFAKE_PARTS, _codecfake_audio_dir, _language, codecfake_speaker

HASH_FIELDS = ("utt_id", "label", "corpus", "split", "domain", "condition", "speaker", "language", "method")


def legacy_parse_codecfake(root: Path, corpus: str = "codecfake") -> list[ManifestRow]:
    rows: list[ManifestRow] = []
    for part in CODECFAKE_PARTS:
        label_file = root / "label" / f"{part}.txt"
        if not label_file.is_file():
            continue
        split = part if part in ("train", "dev") else "test"
        domain = "alm" if part.startswith("A") else "codec"
        audio_dir = _codecfake_audio_dir(root, part)
        for line in label_file.read_text(encoding="utf-8").splitlines():
            cols = line.split()
            if not cols:
                continue
            fname, lab, method = cols
            stem = Path(fname).stem
            speaker = codecfake_speaker(stem)
            rows.append(
                ManifestRow(
                    utt_id=f"{part}/{stem}",
                    path=str(audio_dir / fname),
                    label="bonafide" if lab == "real" else "spoof",
                    corpus=corpus,
                    split=split,
                    domain=domain,
                    condition=part,
                    speaker=speaker,
                    language=_language(speaker, part, {}),
                    method=method,
                )
            )
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


def legacy_content_hash(rows: list[ManifestRow]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps([getattr(row, f) for f in HASH_FIELDS], ensure_ascii=True).encode())
        h.update(b"\n")
    return h.hexdigest()

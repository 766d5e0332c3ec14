"""Test and benchmark helpers of the corpus layer: the previous row-by-row Codecfake parser and manifest hash.

Kept as an oracle, independent of the columnar parser and the one-pass hash in ``manifest.py``: the tests check the
fast code against it (tests/corpus/test_fast_parse.py) and the dry run measures old against new on the same files
(bench/scale.py via bench/scale_legacy.py). One ``ManifestRow`` per label line through pathlib, one ``json.dumps``
per row into the sha256, as before issue 13."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from codecfake.corpus.manifest import ManifestRow
from codecfake.corpus.protocols import _codecfake_audio_dir, _language, codecfake_speaker

# every manifest field but the path, in the canonical order of the content hash
FIELDS_BUT_PATH = (
    "utt_id",
    "label",
    "corpus",
    "split",
    "domain",
    "condition",
    "speaker",
    "language",
    "method",
)


def row_by_row_part(root: Path, part: str, corpus: str = "codecfake") -> list[ManifestRow]:
    """The rows of ``root/label/<part>.txt``, one ``ManifestRow`` per non-blank line."""
    split = part if part in ("train", "dev") else "test"
    domain = "alm" if part.startswith("A") else "codec"
    audio_dir = _codecfake_audio_dir(root, part)
    rows = []
    for line in (root / "label" / f"{part}.txt").read_text(encoding="utf-8").splitlines():
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
    return rows


def row_by_row_hash(rows: Iterable[ManifestRow]) -> str:
    """sha256 over one JSON list of the fields but the path per row, each followed by a newline."""
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps([getattr(row, f) for f in FIELDS_BUT_PATH], ensure_ascii=True).encode())
        h.update(b"\n")
    return h.hexdigest()


# ---- small fabricated trees in the ASVspoof 5 / 2021 and CodecFake+ formats (tests of parsers and the ingest check)


def write_lines(path: Path, lines: Iterable[str]) -> Path:
    """A protocol / label file with one line per item (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def write_tone(
    path: Path, *, seed: int = 0, seconds: float = 0.25, rate_hz: int = 16000, level: float = 0.1
) -> Path:
    """A short noisy tone (distinct per seed; ``level`` 0 writes digital silence) as wav / flac by suffix."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    x = level * (np.sin(2 * np.pi * rng.uniform(100, 400) * t) + 0.1 * rng.standard_normal(t.size))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x.astype(np.float32), rate_hz)
    return path


def asv5_line(utt: str, *, speaker: str = "E_0001", codec: str = "-", attack: str = "bonafide") -> str:
    """One ASVspoof 5 Track 1 protocol line (ten space-separated columns)."""
    key = "bonafide" if attack == "bonafide" else "spoof"
    q, seed = ("-", "-") if codec == "-" else ("3", utt)
    return f"{speaker} {utt} F {codec} {q} {seed} {'-' if key == 'bonafide' else 'AC1'} {attack} {key} -"

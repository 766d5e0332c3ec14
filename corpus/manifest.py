"""Manifest rows: the one record of an utterance that every stage after the corpus reads.

A ``Manifest`` is an ordered list of ``ManifestRow`` plus the folder that relative paths are resolved against.
Protocol parsers (``codecfake.corpus.protocols``) produce manifests; nothing downstream parses protocol files again.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from codecfake.errors import CodecfakeError

LABELS: dict[str, int] = {"bonafide": 0, "spoof": 1}
SPLITS: tuple[str, ...] = ("train", "dev", "test")


class ManifestError(CodecfakeError):
    """A manifest or protocol file is malformed (duplicate ids, unknown labels, missing audio …)."""


@dataclass(frozen=True)
class ManifestRow:
    """One utterance. ``path`` is absolute or relative to ``Manifest.root``; label 0/1 via ``LABELS[row.label]``."""

    utt_id: str
    path: str
    label: str  # "bonafide" | "spoof"
    corpus: str
    split: str  # "train" | "dev" | "test"
    domain: str  # "codec" | "vocoder" | "alm" | "wild" | …
    condition: str  # "C1".."C7", "A1".."A3", "train", "dev", "A01".."A19", "bonafide", "ITW", …
    speaker: str = ""
    language: str = ""
    method: str = ""

    @property
    def label_int(self) -> int:
        """0 = bona fide, 1 = spoof."""
        return LABELS[self.label]


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ManifestRow))
# The identity of a clip set: every field but ``path`` (moving a corpus or absolutising paths keeps the hash).
_HASH_FIELDS: tuple[str, ...] = tuple(f for f in FIELDS if f != "path")


class Manifest:
    """Ordered manifest rows plus ``root`` (the folder relative ``path`` values are resolved against)."""

    def __init__(self, rows: Iterable[ManifestRow], root: str | Path = ".", name: str = "") -> None:
        self.rows: tuple[ManifestRow, ...] = tuple(rows)
        self.root = Path(root)
        self.name = name or (self.rows[0].corpus if self.rows else "")

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[ManifestRow]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> ManifestRow:
        return self.rows[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Manifest) and self.rows == other.rows

    def __repr__(self) -> str:
        return f"Manifest(name={self.name!r}, n={len(self)}, root={str(self.root)!r})"

    def resolve(self, row: ManifestRow) -> Path:
        """Absolute path of ``row``'s audio."""
        p = Path(row.path)
        return p if p.is_absolute() else self.root / p

    def content_hash(self) -> str:
        """sha256 (hex) over the canonical rows in order, all fields except ``path``."""
        h = hashlib.sha256()
        for row in self.rows:
            h.update(json.dumps([getattr(row, f) for f in _HASH_FIELDS], ensure_ascii=True).encode())
            h.update(b"\n")
        return h.hexdigest()

    def validate(self, check_paths: bool = True) -> Manifest:
        """Raise ``ManifestError`` on duplicate ``utt_id``, unknown label/split, empty fields or missing audio."""
        problems: list[str] = []
        dupes = [u for u, n in Counter(r.utt_id for r in self.rows).items() if n > 1]
        if dupes:
            problems.append(f"{len(dupes)} duplicate utt_id (e.g. {dupes[:3]})")
        bad_label = sorted({r.label for r in self.rows} - set(LABELS))
        if bad_label:
            problems.append(f"unknown labels {bad_label} (expected {sorted(LABELS)})")
        bad_split = sorted({r.split for r in self.rows} - set(SPLITS))
        if bad_split:
            problems.append(f"unknown splits {bad_split} (expected {list(SPLITS)})")
        empty = [r.utt_id for r in self.rows if not (r.utt_id and r.path and r.corpus and r.domain and r.condition)]
        if empty:
            problems.append(f"{len(empty)} rows with an empty utt_id/path/corpus/domain/condition (e.g. {empty[:3]})")
        fix = "Fix the protocol/CSV"
        if check_paths:
            missing = [r for r in self.rows if not self.resolve(r).is_file()]
            if missing:
                problems.append(self._missing_problem(missing))
                fix = self._missing_fix(missing)
        if problems:
            raise ManifestError(f"manifest {self.name!r} (root {self.root}) is invalid: " + "; ".join(problems)
                                + f". {fix}.")
        return self

    def _missing_problem(self, missing: list[ManifestRow]) -> str:
        """"2 audio files missing, in part A3: 2 of 5 (e.g. [...])": per part (the rows' condition: label file)."""
        total = Counter(r.condition for r in self.rows)
        per_part = Counter(r.condition for r in missing)
        parts = ", ".join(f"{c}: {n} of {total[c]}" for c, n in sorted(per_part.items()))
        return (f"{len(missing)} audio files missing, in part{'s' if len(per_part) > 1 else ''} {parts} "
                f"(e.g. {[str(self.resolve(r)) for r in missing[:3]]})")

    def _missing_fix(self, missing: list[ManifestRow]) -> str:
        """The command-line ways past missing audio (--parts / --allow-missing), then Python's."""
        bad = {r.condition for r in missing}
        rest = [c for c in dict.fromkeys(r.condition for r in self.rows) if c not in bad]
        leave_out = f"`make features PARTS={','.join(rest)}` (`codecfake features --parts …`)" if rest else "PARTS="
        return (f"Restore the files (or remove their rows from the protocol/CSV); or leave the part out with "
                f"{leave_out}; or extract it with the missing clips recorded as rejects with `--allow-missing` "
                f"(Python: load_manifest(..., check_paths=False))")

    def select(self, **criteria: str | Collection[str] | None) -> Manifest:
        """Rows whose fields match: ``select(split="test", condition=["C1", "C2"])``; None means any."""
        unknown = set(criteria) - set(FIELDS)
        if unknown:
            raise ManifestError(f"select(): unknown fields {sorted(unknown)}; known: {list(FIELDS)}")
        wanted = {k: ({v} if isinstance(v, str) else set(v)) for k, v in criteria.items() if v is not None}
        rows = [r for r in self.rows if all(getattr(r, k) in vs for k, vs in wanted.items())]
        return Manifest(rows, self.root, self.name)

    def counts(self) -> list[tuple[str, str, str, int]]:
        """(split, label, condition, n) for every combination present, sorted by split order then names."""
        c = Counter((r.split, r.label, r.condition) for r in self.rows)
        order = {s: i for i, s in enumerate(SPLITS)}
        return [(s, lab, cond, n) for (s, lab, cond), n in sorted(c.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0]))]

    def to_csv(self, path: str | Path, absolute_paths: bool = False) -> Path:
        """Write the rows with a header of the manifest fields; paths as stored unless ``absolute_paths``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(FIELDS)
            for r in self.rows:
                values = dataclasses.astuple(r)
                if absolute_paths:
                    values = (r.utt_id, str(self.resolve(r).resolve()), *values[2:])
                w.writerow(values)
        return path

    @classmethod
    def read_csv(cls, path: str | Path, root: str | Path | None = None, name: str = "") -> Manifest:
        """Read a CSV with at least ``utt_id,path,label`` (other fields default); root defaults to the CSV's folder."""
        path = Path(path)
        if not path.is_file():
            raise ManifestError(f"manifest CSV {path} not found; write one with Manifest.to_csv or check the path")
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            need = {"utt_id", "path", "label"}
            if not need <= set(header):
                raise ManifestError(
                    f"{path}: header {header} lacks {sorted(need - set(header))}; expected columns {list(FIELDS)}"
                )
            extra = set(header) - set(FIELDS)
            if extra:
                raise ManifestError(f"{path}: unknown columns {sorted(extra)}; allowed: {list(FIELDS)}")
            corpus_default = name or path.stem
            rows = []
            for i, rec in enumerate(reader, start=2):
                values = {k: (rec.get(k) or "").strip() for k in FIELDS}
                if not values["utt_id"] or not values["path"]:
                    raise ManifestError(f"{path} line {i}: empty utt_id or path")
                values["corpus"] = values["corpus"] or corpus_default
                values["split"] = values["split"] or "test"
                values["domain"] = values["domain"] or "unknown"
                values["condition"] = values["condition"] or values["corpus"]
                rows.append(ManifestRow(**values))
        return cls(rows, root if root is not None else path.parent, name or corpus_default)

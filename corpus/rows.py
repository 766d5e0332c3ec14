"""Manifest rows and their container: the one record of an utterance that every stage after the corpus reads.

A ``Manifest`` is an ordered list of ``ManifestRow`` plus the folder that relative paths are resolved against.
Protocol parsers (``codecfake.corpus.protocols``) produce manifests, ``load_manifest`` (``codecfake.corpus.manifest``,
which re-exports these names) picks the parser of a dataset kind; nothing downstream parses protocol files again.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from operator import attrgetter
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
_HASH_CHUNK = 65536  # rows per piece of the canonical byte stream (bounds the memory of content_hash)
_new_object = object.__new__


def rows_from_columns(columns: Mapping[str, Sequence[str]]) -> tuple[ManifestRow, ...]:
    """``ManifestRow`` objects from equal-length columns (one per field), without the frozen ``__init__``'s ten
    ``object.__setattr__`` calls per row (the dataclass has no ``__post_init__``, so the result is the same)."""
    out = []
    for values in zip(*(columns[f] for f in FIELDS)):
        row = _new_object(ManifestRow)
        row.__dict__.update(zip(FIELDS, values))
        out.append(row)
    return tuple(out)


class _Literals(dict):
    """value -> its JSON string literal (ensure_ascii) + ``sep``, made on first sight. TypeError on a non-str value."""

    def __init__(self, sep: str) -> None:
        super().__init__()
        self.sep = sep

    def __missing__(self, value: str) -> str:
        self[value] = literal = encode_basestring_ascii(value) + self.sep
        return literal


def canonical_chunks(columns: Sequence[Sequence[str]]) -> Iterator[bytes]:
    """The hash stream: per row ``json.dumps([fields], ensure_ascii=True) + "\n"``, built column-wise in chunks.

    A row is ``[`` e1 ``, `` e2 ``, `` … e9 ``]\n`` (e: the JSON literal of a field). A column of few distinct values
    (label, split …) maps each value to its literal with the separator after it; other columns are encoded value by
    value (the C JSON encoder) with the separator in its own slot. Slots are filled by slice assignment, and the
    "[" opening each row rides on the previous row's "]\n[" (the chunk's last one is cut)."""
    n, k = (len(columns[0]) if columns else 0), len(columns)
    if not n:
        return
    seps = [", "] * (k - 1) + ["]\n["]
    cached = [len(set(col[:4096])) * 8 < len(col[:4096]) for col in columns]  # few distinct values?
    width = sum(1 if c else 2 for c in cached)
    tables = [_Literals(sep).__getitem__ for sep in seps]
    for lo in range(0, n, _HASH_CHUNK):
        m = min(n - lo, _HASH_CHUNK)
        flat: list[str] = [""] * (m * width)
        slot = 0
        for col, sep, is_cached, table in zip(columns, seps, cached, tables):
            part = col[lo : lo + m]
            if is_cached:
                flat[slot::width] = list(map(table, part))
            else:
                flat[slot::width] = list(map(encode_basestring_ascii, part))
                flat[slot + 1 :: width] = [sep] * m
            slot += 1 if is_cached else 2
        yield ("[" + "".join(flat)[:-1]).encode("ascii")


class Manifest:
    """Ordered manifest rows plus ``root`` (the folder relative ``path`` values are resolved against).

    Parsers build one from columns (``from_columns``): the rows are then made on first use, and ``content_hash``,
    ``validate`` and ``column`` work on the columns, so a 1.1 M-row corpus parses and hashes in seconds."""

    def __init__(self, rows: Iterable[ManifestRow], root: str | Path = ".", name: str = "") -> None:
        self._rows: tuple[ManifestRow, ...] | None = tuple(rows)
        self._columns: dict[str, list[str]] | None = None
        self.root = Path(root)
        self.name = name or (self._rows[0].corpus if self._rows else "")

    @classmethod
    def from_columns(
        cls, columns: Mapping[str, Sequence[str]], root: str | Path = ".", name: str = ""
    ) -> Manifest:
        """A manifest from one equal-length column of str per field of ``FIELDS`` (rows are built lazily)."""
        if set(columns) != set(FIELDS) or len({len(c) for c in columns.values()}) > 1:
            raise ManifestError(
                f"from_columns: need equal-length columns {list(FIELDS)}, got "
                f"{ {k: len(v) for k, v in columns.items()} }"
            )
        m = cls((), root, name)
        m._rows = None
        m._columns = {f: c if isinstance(c, list) else list(c) for f, c in ((f, columns[f]) for f in FIELDS)}
        m.name = name or (m._columns["corpus"][0] if m._columns["corpus"] else "")
        return m

    @property
    def rows(self) -> tuple[ManifestRow, ...]:
        if self._rows is None:
            self._rows = rows_from_columns(self._columns)  # type: ignore[arg-type]  # columns are set while rows are not
        return self._rows

    def column(self, field: str) -> list[str]:
        """Every row's value of ``field``, in order (a list; do not modify it)."""
        if self._columns is not None:
            return self._columns[field]
        return list(map(attrgetter(field), self.rows))

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else len(self._columns["utt_id"])  # type: ignore[index]  # as in rows

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
        """sha256 (hex) over the canonical rows in order, all fields except ``path``: per row the bytes of
        ``json.dumps([field values], ensure_ascii=True) + "\\n"`` (see ``canonical_chunks``)."""
        h = hashlib.sha256()
        try:
            for chunk in canonical_chunks([self.column(f) for f in _HASH_FIELDS]):
                h.update(chunk)
        except TypeError:  # a non-str field value (rows built by hand): json.dumps renders it, row by row
            h = hashlib.sha256()
            for row in self.rows:
                h.update(json.dumps([getattr(row, f) for f in _HASH_FIELDS], ensure_ascii=True).encode())
                h.update(b"\n")
        return h.hexdigest()

    def validate(self, check_paths: bool = True) -> Manifest:
        """Raise ``ManifestError`` on duplicate ``utt_id``, unknown label/split, empty fields or missing audio."""
        problems: list[str] = []
        utt = self.column("utt_id")
        if len(set(utt)) != len(utt):
            dupes = [u for u, n in Counter(utt).items() if n > 1]
            problems.append(f"{len(dupes)} duplicate utt_id (e.g. {dupes[:3]})")
        bad_label = sorted(set(self.column("label")) - set(LABELS))
        if bad_label:
            problems.append(f"unknown labels {bad_label} (expected {sorted(LABELS)})")
        bad_split = sorted(set(self.column("split")) - set(SPLITS))
        if bad_split:
            problems.append(f"unknown splits {bad_split} (expected {list(SPLITS)})")
        required = ("utt_id", "path", "corpus", "domain", "condition")
        if not all(all(self.column(f)) for f in required):  # some row has an empty required field
            empty = [
                r.utt_id
                for r in self.rows
                if not (r.utt_id and r.path and r.corpus and r.domain and r.condition)
            ]
            problems.append(
                f"{len(empty)} rows with an empty utt_id/path/corpus/domain/condition (e.g. {empty[:3]})"
            )
        fix = "Fix the protocol/CSV"
        if check_paths:
            missing = [r for r in self.rows if not self.resolve(r).is_file()]
            if missing:
                problems.append(self._missing_problem(missing))
                fix = self._missing_fix(missing)
        if problems:
            raise ManifestError(
                f"manifest {self.name!r} (root {self.root}) is invalid: " + "; ".join(problems) + f". {fix}."
            )
        return self

    def _missing_problem(self, missing: list[ManifestRow]) -> str:
        """ "2 audio files missing, in part A3: 2 of 5 (e.g. [...])": per part (the rows' condition: label file)."""
        total = Counter(r.condition for r in self.rows)
        per_part = Counter(r.condition for r in missing)
        parts = ", ".join(f"{c}: {n} of {total[c]}" for c, n in sorted(per_part.items()))
        return (
            f"{len(missing)} audio files missing, in part{'s' if len(per_part) > 1 else ''} {parts} "
            f"(e.g. {[str(self.resolve(r)) for r in missing[:3]]})"
        )

    def _missing_fix(self, missing: list[ManifestRow]) -> str:
        """The command-line ways past missing audio (--parts / --allow-missing), then Python's."""
        bad = {r.condition for r in missing}
        rest = [c for c in dict.fromkeys(r.condition for r in self.rows) if c not in bad]
        leave_out = (
            f"`make features PARTS={','.join(rest)}` (`codecfake features --parts …`)" if rest else "PARTS="
        )
        return (
            f"Restore the files (or remove their rows from the protocol/CSV); or leave the part out with "
            f"{leave_out}; or extract it with the missing clips recorded as rejects with `--allow-missing` "
            f"(Python: load_manifest(..., check_paths=False))"
        )

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
        return [
            (s, lab, cond, n)
            for (s, lab, cond), n in sorted(c.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0]))
        ]

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
            raise ManifestError(
                f"manifest CSV {path} not found; write one with Manifest.to_csv or check the path"
            )
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

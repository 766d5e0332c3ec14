"""A dataset as parts: one manifest per label file / protocol, each its own feature set (extract once, extend later).

Parts (``--parts`` / ``PARTS=``):
- Codecfake: one per ``label/<part>.txt`` found — ``train, dev, C1..C7, C3-1..C3-4, C4-1..C4-3, A1..A3``.
- ASVspoof 2019 LA: one per CM protocol — ``train, dev, eval`` (eval rows have split "test").
- ASVspoof 5: ``train, dev, eval``; ASVspoof 2021 LA / DF: the key's subsets ``progress, eval, hidden``; CodecFake+:
  ``train, dev, CoRS, CoSG`` (``corpus.parted_readers``).
- In-the-Wild and CSV: one part, the whole file (no ``--parts``).

A part whose label file names audio that is not on disk is refused (``MissingPartAudio``: the part, how many files,
examples, and the ``PARTS=`` that leaves it out) unless ``allow_missing``, which extracts it with the missing clips
recorded as rejects. Every selected part is checked before anything is extracted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from codecfake.corpus.manifest import Manifest, ManifestError, load_manifest
from codecfake.corpus.parted_readers import READERS
from codecfake.corpus.protocols import CODECFAKE_PARTS, LA_PARTS, parse_asvspoof2019, parse_codecfake

PARTED_KINDS = ("codecfake", "asvspoof2019", *READERS)


class MissingPartAudio(ManifestError):
    """A selected part's protocol names audio files that are not on disk."""


class UnknownPart(ManifestError):
    """``--parts`` names a part the dataset does not have."""


@dataclass(frozen=True)
class CorpusPart:
    """One part of a dataset: ``name`` ("" for a one-part dataset), its manifest and the audio it lacks."""

    name: str
    manifest: Manifest
    missing: tuple[str, ...] = ()  # absolute paths of absent audio files (kept as rejects with allow_missing)


def available_parts(kind: str, root: str | Path) -> tuple[str, ...]:
    """The parts of ``kind`` present under ``root`` (their label file / protocol exists), in the paper's order."""
    root = Path(root)
    if kind == "codecfake":
        return tuple(p for p in CODECFAKE_PARTS if (root / "label" / f"{p}.txt").is_file())
    if kind == "asvspoof2019":
        return tuple(p for p in LA_PARTS if _la_protocol_exists(root, p))
    if kind in READERS:
        return READERS[kind].parts(root)
    return ("",)


def _la_protocol_exists(root: Path, part: str) -> bool:
    name = f"ASVspoof2019.LA.cm.{part}.{'trn' if part == 'train' else 'trl'}.txt"
    return any(
        p.is_file() for p in (root / "ASVspoof2019_LA_cm_protocols" / name, root / name)
    )  # as the parser


def parse_parts(text: str | None) -> tuple[str, ...] | None:
    """``"train,dev,C1"`` -> ("train", "dev", "C1"); None or "" -> None (all parts found)."""
    if not text:
        return None
    return tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip())) or None


def _part_manifest(kind: str, root: Path, part: str) -> Manifest:
    if kind == "codecfake":
        m = parse_codecfake(root, parts=(part,))
    elif kind == "asvspoof2019":
        m = parse_asvspoof2019(root, splits=(LA_PARTS[part],))
    elif kind in READERS:
        m = READERS[kind].parse(root, parts=(part,))
    else:
        return load_manifest(kind, root, check_paths=False)
    return m.validate(check_paths=False)


def missing_audio(manifest: Manifest) -> tuple[str, ...]:
    """Absolute paths of the manifest's audio files that do not exist."""
    return tuple(str(p.absolute()) for p in (manifest.resolve(r) for r in manifest) if not p.is_file())


def load_parts(
    kind: str, root: str | Path, parts: tuple[str, ...] | None = None, *, allow_missing: bool = False
) -> list[CorpusPart]:
    """The selected parts of a dataset (default: every part found), each checked for missing audio.

    Raises ``UnknownPart`` for a part not on disk, ``MissingPartAudio`` (naming every incomplete part and the
    ``PARTS=`` without them) unless ``allow_missing``."""
    root = Path(root)
    found = available_parts(kind, root)
    if kind not in PARTED_KINDS:
        if parts:
            raise UnknownPart(
                f"--parts {','.join(parts)}: --data {kind} is one part (the whole file); "
                f"parts exist for {', '.join(PARTED_KINDS)} only — drop PARTS="
            )
        chosen: tuple[str, ...] = ("",)
    else:
        if not found:  # the parser's own message: what it looked for and where
            if kind in READERS:
                READERS[kind].parse(root)
            elif kind == "codecfake":
                parse_codecfake(root)
            else:
                parse_asvspoof2019(root)
        unknown = [p for p in parts or () if p not in found]
        if unknown:
            raise UnknownPart(
                f"--parts: {unknown} not found under {root} (its parts: {','.join(found)}); "
                f"choose from those, e.g. PARTS={','.join(found)}"
            )
        chosen = parts or found
    out = []
    for name in chosen:
        m = _part_manifest(kind, root, name)
        out.append(CorpusPart(name, m, missing_audio(m)))
    _refuse_missing(kind, root, out, allow_missing)
    return out


def _refuse_missing(kind: str, root: Path, parts: list[CorpusPart], allow_missing: bool) -> None:
    bad = [p for p in parts if p.missing]
    if not bad or allow_missing:
        return
    what = "; ".join(
        f"part {p.name or kind!r}: {len(p.missing)} of {len(p.manifest)} audio files missing "
        f"(e.g. {list(p.missing[:2])})"
        for p in bad
    )
    keep = [p.name for p in parts if not p.missing]
    leave_out = (
        f"leave {'it' if len(bad) == 1 else 'them'} out with PARTS={','.join(keep)} "
        f"(--parts {','.join(keep)}), or "
        if keep and kind in PARTED_KINDS
        else ""
    )
    raise MissingPartAudio(
        f"{root}: {what}. Fetch the files, {leave_out}extract with the missing clips recorded as rejects: "
        f"ALLOW_MISSING=1 (--allow-missing). Nothing was extracted."
    )

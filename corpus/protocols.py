"""Protocol parsers: Codecfake label files, ASVspoof 2019 LA CM protocols, In-the-Wild ``meta.csv``, plain CSV.

Each returns a ``Manifest`` with paths relative to the dataset root. Formats (as the releases ship them):
- Codecfake ``label/<part>.txt``: ``<file.wav> <real|fake> <method>``; audio in ``train/``, ``dev/``, ``test/<part>/``.
- ASVspoof 2019 LA: ``<speaker> <file> - <attack|-> <bonafide|spoof>``; audio in ``ASVspoof2019_LA_<part>/flac/``.
- In-the-Wild: ``meta.csv`` with ``file,speaker,label`` (label ``spoof`` | ``bona-fide``), audio beside it.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from codecfake.corpus.rows import FIELDS, Manifest, ManifestError, ManifestRow

# The release's codec-configuration variant test sets (result/C3-1_result.txt …): conditions when label/C3-1.txt exists.
CODECFAKE_VARIANTS: tuple[str, ...] = (*(f"C3-{k}" for k in range(1, 5)), *(f"C4-{k}" for k in range(1, 4)))
CODECFAKE_PARTS: tuple[str, ...] = (
    "train",
    "dev",
    *(f"C{k}" for k in range(1, 8)),
    *CODECFAKE_VARIANTS,
    *(f"A{k}" for k in range(1, 4)),
)
_FAKE_PREFIX = re.compile(r"^(F0\d|L\d|C\d-\d)_")
_FAKE_PREFIX_NL = re.compile(
    r"\n(?:F0\d|L\d|C\d-\d)_"
)  # the same after every "\n" (literal-led: fast search)
# PurePath.suffix of one component: the last "." (not the first char, not the last) and what follows it
_SUFFIX_LINES = re.compile(r"(?<=[^\n])\.[^.\n]+$", re.MULTILINE)
_LA_PARTS = {"train": ("train", "trn"), "dev": ("dev", "trl"), "test": ("eval", "trl")}
LA_PARTS: dict[str, str] = {part: split for split, (part, _) in _LA_PARTS.items()}  # protocol part -> split


def _read_speakers(root: Path) -> dict[str, str]:
    """Optional ``speakers.tsv`` (``speaker<TAB>language``) beside the label folder: the demo corpus writes one."""
    f = root / "speakers.tsv"
    if not f.is_file():
        return {}
    out = {}
    for line in f.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0] != "speaker":
            out[parts[0]] = parts[1]
    return out


def codecfake_speaker(stem: str) -> str:
    """Speaker of a Codecfake file stem: ``F03_p225_001`` → ``p225``, ``SSB05440084`` → ``SSB0544``."""
    return _real_speaker(_FAKE_PREFIX.sub("", stem))


def _real_speaker(real: str) -> str:
    """Speaker of a real (prefix-free) Codecfake name (inlined in ``_codecfake_part``: keep the two equal)."""
    if real.startswith("SSB") and len(real) >= 7:
        return real[:7]
    if "_" in real:
        return real.rsplit("_", 1)[0]
    return ""


def _language(speaker: str, part: str, speakers: dict[str, str]) -> str:
    if speaker in speakers:
        return speakers[speaker]
    if speaker.startswith("p") and speaker[1:].isdigit():
        return "en"  # VCTK
    if speaker.startswith("SSB"):
        return "zh"  # AISHELL-3
    return "" if part != "A3" else "audio"


def _codecfake_audio_dir(root: Path, part: str) -> Path:
    if part in ("train", "dev"):
        return Path(part)
    for cand in (
        Path("test") / part,
        Path(part),
    ):  # the release uses test/Cx; the official code joins <root>/<Cx>
        if (root / cand).is_dir():
            return cand
    return Path("test") / part


def parse_codecfake(
    root: Path, *, corpus: str = "codecfake", parts: tuple[str, ...] | None = None
) -> Manifest:
    """All ``label/<part>.txt`` files found under ``root`` (or the named ``parts``) as one manifest."""
    root = Path(root)
    label_dir = root / "label"
    if not label_dir.is_dir():
        raise ManifestError(
            f"{label_dir} not found: expected a Codecfake root holding label/{{train,dev,C1..C7,A1..A3}}.txt "
            f"(the demo: `codecfake corpus demo --out DIR`, then pass DIR/codec)"
        )
    wanted = parts or tuple(p for p in CODECFAKE_PARTS if (label_dir / f"{p}.txt").is_file())
    if not wanted:
        raise ManifestError(f"{label_dir} holds none of {[p + '.txt' for p in CODECFAKE_PARTS]}")
    speakers = _read_speakers(root)
    columns: dict[str, list[str]] = {f: [] for f in FIELDS}
    for part in wanted:
        for f, values in _codecfake_part(root, label_dir / f"{part}.txt", part, corpus, speakers).items():
            columns[f].extend(values)
    return Manifest.from_columns(columns, root, corpus)


def _label_columns(label_file: Path) -> tuple[list[str], list[str], list[str], str]:
    """(file names, real/fake, methods, text) of a label file; a malformed line raises naming its number.

    Whole-text string operations only (no list per line: 1 M small lists cost seconds of garbage collection)."""
    text = label_file.read_text(encoding="utf-8")
    lines = text.splitlines()
    widths = set(
        map(len, map(str.split, lines))
    )  # every line break is whitespace: text.split() == their tokens
    tokens = text.split() if widths <= {0, 3} else []
    names, labs, methods = tokens[0::3], tokens[1::3], tokens[2::3]
    if not widths <= {0, 3} or not set(labs) <= {"real", "fake"}:
        for n, line in enumerate(lines, start=1):
            c = line.split()
            if c and (len(c) != 3 or c[1] not in ("real", "fake")):
                raise ManifestError(
                    f"{label_file} line {n}: expected '<file.wav> <real|fake> <method>', found {line!r}"
                )
    return names, labs, methods, text


def _stems_joined(joined: str, n: int) -> str:
    """``Path(name).stem`` of each line of ``joined`` (``n`` one-component names), one pass over the text."""
    if (joined + "\n").count(".wav\n") == n and "\n.wav\n" not in f"\n{joined}\n":  # all "<something>.wav"
        return (joined + "\n").replace(".wav\n", "\n")[:-1]
    return _SUFFIX_LINES.sub("", joined)


def _prefixed(prefix: str, joined: str) -> list[str]:
    """``[prefix + v for v in joined.split("\n")]`` as two C-level string operations."""
    return (prefix + joined.replace("\n", "\n" + prefix)).split("\n")


def _codecfake_part(
    root: Path, label_file: Path, part: str, corpus: str, speakers: dict[str, str]
) -> dict[str, list[str]]:
    """The manifest columns of one label file (``FIELDS`` -> one value per non-blank line)."""
    if not label_file.is_file():
        raise ManifestError(f"{label_file} not found (Codecfake part {part!r})")
    split = part if part in ("train", "dev") else "test"
    domain = "alm" if part.startswith("A") else "codec"
    audio_dir = _codecfake_audio_dir(root, part)
    names, labs, methods, text = _label_columns(label_file)
    n = len(names)
    joined = "\n".join(names)  # no name holds whitespace, so "\n" separates them unambiguously
    if (
        n and "/" not in text and "\n.\n" not in f"\n{joined}\n"
    ):  # one path component each: str ops == pathlib
        stems_joined = _stems_joined(joined, n)
        stems = stems_joined.split("\n")
        utt_ids, paths = _prefixed(f"{part}/", stems_joined), _prefixed(f"{audio_dir}/", joined)
    else:
        stems = [Path(f).stem for f in names]
        stems_joined = "\n".join(stems)
        utt_ids, paths = [f"{part}/{s}" for s in stems], [str(audio_dir / f) for f in names]
    reals = (
        _FAKE_PREFIX_NL.sub("\n", "\n" + stems_joined)[1:].split("\n") if n else []
    )  # codecfake_speaker's strip
    speaker_of = {r: r[:7] if r[:3] == "SSB" and len(r) >= 7 else r.rpartition("_")[0] for r in set(reals)}
    spk = list(map(speaker_of.__getitem__, reals))
    lang_of = {s: _language(s, part, speakers) for s in set(spk)}
    return {
        "utt_id": utt_ids,
        "path": paths,
        "label": list(map({"real": "bonafide", "fake": "spoof"}.__getitem__, labs)),
        "corpus": [corpus] * n,
        "split": [split] * n,
        "domain": [domain] * n,
        "condition": [part] * n,
        "speaker": spk,
        "language": list(map(lang_of.__getitem__, spk)),
        "method": methods,
    }


def _find_la_protocol(root: Path, part: str, ext: str) -> Path:
    name = f"ASVspoof2019.LA.cm.{part}.{ext}.txt"
    for cand in (root / "ASVspoof2019_LA_cm_protocols" / name, root / name):
        if cand.is_file():
            return cand
    raise ManifestError(
        f"ASVspoof 2019 LA protocol {name} not found under {root} (looked in ASVspoof2019_LA_cm_protocols/ and the "
        f"root); pass the LA/ folder that holds ASVspoof2019_LA_cm_protocols/"
    )


def parse_asvspoof2019(
    root: Path,
    *,
    corpus: str = "asvspoof2019la",
    domain: str = "vocoder",
    splits: tuple[str, ...] = ("train", "dev", "test"),
) -> Manifest:
    """ASVspoof 2019 LA CM protocols for ``splits`` (eval → split "test"); condition = attack id or "bonafide"."""
    root = Path(root)
    languages = _read_speakers(root)  # the demo writes speakers.tsv; the real LA is all English
    rows: list[ManifestRow] = []
    for split in splits:
        part, ext = _LA_PARTS[split]
        proto = _find_la_protocol(root, part, ext)
        audio_dir = Path(f"ASVspoof2019_LA_{part}") / "flac"
        for n, line in enumerate(proto.read_text(encoding="utf-8").splitlines(), start=1):
            cols = line.split()
            if not cols:
                continue
            if len(cols) != 5 or cols[4] not in ("bonafide", "spoof"):
                raise ManifestError(
                    f"{proto} line {n}: expected '<speaker> <file> - <attack|-> <bonafide|spoof>', found {line!r}"
                )
            speaker, fname, _, attack, label = cols
            attack_id = "bonafide" if label == "bonafide" else attack
            rows.append(
                ManifestRow(
                    utt_id=fname,
                    path=str(audio_dir / f"{fname}.flac"),
                    label=label,
                    corpus=corpus,
                    split=split,
                    domain=domain,
                    condition=attack_id,
                    speaker=speaker,
                    language=languages.get(speaker, "en"),
                    method=attack_id,
                )
            )
    return Manifest(rows, root, corpus)


def parse_itw(root: Path, *, corpus: str = "itw") -> Manifest:
    """In-the-Wild ``meta.csv`` (``file,speaker,label``): every row a test row of condition "ITW"."""
    root = Path(root)
    meta = root / "meta.csv"
    if not meta.is_file():
        raise ManifestError(
            f"{meta} not found: pass the release_in_the_wild/ folder that holds meta.csv and the wavs"
        )
    rows = []
    with meta.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if set(reader.fieldnames or []) < {"file", "speaker", "label"}:
            raise ManifestError(f"{meta}: header {reader.fieldnames}, expected file,speaker,label")
        for n, rec in enumerate(reader, start=2):
            lab = rec["label"].strip().lower()
            if lab not in ("spoof", "bona-fide", "bonafide"):
                raise ManifestError(f"{meta} line {n}: label {rec['label']!r}, expected spoof or bona-fide")
            label = "spoof" if lab == "spoof" else "bonafide"
            rows.append(
                ManifestRow(
                    utt_id=Path(rec["file"]).stem,
                    path=rec["file"].strip(),
                    label=label,
                    corpus=corpus,
                    split="test",
                    domain="wild",
                    condition="ITW",
                    speaker=rec["speaker"].strip(),
                    language="en",
                    method="unknown" if label == "spoof" else "bonafide",
                )
            )
    return Manifest(rows, root, corpus)

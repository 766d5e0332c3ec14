"""ASVspoof 2021 LA and DF evaluation keys (``LA-keys-full.tar.gz``, ``DF-keys-full.tar.gz``) → manifest rows.

Formats (the organisers' evaluation package, README "On meta-labels" and ``config.py``), space-separated:

    LA (8 columns):  speaker trial codec transmission attack key trim subset
                     LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval
    DF (13 columns): speaker trial codec source attack key trim subset vocoder task team gender-pair language
                     LA_0023 DF_E_2000011 nocodec asvspoof A14 spoof notrim progress traditional_vocoder - - - -

Key file: ``keys/<LA|DF>/CM/trial_metadata.txt`` (as the key tarball unpacks), ``<LA|DF>/CM/``, ``CM/`` or the root.
Audio: ``ASVspoof2021_<LA|DF>_eval/flac/<trial>.flac`` (or ``flac/``). Parts = the key's subsets ``progress``,
``eval`` and ``hidden``; every row has split "test" (2021 has no training data: train on 2019 LA).

Rows: utt_id = trial; label = key; condition = the codec condition in the organisers' numbering, shared by bona fide
and spoof: LA ``LA21-C1`` … ``LA21-C7`` (none, alaw, pstn, g722, ulaw, gsm, opus), DF ``DF21-C1`` … ``DF21-C9``
(nocodec, low_mp3, high_mp3, low_m4a, high_m4a, low_ogg, high_ogg, mp3m4a, oggm4a); method = ``LA21-`` / ``DF21-``
+ attack (``LA21-A07``, ``DF21-Task1-team20``) or ``bonafide``; speaker = column 1; language ``en`` (DF: its language
column when given); domain ``vocoder``. Not in the manifest, read by ``factors``: LA transmission and trim; DF source
corpus (asvspoof, vcc2018, vcc2020), vocoder type and trim.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from codecfake.corpus.protocol_text import find_file, read_columns
from codecfake.corpus.rows import Manifest, ManifestError

__all__ = ["TRACKS", "Track", "available_2021_parts", "parse_asvspoof2021", "asvspoof2021_factors"]


class Track:
    """One 2021 track's key layout."""

    def __init__(self, name: str, width: int, codecs: Sequence[str], fmt: str) -> None:
        self.name, self.width, self.fmt = name, width, fmt
        self.prefix = f"{name}21-"
        self.conditions = {c: f"{self.prefix}C{i}" for i, c in enumerate(codecs, start=1)}


TRACKS: dict[str, Track] = {
    "LA": Track(
        "LA",
        8,
        ("none", "alaw", "pstn", "g722", "ulaw", "gsm", "opus"),
        "speaker trial codec transmission attack key trim subset",
    ),
    "DF": Track(
        "DF",
        13,
        ("nocodec", "low_mp3", "high_mp3", "low_m4a", "high_m4a", "low_ogg", "high_ogg", "mp3m4a", "oggm4a"),
        "speaker trial codec source attack key trim subset vocoder task team gender-pair language",
    ),
}
SUBSETS = ("progress", "eval", "hidden")


def _key_file(root: Path, track: Track) -> Path:
    t = track.name
    return find_file(
        root,
        (
            f"keys/{t}/CM/trial_metadata.txt",
            f"{t}/CM/trial_metadata.txt",
            "CM/trial_metadata.txt",
            "trial_metadata.txt",
        ),
        f"ASVspoof 2021 {t} key",
        f"unpack {t}-keys-full.tar.gz (asvspoof.org) into the folder that holds ASVspoof2021_{t}_eval/",
    )


def _audio_dir(root: Path, track: Track) -> str:
    name = f"ASVspoof2021_{track.name}_eval/flac"
    return name if (root / name).is_dir() or not (root / "flac").is_dir() else "flac"


def _columns(root: Path, track: Track) -> tuple[Path, list[list[str]]]:
    path = _key_file(root, track)
    cols = read_columns(path, track.width, track.fmt)
    for col, allowed, what in ((5, {"bonafide", "spoof"}, "key"), (2, set(track.conditions), "codec")):
        bad = sorted(set(cols[col]) - allowed)
        if bad:
            raise ManifestError(
                f"{path}: {what} (column {col + 1}) {bad[0]!r} on data line {cols[col].index(bad[0]) + 1}; expected one "
                f"of {sorted(allowed)} — is this the {track.name} key?"
            )
    return path, cols


def available_2021_parts(root: str | Path, track: str) -> tuple[str, ...]:
    """The subsets present in the track's key, in the order progress, eval, hidden ([] without a key file)."""
    try:
        _, cols = _columns(Path(root), TRACKS[track])
    except ManifestError:
        return ()
    present = set(cols[7])
    return tuple(s for s in SUBSETS if s in present)


def parse_asvspoof2021(
    root: str | Path, track: str, *, corpus: str | None = None, parts: tuple[str, ...] | None = None
) -> Manifest:
    """The key's rows of the chosen subsets (default: all) as one manifest of test rows."""
    root, tr = Path(root), TRACKS[track]
    corpus = corpus or f"asvspoof2021{track.lower()}"
    path, cols = _columns(root, tr)
    unknown = sorted(set(parts or ()) - set(SUBSETS))
    if unknown:
        raise ManifestError(f"{path}: parts {unknown}; the 2021 keys' subsets are {list(SUBSETS)}")
    keep = [i for i, s in enumerate(cols[7]) if parts is None or s in parts]
    speaker, trial, codec, attack, key = ([cols[c][i] for i in keep] for c in (0, 1, 2, 4, 5))
    language = ["en"] * len(keep)
    if tr.name == "DF":
        language = [v if v != "-" else "en" for v in (cols[12][i] for i in keep)]
    audio, n = _audio_dir(root, tr), len(keep)
    out = {
        "utt_id": trial,
        "path": [f"{audio}/{t}.flac" for t in trial],
        "label": key,
        "corpus": [corpus] * n,
        "split": ["test"] * n,
        "domain": ["vocoder"] * n,
        "condition": [tr.conditions[c] for c in codec],
        "speaker": speaker,
        "language": language,
        "method": [
            "bonafide" if k == "bonafide" else tr.prefix + a for a, k in zip(attack, key, strict=True)
        ],
    }
    return Manifest.from_columns(out, root, corpus)


def asvspoof2021_factors(
    root: str | Path, track: str, parts: tuple[str, ...] | None = None
) -> dict[str, dict[str, str]]:
    """{factor: {trial: value}}: LA transmission, trim; DF source, vocoder, trim."""
    tr = TRACKS[track]
    _, cols = _columns(Path(root), tr)
    named = {"trim": 6} | ({"transmission": 3} if tr.name == "LA" else {"source": 3, "vocoder": 8})
    keep = [i for i, s in enumerate(cols[7]) if parts is None or s in parts]
    return {f: {cols[1][i]: cols[c][i] for i in keep} for f, c in named.items()}

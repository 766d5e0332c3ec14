"""ASVspoof 5 Track 1 protocols (``ASVspoof5_protocols.tar.gz`` of the database release) → manifest rows.

Format (the database README, section 3: space-separated despite the ``.tsv`` suffix), ten columns per line:

    SPEAKER_ID FLAC_FILE_NAME SPEAKER_GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY TMP
    E_0935     E_0000000008   M              C07   6       E_0001234567 AC3     A27          spoof -

Parts: ``train`` (``ASVspoof5.train.tsv``, 182,357 lines), ``dev`` (``ASVspoof5.dev.track_1.tsv``, 140,950),
``eval`` (``ASVspoof5.eval.track_1.tsv``, 680,774: rows of split "test"); in ``ASVspoof5_protocols/`` or the root.
Audio: ``flac_T/``, ``flac_D/``, ``flac_E_eval/`` (what the release's tar files unpack to), ``<FLAC_FILE_NAME>.flac``.

Rows: utt_id = FLAC_FILE_NAME; label = KEY; condition = the codec condition ``ASV5-C01`` … ``ASV5-C11``, or
``ASV5-C00`` for an uncoded trial (CODEC ``-``: every train and dev trial), shared by bona fide and spoof trials so the
conditions form a codec robustness table; method = ``ASV5-`` + ATTACK_LABEL (``ASV5-A17``) or ``bonafide``; speaker =
SPEAKER_ID; language ``en`` (Multilingual LibriSpeech English); domain ``vocoder`` (TTS / VC attacks).
Not in the manifest, but read by ``factors``: gender, codec quality, attack tag (attacker adaptation), codec seed.
"""

from __future__ import annotations

from pathlib import Path

from codecfake.corpus.protocol_text import find_file, read_columns
from codecfake.corpus.rows import FIELDS, Manifest, ManifestError

__all__ = ["ASV5_PARTS", "ASV5_PREFIX", "available_asv5_parts", "parse_asvspoof5", "asv5_factors"]

ASV5_PREFIX = "ASV5-"
# part -> (protocol file, split, audio folder)
ASV5_PARTS: dict[str, tuple[str, str, str]] = {
    "train": ("ASVspoof5.train.tsv", "train", "flac_T"),
    "dev": ("ASVspoof5.dev.track_1.tsv", "dev", "flac_D"),
    "eval": ("ASVspoof5.eval.track_1.tsv", "test", "flac_E_eval"),
}
_FORMAT = "SPEAKER_ID FLAC_FILE_NAME SPEAKER_GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY TMP"
_FIX = "pass the folder where ASVspoof5_protocols.tar.gz was unpacked (it holds ASVspoof5_protocols/ or the .tsv files)"


def _protocol(root: Path, part: str) -> Path:
    name = ASV5_PARTS[part][0]
    return find_file(root, (f"ASVspoof5_protocols/{name}", name), f"ASVspoof 5 protocol {name}", _FIX)


def available_asv5_parts(root: str | Path) -> tuple[str, ...]:
    """The parts whose protocol file is under ``root``, in the order train, dev, eval."""
    root = Path(root)
    return tuple(
        p
        for p, (name, _, _) in ASV5_PARTS.items()
        if any((root / d / name).is_file() for d in ("ASVspoof5_protocols", "."))
    )


def _columns(path: Path) -> list[list[str]]:
    cols = read_columns(path, 10, _FORMAT)
    bad = sorted(set(cols[8]) - {"bonafide", "spoof"})
    if bad:
        line = cols[8].index(bad[0]) + 1
        raise ManifestError(
            f"{path}: KEY (column 9) must be bonafide or spoof, found {bad[0]!r} (data line {line})"
        )
    return cols


def _condition(codec: str) -> str:
    return ASV5_PREFIX + ("C00" if codec == "-" else codec)


def parse_asvspoof5(
    root: str | Path, *, corpus: str = "asvspoof5", parts: tuple[str, ...] | None = None
) -> Manifest:
    """The chosen parts (default: every part found) as one manifest (paths relative to ``root``)."""
    root = Path(root)
    chosen = parts or available_asv5_parts(root)
    if not chosen:
        _protocol(root, "train")  # raises, naming the files looked for
    unknown = [p for p in chosen if p not in ASV5_PARTS]
    if unknown:
        raise ManifestError(f"ASVspoof 5 parts {unknown}: expected some of {list(ASV5_PARTS)}")
    out: dict[str, list[str]] = {f: [] for f in FIELDS}
    for part in chosen:
        _, split, audio = ASV5_PARTS[part]
        spk, name, _gender, codec, _q, _seed, _tag, attack, key, _tmp = _columns(_protocol(root, part))
        n = len(name)
        out["utt_id"] += name
        out["path"] += [f"{audio}/{f}.flac" for f in name]
        out["label"] += key
        out["corpus"] += [corpus] * n
        out["split"] += [split] * n
        out["domain"] += ["vocoder"] * n
        out["condition"] += list(map(_condition, codec))
        out["speaker"] += spk
        out["language"] += ["en"] * n
        out["method"] += [a if k == "bonafide" else ASV5_PREFIX + a for a, k in zip(attack, key, strict=True)]
    return Manifest.from_columns(out, root, corpus)


def asv5_factors(root: str | Path, parts: tuple[str, ...] | None = None) -> dict[str, dict[str, str]]:
    """Per-trial metadata the manifest does not carry: {factor: {utt_id: value}} for gender, codec_q, attack_tag."""
    root = Path(root)
    out: dict[str, dict[str, str]] = {"gender": {}, "codec_q": {}, "attack_tag": {}}
    for part in parts or available_asv5_parts(root):
        _spk, name, gender, _codec, q, _seed, tag, _attack, _key, _tmp = _columns(_protocol(root, part))
        out["gender"].update(zip(name, gender, strict=True))
        out["codec_q"].update(zip(name, q, strict=True))
        out["attack_tag"].update(zip(name, tag, strict=True))
    return out

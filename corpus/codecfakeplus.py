"""CodecFake+ (Chen et al., 2025) → manifest rows: its codec re-synthesis (CoRS) and codec-based generation (CoSG)
sets, with the neural-codec taxonomy of its source-tracing work (vector quantisation, auxiliary objective, decoder).

CodecFake+ has no official protocol files yet; the label lists are those its authors released with the source-tracing
code (CodecFake-Source-Tracing, ``metadata/``), space-separated:

    CoRS (train, dev, CoRS test), 7 columns:  speaker stem - AUX DEC VQ key
        p260 p260_075_Encodec_24b24k - Trad TIME MVQ spoof      (bona fide rows: REAL REAL REAL bonafide)
    CoSG (test), 3 or more columns, key last:  SYSTEM stem [- [AUX]] key
        VALLE fisher_1_ours - - spoof        CLAMTTS 0_ours - Trad spoof

Layout under ROOT (the dataset's folders; the lists copied into ``label/``, one per part):
``all_data_16k/<stem>.wav`` (CoRS and its reals), ``SLMdemos_16k/<SYSTEM>/<stem>.wav`` (CoSG), ``label/train.txt``,
``label/dev.txt``, ``label/CoRS.txt``, ``label/CoSG.txt`` (e.g. the release's ``train_mult_learn.txt``,
``dev_mult_learn.txt``, ``CoRS_ALL.txt``, ``CoSG_ALL.txt``).

Rows: utt_id = ``<part>/<stem>`` (CoSG: ``CoSG/<SYSTEM>/<stem>``); label = key; split train / dev / test;
condition ``CFP-train``, ``CFP-dev``, ``CFP-CoRS``, ``CFP-CoSG-<SYSTEM>`` (one per generation system, its prompts as
bona fide); method, the trace target = ``<VQ>-<AUX>-<DEC>:<codec>`` for spoofs (``MVQ-Trad-TIME:Encodec_24b24k``;
``?`` where a list leaves a level unlabelled: CoSG gives at most AUX, and its codec is the system), ``bonafide`` for
reals; codec = the stem after the real utterance's ``<speaker>_<number>_``; speaker = column 1 (CoSG: none);
language ``en``; domain ``codec``. ``taxonomy(method)`` splits a method back into its levels.
"""

from __future__ import annotations

from pathlib import Path

from codecfake.corpus.protocol_text import read_columns
from codecfake.corpus.rows import FIELDS, Manifest, ManifestError

__all__ = [
    "CFP_PARTS",
    "CFP_PREFIX",
    "available_cfp_parts",
    "parse_codecfakeplus",
    "taxonomy",
    "TAXONOMY_LEVELS",
]

CFP_PREFIX = "CFP-"
CFP_PARTS: dict[str, str] = {"train": "train", "dev": "dev", "CoRS": "test", "CoSG": "test"}  # part -> split
TAXONOMY_LEVELS = ("vq", "aux", "dec")
_CORS_FORMAT = "speaker stem - AUX DEC VQ key"
_COSG_FORMAT = "SYSTEM stem [- [AUX]] key"
_KEYS = {"bonafide", "spoof"}


def available_cfp_parts(root: str | Path) -> tuple[str, ...]:
    root = Path(root)
    return tuple(p for p in CFP_PARTS if (root / "label" / f"{p}.txt").is_file())


def taxonomy(method: str) -> dict[str, str]:
    """``"MVQ-Trad-TIME:Encodec_24b24k"`` -> {"vq": "MVQ", "aux": "Trad", "dec": "TIME", "codec": "Encodec_24b24k"}."""
    levels, _, codec = method.partition(":")
    parts = levels.split("-")
    if not codec or len(parts) != 3:
        return {"vq": "", "aux": "", "dec": "", "codec": method}
    return dict(zip(TAXONOMY_LEVELS, parts, strict=True)) | {"codec": codec}


def _check_keys(path: Path, keys: list[str], fmt: str) -> None:
    bad = sorted(set(keys) - _KEYS)
    if bad:
        raise ManifestError(
            f"{path}: key (last column) {bad[0]!r} on data line {keys.index(bad[0]) + 1}; expected bonafide or spoof "
            f"({fmt!r})"
        )


def _cors_rows(root: Path, part: str, path: Path) -> dict[str, list[str]]:
    spk, stem, _, aux, dec, vq, key = read_columns(path, 7, _CORS_FORMAT)
    _check_keys(path, key, _CORS_FORMAT)
    method = [
        "bonafide" if k == "bonafide" else f"{q}-{a}-{d}:{'_'.join(s.split('_')[2:])}"
        for s, a, d, q, k in zip(stem, aux, dec, vq, key, strict=True)
    ]
    n = len(stem)
    return {
        "utt_id": [f"{part}/{s}" for s in stem],
        "path": [f"all_data_16k/{s}.wav" for s in stem],
        "label": key,
        "condition": [CFP_PREFIX + ("CoRS" if part == "CoRS" else part)] * n,
        "speaker": spk,
        "method": method,
    }


def _cosg_rows(root: Path, path: Path) -> dict[str, list[str]]:
    cols = read_columns(path, 3, _COSG_FORMAT, at_least=True)
    system, stem, key = cols
    _check_keys(path, key, _COSG_FORMAT)
    rows = [ln.split() for ln in path.read_text(encoding="utf-8").splitlines() if ln.split()]
    aux = [r[3] if len(r) >= 5 and r[3] != "-" else "?" for r in rows]
    return {
        "utt_id": [f"CoSG/{y}/{s}" for y, s in zip(system, stem, strict=True)],
        "path": [f"SLMdemos_16k/{y}/{s}.wav" for y, s in zip(system, stem, strict=True)],
        "label": key,
        "condition": [f"{CFP_PREFIX}CoSG-{y}" for y in system],
        "speaker": [""] * len(stem),
        "method": [
            "bonafide" if k == "bonafide" else f"?-{a}-?:{y}"
            for y, a, k in zip(system, aux, key, strict=True)
        ],
    }


def parse_codecfakeplus(
    root: str | Path, *, corpus: str = "codecfakeplus", parts: tuple[str, ...] | None = None
) -> Manifest:
    """The chosen parts (default: every ``label/<part>.txt`` found) as one manifest (paths relative to ``root``)."""
    root = Path(root)
    chosen = parts or available_cfp_parts(root)
    if not chosen:
        raise ManifestError(
            f"{root / 'label'}: none of {[p + '.txt' for p in CFP_PARTS]}; copy CodecFake+'s label lists there "
            "(e.g. train_mult_learn.txt -> label/train.txt, CoSG_ALL.txt -> label/CoSG.txt)"
        )
    out: dict[str, list[str]] = {f: [] for f in FIELDS}
    for part in chosen:
        if part not in CFP_PARTS:
            raise ManifestError(f"CodecFake+ part {part!r}: expected one of {list(CFP_PARTS)}")
        path = root / "label" / f"{part}.txt"
        if not path.is_file():
            raise ManifestError(f"{path} not found (CodecFake+ part {part!r})")
        cols = _cosg_rows(root, path) if part == "CoSG" else _cors_rows(root, part, path)
        n = len(cols["utt_id"])
        cols |= {
            "corpus": [corpus] * n,
            "split": [CFP_PARTS[part]] * n,
            "domain": ["codec"] * n,
            "language": ["en"] * n,
        }
        for f in FIELDS:
            out[f] += cols[f]
    return Manifest.from_columns(out, root, corpus)

"""The corpus kinds ``load_manifest`` reads: each kind's default corpus name, and the display name under which its
pooled test set appears in the paper's tables.

A corpus names itself here, at the corpus layer, so that evaluation never needs to know a particular corpus (the
demo's ``mini-19la`` included): ``display_name(corpus)`` is the one lookup. Codecfake-style corpora report per
condition (C1..C7, A1..A3) and need no display name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CorpusKind:
    kind: str  # the `load_manifest` / `codecfake corpus ls` kind
    corpus: (
        str  # default corpus name (ManifestRow.corpus, FeatureSetSpec.corpus, the feature-set key's prefix)
    )
    display: str = ""  # column name of the pooled test set; "" -> the corpus name itself


CORPUS_KINDS: tuple[CorpusKind, ...] = (
    CorpusKind("codecfake", "codecfake"),
    CorpusKind("asvspoof2019", "asvspoof2019la", display="19LA"),
    CorpusKind("itw", "itw", display="ITW"),
    CorpusKind("csv", ""),  # corpus name = the CSV's own corpus column, else the file stem
    CorpusKind("demo-codec", "mini-codecfake"),
    CorpusKind(
        "demo-vocoder", "mini-19la", display="19LA"
    ),  # the demo's vocoder domain, ASVspoof 2019 LA style
    # parted readers (corpus/parted_readers.py): codec conditions shared by bona fide and spoof, so their test sets
    # are reported per condition; the display name titles the corpus' pooled set (one threshold over all its trials)
    CorpusKind("asvspoof5", "asvspoof5", display="ASV5"),
    CorpusKind("asvspoof2021la", "asvspoof2021la", display="LA21"),
    CorpusKind("asvspoof2021df", "asvspoof2021df", display="DF21"),
    CorpusKind("codecfakeplus", "codecfakeplus", display="CFP"),
)
KINDS: tuple[str, ...] = tuple(k.kind for k in CORPUS_KINDS)
DEMO_KINDS: tuple[str, ...] = (
    "demo-codec",
    "demo-vocoder",
)  # the two halves of one demo folder (`--data demo`)
# their corpus names (FeatureSetSpec.corpus of the sets `codecfake features --data demo` writes)
DEMO_CORPORA: tuple[str, ...] = tuple(k.corpus for k in CORPUS_KINDS if k.kind in DEMO_KINDS)
_BY_KIND = {k.kind: k for k in CORPUS_KINDS}
# corpus name (lower case) -> display name; "asvspoof2019" is the kind's name, accepted as a corpus name too
DISPLAY_NAMES: dict[str, str] = {"asvspoof2019": "19LA"} | {
    k.corpus: k.display for k in CORPUS_KINDS if k.display
}


def corpus_kind(kind: str) -> CorpusKind | None:
    """The registry entry of `kind` (None for an unknown kind)."""
    return _BY_KIND.get(kind)


def is_demo_corpus(corpus: str) -> bool:
    """True for the demo's corpora (mini-codecfake, mini-19la): sets built by `make features` / `make demo`."""
    return corpus in DEMO_CORPORA


def display_name(corpus: str) -> str:
    """Column name of `corpus`' pooled test set: "19LA" for ASVspoof 2019 LA (and the demo's mini-19la), "ITW" for
    In-the-Wild, otherwise the corpus name unchanged (matched case-insensitively)."""
    return DISPLAY_NAMES.get(corpus.lower(), corpus)

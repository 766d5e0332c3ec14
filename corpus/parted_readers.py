"""The ASVspoof 5, ASVspoof 2021 LA / DF and CodecFake+ readers behind one interface: their parts, one part's
manifest, and the per-trial factors the manifest does not carry (for ``corpus info``).

``load_manifest`` and ``corpus.parts`` dispatch these kinds here, so `codecfake corpus ls|info|check` and
`make features DATA=asvspoof5 …` treat them like Codecfake (one feature set per part).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from codecfake.corpus.asvspoof5 import asv5_factors, available_asv5_parts, parse_asvspoof5
from codecfake.corpus.asvspoof2021 import asvspoof2021_factors, available_2021_parts, parse_asvspoof2021
from codecfake.corpus.codecfakeplus import available_cfp_parts, parse_codecfakeplus
from codecfake.corpus.rows import Manifest

__all__ = ["PartedReader", "READERS"]


class FactorReader(Protocol):
    """(root, parts=...) -> {factor: {trial: value}}. ``parts`` is passed by keyword: the 2021 readers are partials
    that fix ``track`` by keyword, so a second positional argument would land on ``track``."""

    def __call__(self, root: Path, *, parts: tuple[str, ...] | None = None) -> dict[str, dict[str, str]]: ...


@dataclass(frozen=True)
class PartedReader:
    kind: str
    parts: Callable[[Path], tuple[str, ...]]  # the parts present under a root, in order
    parse: Callable[
        ..., Manifest
    ]  # (root, *, corpus, parts) -> manifest (paths relative to root, not validated)
    factors: FactorReader | None = None
    root_hint: str = ""  # what ROOT must hold (error messages, make help)


def _asvspoof2021_reader(track: str) -> PartedReader:
    """One ASVspoof 2021 track's reader (LA or DF: the same release layout, the track's name in its paths)."""
    return PartedReader(
        f"asvspoof2021{track.lower()}",
        partial(available_2021_parts, track=track),
        partial(parse_asvspoof2021, track=track),
        partial(asvspoof2021_factors, track=track),
        f"keys/{track}/CM/trial_metadata.txt and ASVspoof2021_{track}_eval/flac/",
    )


READERS: dict[str, PartedReader] = {
    "asvspoof5": PartedReader(
        "asvspoof5",
        available_asv5_parts,
        parse_asvspoof5,
        asv5_factors,
        "the ASVspoof 5 release folder: ASVspoof5_protocols/ and flac_T/ flac_D/ flac_E_eval/",
    ),
    "asvspoof2021la": _asvspoof2021_reader("LA"),
    "asvspoof2021df": _asvspoof2021_reader("DF"),
    "codecfakeplus": PartedReader(
        "codecfakeplus",
        available_cfp_parts,
        parse_codecfakeplus,
        None,
        "label/{train,dev,CoRS,CoSG}.txt, all_data_16k/ and SLMdemos_16k/",
    ),
}

"""Each corpus kind names its corpus and the display name its pooled test set is reported under."""

from __future__ import annotations

from pathlib import Path

import pytest

from codecfake.corpus import load_manifest
from codecfake.corpus.cli import KINDS as CLI_KINDS
from codecfake.corpus.kinds import CORPUS_KINDS, KINDS, display_name


def test_display_names_of_the_pooled_corpora_and_the_rest_unchanged() -> None:
    assert {c: display_name(c) for c in ("asvspoof2019la", "asvspoof2019", "mini-19la", "itw", "ITW")} == {
        "asvspoof2019la": "19LA",
        "asvspoof2019": "19LA",
        "mini-19la": "19LA",
        "itw": "ITW",
        "ITW": "ITW",
    }
    assert display_name("Mini-19LA") == "19LA"  # case-insensitive, as corpus names from CSVs vary
    assert [display_name(c) for c in ("codecfake", "mini-codecfake", "my-set", "")] == [
        "codecfake",
        "mini-codecfake",
        "my-set",
        "",
    ]


def test_load_manifest_names_each_corpus_as_its_kind_says(tiny_corpus: tuple[Path, Path]) -> None:
    codec_root, voc_root = tiny_corpus
    demo = codec_root.parent
    roots = {"codecfake": codec_root, "asvspoof2019": voc_root, "demo-codec": demo, "demo-vocoder": demo}
    for kind in CORPUS_KINDS:
        if kind.kind in roots:
            m = load_manifest(kind.kind, roots[kind.kind])
            assert {r.corpus for r in m} == {kind.corpus} and m.name == kind.corpus
    assert {r.corpus for r in load_manifest("demo-vocoder", demo, name="other")} == {"other"}
    assert (
        CLI_KINDS
        == KINDS
        == (
            "codecfake",
            "asvspoof2019",
            "itw",
            "csv",
            "demo-codec",
            "demo-vocoder",
            "asvspoof5",
            "asvspoof2021la",
            "asvspoof2021df",
            "codecfakeplus",
        )
    )


def test_unknown_kind_lists_the_known_ones() -> None:
    from codecfake.corpus import ManifestError

    with pytest.raises(
        ManifestError,
        match="expected codecfake, asvspoof2019, itw, csv, demo-codec, demo-vocoder, asvspoof5, asvspoof2021la, "
        "asvspoof2021df or codecfakeplus",
    ):
        load_manifest("timit", ".")

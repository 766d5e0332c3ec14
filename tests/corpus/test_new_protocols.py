"""ASVspoof 5 Track 1, ASVspoof 2021 LA / DF keys and CodecFake+ label lists: small fabricated trees in the real
formats parse into the right rows and counts; malformed lines are refused with their number."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from codecfake.corpus.asvspoof5 import asv5_factors, available_asv5_parts, parse_asvspoof5
from codecfake.corpus.asvspoof2021 import asvspoof2021_factors, available_2021_parts, parse_asvspoof2021
from codecfake.corpus.codecfakeplus import available_cfp_parts, parse_codecfakeplus, taxonomy
from codecfake.corpus.manifest import ManifestError
from codecfake.corpus.testing import asv5_line, write_lines

# eval: per codec (bona fide, {attack: spoofs}); "-" = uncoded
ASV5_EVAL = {
    "-": (3, {"A17": 2, "A18": 1}),
    "C01": (2, {"A17": 1, "A19": 2}),
    "C07": (1, {"A18": 3}),
}


def _asv5_tree(root: Path) -> None:
    lines, k = [], 0
    for codec, (n_bona, attacks) in ASV5_EVAL.items():
        for attack, n in [("bonafide", n_bona), *attacks.items()]:
            for _ in range(n):
                lines.append(asv5_line(f"E_{k:010d}", codec=codec, attack=attack, speaker=f"E_{k % 3:04d}"))
                k += 1
    write_lines(root / "ASVspoof5_protocols" / "ASVspoof5.eval.track_1.tsv", lines)
    write_lines(
        root / "ASVspoof5_protocols" / "ASVspoof5.train.tsv",
        [
            asv5_line("T_0000000000", speaker="T_0001"),
            asv5_line("T_0000000001", attack="A01", speaker="T_0001"),
        ],
    )


def test_asvspoof5_eval_protocol_gives_the_counts_per_codec_and_attack(tmp_path: Path) -> None:
    _asv5_tree(tmp_path)
    assert available_asv5_parts(tmp_path) == ("train", "eval")
    m = parse_asvspoof5(tmp_path).validate(check_paths=False)
    test = m.select(split="test")
    by_codec = Counter((r.condition, r.label) for r in test)
    for codec, (n_bona, attacks) in ASV5_EVAL.items():
        cond = "ASV5-C00" if codec == "-" else f"ASV5-{codec}"
        assert by_codec[(cond, "bonafide")] == n_bona
        assert by_codec[(cond, "spoof")] == sum(attacks.values())
    by_attack = Counter(r.method for r in test if r.label == "spoof")
    assert by_attack == {"ASV5-A17": 3, "ASV5-A18": 4, "ASV5-A19": 2}
    row = test[0]
    assert (row.utt_id, row.path, row.split, row.domain, row.language) == (
        "E_0000000000",
        "flac_E_eval/E_0000000000.flac",
        "test",
        "vocoder",
        "en",
    )
    assert m.select(split="train")[1].method == "ASV5-A01"
    assert asv5_factors(tmp_path, ("eval",))["gender"]["E_0000000000"] == "F"


def test_asvspoof5_refuses_a_malformed_line(tmp_path: Path) -> None:
    write_lines(
        tmp_path / "ASVspoof5.dev.track_1.tsv", [asv5_line("D_0000000000"), "D_0001 D_0000000001 F - - - -"]
    )
    with pytest.raises(
        ManifestError, match=r"ASVspoof5.dev.track_1.tsv line 2: expected 'SPEAKER_ID FLAC_FILE_NAME"
    ):
        parse_asvspoof5(tmp_path)
    write_lines(
        tmp_path / "ASVspoof5.dev.track_1.tsv", [asv5_line("D_0000000000").replace("bonafide -", "real -")]
    )
    with pytest.raises(ManifestError, match="KEY .* found 'real'"):
        parse_asvspoof5(tmp_path)


LA_KEY = [
    "LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval",
    "LA_0009 LA_E_1000001 alaw ita_tx bonafide bonafide notrim eval",
    "LA_0012 LA_E_1000002 none loc_tx A19 spoof notrim progress",
    "LA_0012 LA_E_1000003 opus sin_tx bonafide bonafide trim hidden",
]
DF_KEY = [
    "LA_0023 DF_E_2000011 nocodec asvspoof A14 spoof notrim progress traditional_vocoder - - - -",
    "LA_0023 DF_E_2000012 low_mp3 asvspoof - bonafide notrim eval bonafide - - - -",
    "TEF2 DF_E_2000013 oggm4a vcc2020 Task1-team20 spoof notrim eval unknown Task1 team20 TEF2-SEF1 de",
]


def test_asvspoof2021_keys(tmp_path: Path) -> None:
    write_lines(tmp_path / "keys" / "LA" / "CM" / "trial_metadata.txt", LA_KEY)
    write_lines(tmp_path / "keys" / "DF" / "CM" / "trial_metadata.txt", DF_KEY)
    assert available_2021_parts(tmp_path, "LA") == ("progress", "eval", "hidden")
    la = parse_asvspoof2021(tmp_path, "LA").validate(check_paths=False)
    assert [(r.condition, r.method, r.label) for r in la] == [
        ("LA21-C2", "LA21-A07", "spoof"),
        ("LA21-C2", "bonafide", "bonafide"),
        ("LA21-C1", "LA21-A19", "spoof"),
        ("LA21-C7", "bonafide", "bonafide"),
    ]
    assert la[0].path == "ASVspoof2021_LA_eval/flac/LA_E_9332881.flac" and {r.split for r in la} == {"test"}
    assert len(parse_asvspoof2021(tmp_path, "LA", parts=("eval",))) == 2
    assert asvspoof2021_factors(tmp_path, "LA")["transmission"]["LA_E_1000002"] == "loc_tx"
    df = parse_asvspoof2021(tmp_path, "DF").validate(check_paths=False)
    assert [(r.condition, r.method, r.language) for r in df] == [
        ("DF21-C1", "DF21-A14", "en"),
        ("DF21-C2", "bonafide", "en"),
        ("DF21-C9", "DF21-Task1-team20", "de"),
    ]
    assert asvspoof2021_factors(tmp_path, "DF")["source"]["DF_E_2000013"] == "vcc2020"


def test_asvspoof2021_refuses_the_other_tracks_key(tmp_path: Path) -> None:
    write_lines(
        tmp_path / "CM" / "trial_metadata.txt", [" ".join(LA_KEY[0].split()[:7] + ["eval"] + ["-"] * 5)]
    )
    with pytest.raises(ManifestError, match="codec .* 'alaw' .* is this the DF key"):
        parse_asvspoof2021(tmp_path, "DF")


CORS = [
    "p260 p260_075 - REAL REAL REAL bonafide",
    "p260 p260_075_Encodec_24b24k - Trad TIME MVQ spoof",
    "s5 s5_180_SemantiCodec_1.40kbps_16k - SEM FREQ MVQ spoof",
]
COSG = [
    "VALLE fisher_1_pt - - bonafide",
    "VALLE fisher_1_ours - - spoof",
    "CLAMTTS zuck_prompt - REAL bonafide",
    "CLAMTTS zuck_ours_edit - Trad spoof",
]


def test_codecfakeplus_cors_and_cosg(tmp_path: Path) -> None:
    write_lines(tmp_path / "label" / "train.txt", CORS)
    write_lines(tmp_path / "label" / "CoSG.txt", COSG)
    assert available_cfp_parts(tmp_path) == ("train", "CoSG")
    m = parse_codecfakeplus(tmp_path).validate(check_paths=False)
    rows = {r.utt_id: r for r in m}
    spoof = rows["train/p260_075_Encodec_24b24k"]
    assert (spoof.path, spoof.condition, spoof.method, spoof.split) == (
        "all_data_16k/p260_075_Encodec_24b24k.wav",
        "CFP-train",
        "MVQ-Trad-TIME:Encodec_24b24k",
        "train",
    )
    assert taxonomy(rows["train/s5_180_SemantiCodec_1.40kbps_16k"].method) == {
        "vq": "MVQ",
        "aux": "SEM",
        "dec": "FREQ",
        "codec": "SemantiCodec_1.40kbps_16k",
    }
    gen = rows["CoSG/CLAMTTS/zuck_ours_edit"]
    assert (gen.path, gen.condition, gen.method) == (
        "SLMdemos_16k/CLAMTTS/zuck_ours_edit.wav",
        "CFP-CoSG-CLAMTTS",
        "?-Trad-?:CLAMTTS",
    )
    assert Counter(r.condition for r in m.select(split="test")) == {
        "CFP-CoSG-VALLE": 2,
        "CFP-CoSG-CLAMTTS": 2,
    }


def test_condition_names_never_collide_across_corpora(tmp_path: Path) -> None:
    _asv5_tree(tmp_path / "asv5")
    write_lines(tmp_path / "la" / "CM" / "trial_metadata.txt", LA_KEY)
    write_lines(tmp_path / "df" / "CM" / "trial_metadata.txt", DF_KEY)
    write_lines(tmp_path / "cfp" / "label" / "CoRS.txt", CORS)
    names = [
        {r.condition for r in parse_asvspoof5(tmp_path / "asv5")},
        {r.condition for r in parse_asvspoof2021(tmp_path / "la", "LA")},
        {r.condition for r in parse_asvspoof2021(tmp_path / "df", "DF")},
        {r.condition for r in parse_codecfakeplus(tmp_path / "cfp")},
        {f"C{k}" for k in range(1, 8)} | {"A1", "A2", "A3", "train", "dev"},  # Codecfake
        {f"A{k:02d}" for k in range(1, 20)} | {"bonafide", "ITW"},  # ASVspoof 2019 LA, In-the-Wild
    ]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not a & b

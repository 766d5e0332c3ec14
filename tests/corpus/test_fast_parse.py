"""The columnar Codecfake parser and the one-pass manifest hash give exactly what the row-by-row code gave.

The reference is the previous implementation (per-line ``ManifestRow``, per-row ``json.dumps``), kept in
``codecfake.corpus.testing`` as the oracle; the fixture holds the awkward cases the string fast paths must get right or hand back to pathlib."""

import hashlib
from pathlib import Path

import pytest

from codecfake.corpus import Manifest, ManifestError, ManifestRow
from codecfake.corpus import rows as manifest_mod
from codecfake.corpus.protocols import parse_codecfake
from codecfake.corpus.testing import row_by_row_hash as reference_hash
from codecfake.corpus.testing import row_by_row_part as reference_part

AWKWARD = {
    # ordinary release names, CRLF endings, tabs and runs of spaces, blank lines
    "train": "p225_001.wav real 0\r\nF01_p225_001.wav fake 1\r\n\r\nSSB05440084.wav\treal 0\n"
    "  F03_SSB05440084.wav   fake  3  \nF01_F02_p225_002.wav fake 1\nSSB12.wav real 0\n",
    # dots, no suffix, a bare ".wav", other suffixes, quotes, backslashes and non-ASCII (JSON escapes them)
    "dev": "a.b.wav real 0\nnoext real 0\n.wav real 0\n..wav real 0\nclip.flac fake 2\nx. fake 2\n"
    'q"uote_1.wav real 0\nback\\slash_2.wav real 0\nvoix_é_3.wav real 0\nL1_p275_117.wav fake L1\n'
    "C3-1_p225_009.wav fake 3\nnounderscore.wav real 0\n",
    # a sub-folder in a name: the whole part takes the pathlib route
    "C1": "sub/p225_001.wav real 0\nF01_p225_001.wav fake 1\n",
    "C7": "",  # an empty part
    "A1": "p275_117.wav real L1\nL1_p275_117.wav fake L1\n",
}


@pytest.fixture()
def awkward_root(tmp_path: Path) -> Path:
    (tmp_path / "label").mkdir()
    for part, text in AWKWARD.items():
        (tmp_path / "label" / f"{part}.txt").write_text(text, encoding="utf-8")
    return tmp_path


def test_parse_equals_row_by_row_reference(awkward_root: Path) -> None:
    m = parse_codecfake(awkward_root)
    ref = [r for part in AWKWARD for r in reference_part(awkward_root, part)]
    assert len(m) == len(ref) == 22
    assert m.rows == tuple(ref)
    assert m.content_hash() == reference_hash(ref)


def test_hash_of_hand_built_rows_equals_reference_across_chunk_boundaries(
    awkward_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = [r for part in AWKWARD for r in reference_part(awkward_root, part)] * 3
    ref = [
        ManifestRow(f"{i}/{r.utt_id}", *(getattr(r, f) for f in manifest_mod.FIELDS[1:]))
        for i, r in enumerate(ref)
    ]
    monkeypatch.setattr(manifest_mod, "_HASH_CHUNK", 5)  # 66 rows: 14 chunks, the last one short
    assert Manifest(ref).content_hash() == reference_hash(ref)
    by_columns = Manifest.from_columns({f: [getattr(r, f) for r in ref] for f in manifest_mod.FIELDS})
    assert by_columns.content_hash() == reference_hash(ref) and by_columns.rows == tuple(ref)


def test_hash_of_rows_with_non_string_values_falls_back_to_json() -> None:
    rows = [
        ManifestRow("u1", "a.wav", "bonafide", "c", "train", "codec", "train", speaker=7),  # type: ignore[arg-type]
        ManifestRow("u2", "b.wav", "spoof", "c", "train", "codec", "train"),
    ]
    assert Manifest(rows).content_hash() == reference_hash(rows)


def test_empty_manifest_hash_is_the_empty_stream() -> None:
    assert Manifest([]).content_hash() == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a.wav real 0\nb.wav real\n", 2),  # two columns
        ("a.wav real 0\nb.wav real 0 x\n", 2),  # four
        ("x real y z\nreal w\n", 1),  # 4 + 2 tokens: a whole-text count would balance out
        ("a.wav real 0\n\nb.wav maybe 0\n", 3),  # unknown label
    ],
)
def test_malformed_lines_are_named(tmp_path: Path, text: str, line: int) -> None:
    (tmp_path / "label").mkdir()
    (tmp_path / "label" / "train.txt").write_text(text)
    with pytest.raises(ManifestError, match=f"train.txt line {line}:"):
        parse_codecfake(tmp_path)


def test_validate_reports_empty_fields_from_columns() -> None:
    cols = {f: ["x1", "x2"] for f in manifest_mod.FIELDS}
    cols.update(label=["bonafide", "spoof"], split=["train", "train"], condition=["c", ""])
    with pytest.raises(ManifestError, match="1 rows with an empty"):
        Manifest.from_columns(cols).validate(check_paths=False)

"""Manifest: validation, hashing, selection, counts."""

from pathlib import Path

import pytest

from codecfake.corpus import Manifest, ManifestError, ManifestRow


def _row(i: int, **kw: str) -> ManifestRow:
    base = dict(
        utt_id=f"u{i}",
        path=f"a/{i}.wav",
        label="bonafide" if i % 2 == 0 else "spoof",
        corpus="c",
        split="train" if i < 4 else "test",
        domain="codec",
        condition="train" if i < 4 else "C1",
    )
    base.update(kw)
    return ManifestRow(**base)


def test_duplicate_ids_and_bad_labels_are_reported_together() -> None:
    m = Manifest([_row(0), _row(1), _row(0, path="b.wav"), _row(3, label="real"), _row(5, split="eval")])
    with pytest.raises(ManifestError) as e:
        m.validate(check_paths=False)
    msg = str(e.value)
    assert "1 duplicate utt_id" in msg and "['real']" in msg and "['eval']" in msg


def test_hash_depends_on_rows_and_order_not_on_path_or_root() -> None:
    rows = [_row(i) for i in range(6)]
    h = Manifest(rows, "/x").content_hash()
    assert h == Manifest(rows, "/y").content_hash()
    assert h == Manifest([_row(i, path=f"/abs/{i}.wav") for i in range(6)]).content_hash()
    assert h != Manifest(rows[::-1]).content_hash()
    assert h != Manifest([*rows[:5], _row(5, condition="C2")]).content_hash()
    assert len(h) == 64


def test_select_and_counts() -> None:
    m = Manifest([_row(i) for i in range(8)], "/r", "c")
    t = m.select(split="test", label=["spoof"])
    assert [r.utt_id for r in t] == ["u5", "u7"] and t.root == Path("/r")
    assert m.select(split=None).rows == m.rows
    assert m.counts() == [
        ("train", "bonafide", "train", 2),
        ("train", "spoof", "train", 2),
        ("test", "bonafide", "C1", 2),
        ("test", "spoof", "C1", 2),
    ]
    with pytest.raises(ManifestError, match="unknown fields"):
        m.select(colour="red")


def test_csv_round_trip_keeps_rows(tmp_path: Path) -> None:
    m = Manifest([_row(i, speaker="s1", language="en", method="1") for i in range(6)], tmp_path, "c")
    p = m.to_csv(tmp_path / "m.csv")
    back = Manifest.read_csv(p)
    assert back.rows == m.rows and back.root == tmp_path and back.content_hash() == m.content_hash()

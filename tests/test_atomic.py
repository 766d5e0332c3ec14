"""codecfake.atomic: a replaced file is the old content or the new, never torn; a failed write leaves no trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codecfake.atomic import atomic_open, write_atomic, write_json_atomic


def test_write_replaces_whole_files_and_creates_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "report.json"
    write_json_atomic(path, {"b": 1, "a": [1, 2]})
    assert path.read_text() == json.dumps({"a": [1, 2], "b": 1}, indent=1)
    write_atomic(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.json"]  # no temp file left


def test_a_failed_write_keeps_the_old_file_and_removes_the_temp(tmp_path: Path) -> None:
    path = tmp_path / "scores.tsv"
    write_atomic(path, "old\n", durable_dir=True)
    with pytest.raises(RuntimeError, match="disk full"), atomic_open(path, "w") as fh:
        fh.write("half of the new")
        raise RuntimeError("disk full")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.tsv"]


def test_only_whole_file_modes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode 'w' or 'wb'"), atomic_open(tmp_path / "x", "a"):
        pass


def test_a_killed_writers_temp_file_is_listed_and_removed_by_the_next_writer(tmp_path: Path) -> None:
    from codecfake.atomic import is_temp_name, remove_stale_temps, stale_temps, temp_path

    path = tmp_path / "deep" / "er" / "0"
    write_atomic(path, b"old", durable_dir=True)  # creates both folders, fsyncs them
    left = temp_path(path).with_name(".0.4242.77.tmp")  # what a writer killed before its rename leaves
    left.write_bytes(b"half")
    other = path.with_name(".00.4242.77.tmp")  # another target's temp file: not this path's
    other.write_bytes(b"x")
    assert is_temp_name(left.name) and not is_temp_name("0")
    assert stale_temps(path) == [left]
    assert remove_stale_temps(path) == 1
    assert sorted(p.name for p in path.parent.iterdir()) == [".00.4242.77.tmp", "0"]
    assert path.read_bytes() == b"old"

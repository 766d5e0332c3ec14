"""The check before training and evaluation: a shard whose bytes changed after it was written is refused with the
`store verify` command, once per process; `store verify` lists what interrupted writers left behind."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from codecfake.app.cli import main
from codecfake.store import CorruptShard, FeatureStore
from codecfake.store.testing import make_data, make_meta, make_spec, write_all
from codecfake.store.verify import ENV_SKIP, check_shards


def _flip_byte(path: Path, offset: int = 40) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        b = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([b[0] ^ 0x01]))


@pytest.fixture
def fs(tmp_path: Path):
    fs = FeatureStore(tmp_path / "features").create(make_spec(), make_meta(), shard_size=4)
    write_all(fs, "L05", make_data())
    return fs


def test_a_flipped_byte_is_refused_once_per_process_with_the_verify_command(fs, monkeypatch) -> None:
    monkeypatch.delenv(ENV_SKIP, raising=False)
    assert check_shards(fs, "L05", clips=[0, 5]) == 2  # the shards holding those clips: 0 and 1
    assert check_shards(fs, "L05") == 1  # 0 and 1 are not read again in this process; shard 2 is
    _flip_byte(fs.shard_path("L05", 1))
    with pytest.raises(CorruptShard, match=rf"shard 1 data does not match.*codecfake store verify {fs.key}"):
        check_shards(fs, "L05", clips=np.arange(10))  # the changed file is read again
    assert check_shards(fs, "L05", clips=[0]) == 0  # an unchanged shard is not
    monkeypatch.setenv(ENV_SKIP, "0")  # --no-shard-check
    assert check_shards(fs, "L05") == 0


def test_verify_lists_temp_files_and_stale_leases(fs, tmp_path: Path, capsys) -> None:
    temp = fs.shard_path("L05", 2).with_name(".0.999999.1.tmp")  # a writer killed before its rename left it
    temp.write_bytes(b"half a shard")
    lease = fs.leases.path(1)
    lease.parent.mkdir(parents=True, exist_ok=True)
    lease.write_text('{"host": "gone", "pid": 7, "started_unix": 0, "renewed_unix": 0}')  # its holder stopped
    assert main(["store", "verify", fs.key, "--store", str(tmp_path / "features")]) == 0
    out = capsys.readouterr().out
    assert "1 temporary file(s) of interrupted writes (L05/c/2/0/.0.999999.1.tmp)" in out
    assert "stale leases of writers that stopped before committing: shards [1]" in out
    fs.write_shard("L05", 2, make_data()[8:10])  # the shard's next writer
    assert not temp.exists() and os.listdir(temp.parent) == ["0"]

"""Statistics (dask, float64), verify, and the `codecfake store` CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codecfake.app.cli import main
from codecfake.store import FeatureStore
from codecfake.store.stats import compute_stats
from codecfake.store.testing import SHARD, make_data, make_meta, make_spec, write_all
from codecfake.store.verify import verify


@pytest.fixture
def fs(tmp_path: Path):
    fs = FeatureStore(tmp_path / "features").create(make_spec(), make_meta(), shard_size=SHARD)
    write_all(fs, "L05", make_data(), rejects={1: [(2, "corrupt audio")]})
    return fs


def test_stats_match_numpy_over_valid_clips(fs) -> None:
    st = compute_stats(fs, "L05")
    x = make_data().astype(np.float16).astype(np.float64)
    x = np.delete(x, 6, axis=0).reshape(-1, x.shape[-1])  # valid clips × frames, D
    np.testing.assert_allclose(st["mean"], x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(st["std"], x.std(0), rtol=1e-9)
    assert st["valid_clips"] == 9 and st["count"] == 9 * 5
    assert fs.stats("L05")["mean"] == st["mean"]  # stored in the attributes


def test_verify_detects_missing_and_corrupt_shards(fs) -> None:
    assert verify(fs).ok
    shard = Path(fs.store.local_root, fs.key, "L05", "c", "1", "0", "0")
    raw = bytearray(shard.read_bytes())
    raw[10] ^= 0xFF  # flip a data byte (index untouched)
    shard.write_bytes(bytes(raw))
    rep = verify(fs)
    assert any("shard 1 data does not match" in p for p in rep.problems)
    raw[-1] ^= 0xFF  # now the index checksum too
    shard.write_bytes(bytes(raw))
    assert any("shard 1 unreadable" in p and "checksum" in p for p in verify(fs).problems)
    fs.records.uncommit("L05", 2)
    assert any("1/3 shards not committed" in p for p in verify(fs, check_data=False).problems)


def test_cli_round_trip(fs, tmp_path: Path, capsys) -> None:
    root = str(fs.store.local_root)
    assert main(["store", "ls", root]) == 0
    assert fs.key in capsys.readouterr().out
    assert main(["store", "info", fs.key, "--store", root]) == 0
    assert "3/3 shards, 1 rejected" in capsys.readouterr().out
    assert main(["store", "verify", fs.key, "--store", root]) == 0
    assert main(["store", "stats", fs.key, "--store", root]) == 0
    h5 = tmp_path / "set.h5"
    assert main(["store", "export-hdf5", fs.key, str(h5), "--store", root]) == 0
    other = str(tmp_path / "other")
    assert main(["store", "import-hdf5", str(h5), "--store", other]) == 0
    assert main(["store", "import-hdf5", str(h5), "--store", other]) == 2  # exists: typed error, exit 2
    assert main(["store", "import-hdf5", str(h5), "--store", other, "--force"]) == 0
    imported = FeatureStore(other).open(fs.key)
    np.testing.assert_array_equal(imported.array("L05")[:], fs.array("L05")[:])
    assert imported.stats("L05") == fs.stats("L05")
    assert imported.provenance["extra"]["imported_from"] == str(h5)
    assert main(["store", "rm", fs.key, "--store", other]) == 0
    assert FeatureStore(other).keys() == []
    Path(root, fs.key, "_commits", "L05", "0.json").unlink()
    capsys.readouterr()
    assert main(["store", "verify", fs.key, "--store", root]) == 1
    assert "PROBLEM L05: 1/3 shards not committed" in capsys.readouterr().out
    assert main(["store", "info", "missing", "--store", root]) == 2


def test_info_lists_rejected_clips_with_their_reasons(tmp_path: Path, capsys) -> None:
    store = FeatureStore(tmp_path / "features")
    fs = store.create(make_spec(), make_meta(), shard_size=SHARD)
    reasons = {
        0: [(1, "MissingAudio: file not found")],
        1: [(0, "CorruptAudio: decodes to 1478 samples but its header declares 64000"), (3, "EmptyAudio: x")],
    }
    write_all(fs, "L05", make_data(), rejects=reasons)
    assert main(["store", "info", fs.key, "--store", str(store.local_root), "--max-rejects", "2"]) == 0
    out = capsys.readouterr().out
    assert "3 rejected" in out
    assert "rejected 1\tC1/F01_001\tMissingAudio: file not found" in out
    assert (
        "rejected 4\tC1/F01_004\tCorruptAudio: decodes to 1478 samples but its header declares 64000" in out
    )
    assert "EmptyAudio" not in out and "1 more: `codecfake store info" in out and "--max-rejects 0" in out
    assert main(["store", "info", fs.key, "--store", str(store.local_root), "--max-rejects", "0"]) == 0
    assert "rejected 7\tC1/F01_007\tEmptyAudio: x" in capsys.readouterr().out

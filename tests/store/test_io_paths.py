"""The fast I/O paths: pread batches, directly written shard files, group commit, the allocator setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr

from codecfake.store import FeatureStore
from codecfake.store.reader import ShardReader, mmap_layout_ok
from codecfake.store.shardfile import write_shard_file
from codecfake.store.testing import SHARD, N, make_data, make_meta, make_spec, write_all


@pytest.fixture
def local_set(tmp_path: Path):
    fs = FeatureStore(tmp_path / "features").create(make_spec(), make_meta(), shard_size=SHARD)
    data = make_data()
    write_all(fs, "L05", data)
    return fs, data.astype(np.float16)


@pytest.mark.parametrize("io_threads", [1, 3])
@pytest.mark.parametrize("max_open", [1, 128])
def test_batch_reads_any_order_with_evictions(local_set, io_threads: int, max_open: int) -> None:
    fs, want = local_set
    reader = ShardReader(fs, "L05", io_threads=io_threads, max_open=max_open)
    idx = np.array(
        [9, 0, 1, 2, 3, 7, 4, 4, 8, 5, 9]
    )  # runs within shards, duplicates, every shard, short last one
    np.testing.assert_array_equal(reader.batch(idx), want[idx])
    out = np.empty((len(idx), *want.shape[1:]), np.float32)  # another dtype: cast on the way in
    np.testing.assert_array_equal(reader.batch(idx, out=out), want[idx].astype(np.float32))
    np.testing.assert_array_equal(reader[6], want[6])  # single clips stay zero-copy views
    reader.close()


def test_unwritten_shard_reads_as_zeros(tmp_path: Path) -> None:
    fs = FeatureStore(tmp_path / "features").create(make_spec(), make_meta(), shard_size=SHARD)
    fs.ensure_array("L05", make_data().shape[1:])
    fs.write_shard("L05", 1, make_data()[4:8])
    got = fs.reader("L05").batch([0, 5, 9])
    np.testing.assert_array_equal(got[[0, 2]], 0)
    np.testing.assert_array_equal(got[1], make_data()[5].astype(np.float16))


def test_direct_shard_files_equal_zarrs_bytes(tmp_path: Path) -> None:
    x = make_data().astype(np.float16)  # (10, 5, 3): shards of 4, the last one holds 2
    arr = zarr.create_array(
        store=str(tmp_path / "z"),
        shape=x.shape,
        chunks=(1, 5, 3),
        shards=(SHARD, 5, 3),
        dtype="float16",
        compressors=None,
        fill_value=0.0,
        config={"write_empty_chunks": True},
    )
    arr[:] = x
    for s in range(3):
        mine = tmp_path / "mine" / str(s)
        write_shard_file(mine, np.ascontiguousarray(x[s * SHARD : (s + 1) * SHARD]), SHARD)
        assert mine.read_bytes() == (tmp_path / "z" / "c" / str(s) / "0" / "0").read_bytes()
        assert not list(mine.parent.glob(".*.tmp"))


@pytest.mark.parametrize("dtype", ["uint8", "float16"])
def test_mmap_layout_check_on_one_byte_dtypes(dtype: str) -> None:
    # zarr records no byte order for 1-byte dtypes (BytesCodec endian None): the check says no mmap, not raise
    arr = zarr.create_array(
        store={}, shape=(8, 5, 3), chunks=(1, 5, 3), shards=(4, 5, 3), dtype=dtype, compressors=None
    )
    assert mmap_layout_ok(arr) is (dtype == "float16")


def test_torn_commit_record_counts_as_not_written(local_set) -> None:
    fs, want = local_set
    assert fs.flush_commits() == 3  # the three shards' records were waiting for their group fsync
    rec = Path(fs.store.local_root, fs.key, "_commits", "L05", "1.json")
    rec.write_bytes(rec.read_bytes()[:7])  # what a power loss before the group fsync can leave
    assert fs.committed("L05") == {0, 2}
    fs.write_shard("L05", 1, want[4:8])  # resume rewrites it
    assert fs.flush_commits() == 1
    assert fs.finalize("L05") and fs.is_complete("L05")
    np.testing.assert_array_equal(fs.reader("L05").batch(range(N)), want)


def test_malloc_setting_in_fresh_processes() -> None:
    code = "import os; from codecfake.alloc import keep_freed_memory as k; print(k(), os.environ.get('MALLOC_MMAP_MAX_'))"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "CODECFAKE_MALLOC"))}
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    off = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "CODECFAKE_MALLOC": "default"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert off.stdout.split() == ["False", "None"]
    if sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION"):
        assert on.stdout.split() == ["True", "0"]  # children (spawned workers) inherit the setting

"""Dask worker processes writing distinct shards give the same bytes as a serial write."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from codecfake.store import FeatureStore
from codecfake.store.testing import make_meta, make_spec


def test_dask_local_cluster_writes_equal_serial(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    n = 24

    def shard_data(s: int) -> np.ndarray:  # deterministic per shard, computed where the shard is written
        return np.random.default_rng(s).normal(size=(4, 5, 3)).astype(np.float32) * (s + 1)

    def write(root: str, key: str, s: int) -> int:
        from codecfake.store import FeatureStore as Store

        return Store(root).open(key).write_shard("L05", s, shard_data(s)).shard_index

    roots = {}
    for name in ("serial", "dask"):
        fs = FeatureStore(tmp_path / name).create(make_spec(), make_meta(n), shard_size=4)
        fs.ensure_array("L05", (5, 3))
        roots[name] = fs
    for s in range(roots["serial"].n_shards):
        write(str(tmp_path / "serial"), roots["serial"].key, s)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        futures = [
            client.submit(write, str(tmp_path / "dask"), roots["dask"].key, s, pure=False)
            for s in range(roots["dask"].n_shards)
        ]
        written = client.gather(futures)
    a, b = roots["serial"], roots["dask"]
    assert sorted(written) == list(range(b.n_shards))  # every shard written once, whichever worker took it
    assert b.is_complete("L05")
    np.testing.assert_array_equal(b.array("L05")[:], a.array("L05")[:])
    assert {s: r["crc32"] for s, r in b.shard_records("L05").items()} == {
        s: r["crc32"] for s, r in a.shard_records("L05").items()
    }

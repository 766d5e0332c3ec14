"""Fixtures of the store tests: one store factory per backend and a fully written feature set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import zarr

from codecfake.store import FeatureStore
from codecfake.store.testing import SHARD, make_data, make_meta, make_spec, write_all


@pytest.fixture(params=["local", "memory", "hdf5"])
def backend(request, tmp_path: Path) -> Callable[[], FeatureStore]:
    """A factory of stores of one backend. "hdf5": sets are written locally, exported and imported (see ``finish``)."""
    kind = request.param
    if kind == "memory":
        mem = zarr.storage.MemoryStore()
        return lambda: FeatureStore(mem)
    return lambda: FeatureStore(tmp_path / "features")


@pytest.fixture
def written(request, backend, tmp_path: Path):
    """(store, feature set, expected fp16 data of L05) after a full write with one rejected clip; per backend."""
    store = backend()
    fs = store.create(make_spec(), make_meta(), shard_size=SHARD)
    data = make_data()
    write_all(fs, "L05", data, rejects={1: [(2, "corrupt audio")]})
    expected = data.astype(np.float16)
    expected[6] = 0
    if "hdf5" in request.node.callspec.id:
        from codecfake.store.hdf5 import export_hdf5, import_hdf5

        export_hdf5(fs, tmp_path / "set.h5")
        store = FeatureStore(tmp_path / "imported")
        fs = import_hdf5(store, tmp_path / "set.h5")
    return store, fs, expected

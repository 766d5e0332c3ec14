"""HDF5 export/import of a feature set (h5py), exact round trip of data, metadata, provenance and commit records.

File layout: root attribute ``codecfake`` = JSON of the group attributes; ``meta/<name>`` 1-D datasets (strings as
UTF-8); ``features/<name>`` (N, T, D) in the set's dtype, chunked one clip, with attributes ``attrs`` (JSON of the Zarr array
attributes) and ``records`` (JSON of the commit records). Only committed shards are imported.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from codecfake.store.errors import BadShardInput
from codecfake.store.featureset import ROLE, FeatureSet
from codecfake.store.featurestore import FeatureStore
from codecfake.store.spec import FeatureSetSpec

log = logging.getLogger(__name__)
FORMAT = "codecfake-featureset-hdf5/1"


def export_hdf5(
    fs: FeatureSet, path: str | Path, *, on_shard: Callable[[str, int], None] | None = None
) -> Path:
    """Write ``fs`` to the HDF5 file ``path`` (overwritten); returns the path."""
    path = Path(path)
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["codecfake"] = json.dumps(fs.attrs)
        for name, values in fs.meta.items():
            if values.dtype == object or values.dtype.kind in "US":
                f.create_dataset(
                    f"meta/{name}", data=values.astype(str).astype(object), dtype=h5py.string_dtype()
                )
            else:
                f.create_dataset(f"meta/{name}", data=values)
        for name in fs.arrays:
            t, d = fs.frame_shape(name)
            dset = f.create_dataset(
                f"features/{name}",
                shape=(fs.n_clips, t, d),
                dtype=np.dtype(fs.dtype).newbyteorder("<"),
                chunks=(1, t, d),
            )
            arr = fs.array(name)
            records = fs.shard_records(name)
            dset.attrs["attrs"] = json.dumps(dict(arr.attrs))
            dset.attrs["records"] = json.dumps({str(s): r for s, r in records.items()})
            for s in sorted(records):
                a, b = fs.shard_bounds(s)
                dset[a:b] = arr[a:b]
                if on_shard:
                    on_shard(name, s)
    log.info("%s -> %s", fs.location, path)
    return path


def import_hdf5(
    store: FeatureStore,
    path: str | Path,
    *,
    mode: str = "create",
    on_shard: Callable[[str, int], None] | None = None,
) -> FeatureSet:
    """Recreate the feature set saved in ``path`` inside ``store`` (same key, spec, provenance, data)."""
    path = Path(path)
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise BadShardInput(
                f"{path}: not a codecfake feature-set export (format {f.attrs.get('format')!r})"
            )
        attrs = json.loads(f.attrs["codecfake"])
        meta = {}
        for name, dset in f["meta"].items():
            values = dset[()]
            meta[name] = (
                dset.asstr()[()].astype(object) if h5py.check_string_dtype(dset.dtype) else np.asarray(values)
            )
        spec = FeatureSetSpec.from_dict(attrs["spec"])
        fs = store.create(
            spec,
            meta,
            mode=mode,
            shard_size=int(attrs["shard_size"]),
            compressor=attrs.get("compressor"),
            key=attrs["key"],
            nonfinite="keep",
        )
        prov = dict(attrs["provenance"])
        prov.setdefault("extra", {})["imported_from"] = str(path)
        fs.group.update_attributes(
            {"provenance": prov, **({"stats": attrs["stats"]} if "stats" in attrs else {})}
        )
        for name, dset in f["features"].items():
            arr_attrs = {
                k: v for k, v in json.loads(dset.attrs["attrs"]).items() if k not in (ROLE, "frame_shape")
            }
            fs.ensure_array(name, dset.shape[1:], attributes=arr_attrs)
            records = {int(s): r for s, r in json.loads(dset.attrs["records"]).items()}
            done = fs.committed(name)
            for s in sorted(set(records) - done):
                a, b = fs.shard_bounds(s)
                fs.write_shard(
                    name, s, dset[a:b], rejects=[tuple(x) for x in records[s]["rejects"]], nonfinite="keep"
                )
                if on_shard:
                    on_shard(name, s)
            fs.finalize(name)
    return store.open(attrs["key"])

"""The contract every store backend passes: local Zarr directory, in-memory Zarr store, HDF5 export → import."""

from __future__ import annotations

import numpy as np
import pytest

from codecfake.store import SCHEMA_VERSION, FeatureSetExists, FeatureSetMismatch, FeatureSetNotFound
from codecfake.store.testing import SHARD, N, T, make_data, make_meta, make_spec, write_all


def test_data_and_meta_round_trip(written) -> None:
    store, fs, expected = written
    assert fs.n_clips == N and fs.n_shards == 3 and fs.arrays == ["L05"]
    np.testing.assert_array_equal(fs.array("L05")[:], expected)
    for name, values in make_meta().items():
        np.testing.assert_array_equal(fs.meta[name], values)
    assert fs.meta["label"].dtype == np.int8


def test_reader_modes_return_written_data(written) -> None:
    _, fs, expected = written
    order = np.random.default_rng(3).permutation(N)
    for mode in ("auto", "zarr"):
        r = fs.reader("L05", mode=mode)
        assert len(r) == N
        assert r.batch(order).dtype == np.float16
        np.testing.assert_array_equal(r.batch(order), expected[order])
        np.testing.assert_array_equal(r[7], expected[7])
        np.testing.assert_array_equal(r[-1], expected[-1])
        with pytest.raises(IndexError):
            r[N]


def test_commit_state_valid_and_rejects(written) -> None:
    _, fs, _ = written
    assert fs.committed("L05") == {0, 1, 2} and fs.is_complete("L05")
    valid = fs.valid("L05")
    assert valid.sum() == N - 1 and not valid[6]
    assert fs.rejects("L05") == [{"index": 6, "utt_id": "C1/F01_006", "reason": "corrupt audio"}]


def test_provenance_recorded(written) -> None:
    _, fs, _ = written
    attrs = fs.attrs
    assert attrs["schema_version"] == SCHEMA_VERSION and attrs["key"] == fs.key == make_spec().key
    prov = attrs["provenance"]
    assert prov["spec"] == make_spec().to_dict()
    assert {"zarr", "numpy", "python", "torch"} <= set(prov["versions"]) and prov["versions"][
        "zarr"
    ].startswith("3.")
    assert isinstance(prov["command"], list) and prov["created_utc"].endswith("+00:00")
    from codecfake.provenance import git_commit

    assert prov["git_commit"] == git_commit() and "package_version" in prov  # the same builder as runs use


def test_list_find_open(written) -> None:
    store, fs, _ = written
    assert store.keys() == [fs.key]
    (info,) = store.list()
    assert info.arrays == {"L05": True} and info.n_clips == N
    assert store.find(corpus="mini-codecfake", array="L05") == [fs.key]
    assert store.find(extractor="mel") == [] and store.find(array="L12") == []
    with pytest.raises(FeatureSetNotFound, match="no feature set"):
        store.open("nope")


def test_adding_a_layer_rewrites_nothing(written) -> None:
    store, fs, expected = written
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    def shard_bytes() -> list[bytes]:
        keys = [f"{fs.key}/L05/c/{s}/0/0" for s in range(fs.n_shards)]
        return [sync(store.zarr_store.get(k, prototype=default_buffer_prototype())).to_bytes() for k in keys]

    before = shard_bytes()
    write_all(fs, "L12", make_data(seed=1))
    assert fs.arrays == ["L05", "L12"]
    assert shard_bytes() == before
    np.testing.assert_array_equal(fs.reader("L05").batch(range(N)), expected)
    fs.ensure_array("L05", (T, 3))  # idempotent
    with pytest.raises(FeatureSetMismatch, match="frame shape"):
        fs.ensure_array("L05", (T, 4))


def test_modes(written) -> None:
    store, fs, expected = written
    with pytest.raises(FeatureSetExists, match="--force"):
        store.create(make_spec(), make_meta(), shard_size=SHARD)
    again = store.create(make_spec(), make_meta(), shard_size=SHARD, mode="resume")
    assert again.committed("L05") == {0, 1, 2}
    np.testing.assert_array_equal(again.reader("L05").batch(range(N)), expected)
    other = make_meta()
    other["label"] = 1 - other["label"]
    with pytest.raises(FeatureSetMismatch, match="meta.label") as err:
        store.create(make_spec(), other, shard_size=SHARD, mode="resume")
    assert "meta.label" in err.value.differences
    fresh = store.create(make_spec(), make_meta(), shard_size=SHARD, mode="overwrite")
    assert fresh.arrays == [] and store.keys() == [fs.key]


def test_provenance_refusal(written) -> None:
    store, fs, _ = written
    newer = make_spec(weights_sha256="ef" * 32, params={"layers_run": 6})
    with pytest.raises(FeatureSetMismatch) as err:
        store.open(fs.key, expect=newer)
    assert set(err.value.differences) == {"weights_sha256", "params.layers_run"}
    msg = str(err.value)
    assert fs.key in msg and "weights_sha256" in msg and "--force" in msg
    # a custom key reused for another spec is refused too, and the stored data stays
    with pytest.raises(FeatureSetMismatch, match="model_id"):
        store.create(
            make_spec(model_id="microsoft/wavlm-large"),
            make_meta(),
            key=fs.key,
            mode="resume",
            shard_size=SHARD,
        )
    assert store.open(fs.key).is_complete("L05")
    store.remove(fs.key)
    assert store.keys() == []


def test_part_is_in_the_key_and_a_whole_corpus_spec_keeps_its_key() -> None:
    from codecfake.store.spec import FeatureSetSpec

    fields = dict(
        corpus="mini-codecfake",
        manifest_sha256="0" * 64,
        extractor="mel",
        model_id="mel-80-512-512",
        weights_sha256="",
        params={"n_mels": 80, "hop": 512, "log": True},
    )
    whole = FeatureSetSpec(**fields)
    assert whole.key == "mini-codecfake.mel.cb16506911c9"  # computed by the spec code before parts existed
    assert "part" not in whole.to_dict()
    part = FeatureSetSpec(**fields, part="C1")
    assert part.key.startswith("mini-codecfake.C1.mel.") and part.digest != whole.digest
    assert FeatureSetSpec.from_dict(part.to_dict()) == part
    assert whole.differences(part) == {"part": ("", "C1")} and part.differences(whole) == {"part": ("C1", "")}

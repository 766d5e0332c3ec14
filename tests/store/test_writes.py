"""Write-path checks: bad inputs fail before anything is written, the non-finite policies, shard rewrites."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from codecfake.store import BadShardInput, FeatureStore, NonFiniteFeatures
from codecfake.store.testing import SHARD, D, N, T, make_data, make_meta, make_spec


@pytest.fixture
def fs(tmp_path: Path):
    fs = FeatureStore(tmp_path / "features").create(make_spec(), make_meta(), shard_size=SHARD)
    fs.ensure_array("L05", (T, D))
    return fs


def _nothing_written(fs) -> bool:
    shard_dir = Path(fs.store.local_root, fs.key, "L05", "c")
    return fs.committed("L05") == set() and not shard_dir.exists()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (np.zeros((SHARD, T, D), np.int16), "dtype int16"),
        (np.zeros((SHARD - 1, T, D), np.float32), "wrong clip count"),
        (np.zeros((SHARD, T, D + 1), np.float32), "wrong shape"),
        (np.zeros((SHARD, T * D), np.float32), "wrong shape"),
        ([[0.0]], "numpy array or torch tensor"),
    ],
)
def test_bad_shard_input_writes_nothing(fs, data, match) -> None:
    with pytest.raises(BadShardInput, match=match):
        fs.write_shard("L05", 0, data)
    assert _nothing_written(fs)


def test_bad_shard_index_reject_and_array(fs) -> None:
    good = make_data()[:SHARD]
    with pytest.raises(BadShardInput, match="shard 3 outside"):
        fs.write_shard("L05", 3, good)
    with pytest.raises(BadShardInput, match="reject index 4"):
        fs.write_shard("L05", 0, good, rejects=[(4, "x")])
    with pytest.raises(BadShardInput, match="rejected twice"):
        fs.write_shard("L05", 0, good, rejects=[(1, "x"), (1, "y")])
    with pytest.raises(BadShardInput, match="no feature array 'L12'"):
        fs.write_shard("L12", 0, good)
    assert _nothing_written(fs)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda m: m.pop("split"), "missing \\['split'\\]"),
        (lambda m: m.update(label=np.full(N, 2)), "0 \\(bona fide\\)"),
        (lambda m: m.update(domain=np.array(["codec"] * (N - 1), dtype=object)), "length 9 != 10"),
        (lambda m: m.update(utt_id=np.array(["same"] * N, dtype=object)), "not unique"),
    ],
)
def test_bad_meta_creates_nothing(tmp_path: Path, change, match) -> None:
    meta = make_meta()
    change(meta)
    store = FeatureStore(tmp_path / "features")
    with pytest.raises(BadShardInput, match=match):
        store.create(make_spec(), meta)
    assert store.keys() == [] and not (tmp_path / "features" / make_spec().key).exists()


def test_nonfinite_policies(fs) -> None:
    x = make_data()[:SHARD].copy()
    x[1, 0, 0] = 1e6  # overflows float16 -> inf
    x[2, 1, 1] = np.nan
    with pytest.raises(NonFiniteFeatures, match="1 NaN and 1 inf .* clips \\[1, 2\\]"):
        fs.write_shard("L05", 0, x)
    assert _nothing_written(fs)
    rep = fs.write_shard("L05", 0, x, nonfinite="keep")
    assert (rep.n_nan, rep.n_inf, rep.n_rejected) == (1, 1, 0)
    assert fs.nonfinite_counts("L05") == {0: (1, 1)} and fs.valid("L05")[:SHARD].all()
    assert np.isinf(fs.reader("L05")[1][0, 0]) and np.isnan(fs.reader("L05")[2][1, 1])
    rep = fs.write_shard("L05", 0, x, nonfinite="reject", rejects=[(3, "empty audio")])
    assert rep.n_rejected == 3
    assert fs.valid("L05")[:SHARD].tolist() == [True, False, False, False]
    assert [r["reason"] for r in fs.rejects("L05")] == ["non-finite features after float16 cast"] * 2 + [
        "empty audio"
    ]
    np.testing.assert_array_equal(fs.reader("L05").batch([1, 2, 3]), 0)


def test_torch_input_and_float16_input_are_not_mutated(fs) -> None:
    x = make_data()[:SHARD]
    fs.write_shard("L05", 0, torch.from_numpy(x).to(torch.bfloat16))
    np.testing.assert_array_equal(
        fs.reader("L05")[0], torch.from_numpy(x[0]).to(torch.bfloat16).half().numpy()
    )
    x16 = x.astype(np.float16)
    fs.write_shard("L05", 0, x16, rejects=[(0, "bad")])
    assert x16[0].any()  # caller's array untouched
    np.testing.assert_array_equal(fs.reader("L05")[0], 0)


def test_rewrite_after_finalize_unfolds_records(fs) -> None:
    data = make_data()
    for s in range(fs.n_shards):
        a, b = fs.shard_bounds(s)
        fs.write_shard("L05", s, data[a:b])
    assert fs.finalize("L05") and fs.committed("L05") == {0, 1, 2}
    commits = Path(fs.store.local_root, fs.key, "_commits", "L05")
    assert not list(commits.glob("*.json"))  # folded into one file
    fs.write_shard("L05", 1, data[4:8] + 1)
    assert fs.committed("L05") == {0, 1, 2}
    np.testing.assert_array_equal(fs.reader("L05")[5], (data[5] + 1).astype(np.float16))


def test_compressed_set_uses_zarr_reader(tmp_path: Path) -> None:
    fs = FeatureStore(tmp_path / "f").create(make_spec(), make_meta(), shard_size=SHARD, compressor="zstd:1")
    fs.ensure_array("L05", (T, D))
    data = make_data()
    for s in range(fs.n_shards):
        a, b = fs.shard_bounds(s)
        fs.write_shard("L05", s, data[a:b])
    r = fs.reader("L05")
    assert r.mode == "zarr"
    np.testing.assert_array_equal(r.batch([9, 0, 4]), data[[9, 0, 4]].astype(np.float16))
    with pytest.raises(BadShardInput, match="mmap reader needs uncompressed"):
        fs.reader("L05", mode="mmap")
    with pytest.raises(BadShardInput, match="unknown compressor"):
        FeatureStore(tmp_path / "g").create(make_spec(), make_meta(), compressor="lzma")


def test_float32_set_keeps_values_past_float16_exactly(tmp_path: Path) -> None:
    """A float32 set (power mels): values float16 would store as inf or flush to 0 come back bit for bit."""
    from codecfake.store.hdf5 import export_hdf5, import_hdf5
    from codecfake.store.verify import verify

    store = FeatureStore(tmp_path / "features")
    spec = make_spec(dtype="float32")
    assert spec.key != make_spec().key  # the dtype is in the key: float16 and float32 sets never mix
    fs = store.create(spec, make_meta(), shard_size=SHARD)
    data = make_data() * 1e4  # |values| up to ~1e6, past float16's 65,504
    data[0, 0] = [3e-9, 1.5e-7, 7e-5]  # below float16's normal range
    with np.errstate(over="ignore"):
        assert not np.isfinite(data.astype(np.float16)).all()
    for s in range(fs.n_shards):
        a, b = fs.shard_bounds(s)
        fs.ensure_array("mel", (T, D))
        assert fs.write_shard("mel", s, data[a:b], nonfinite="error").n_inf == 0
    fs.finalize("mel")
    assert fs.array("mel").dtype == np.float32 and fs.valid("mel").all()
    for mode in ("mmap", "zarr"):
        reader = fs.reader("mel", mode=mode)
        np.testing.assert_array_equal(reader.batch(range(N)), data)
        assert reader[0].dtype == np.float32
    assert verify(fs).ok
    back = import_hdf5(FeatureStore(tmp_path / "other"), export_hdf5(fs, tmp_path / "set.h5"))
    assert back.key == fs.key and back.dtype == "float32"
    np.testing.assert_array_equal(back.reader("mel").batch(range(N)), data)
    with pytest.raises(ValueError, match="float64"):
        make_spec(dtype="float64")

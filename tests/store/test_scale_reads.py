"""Read paths that stay fast at 1.1 M clips: a shard as one view, rejects and verify without the clip metadata,
and ``codecfake store`` without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from codecfake.app.cli import _STAGES, stages_for
from codecfake.store import FeatureStore
from codecfake.store.testing import SHARD, make_data, make_meta, make_spec, write_all
from codecfake.store.verify import verify


@pytest.fixture
def fs(tmp_path: Path):
    fs = FeatureStore(tmp_path / "features").create(make_spec(), make_meta(), shard_size=SHARD)
    write_all(fs, "L05", make_data())
    return fs


def test_shard_block_is_the_shard_in_clip_order(fs) -> None:
    reader = fs.reader("L05")
    for s in range(fs.n_shards):
        a, b = fs.shard_bounds(s)
        np.testing.assert_array_equal(reader.shard_block(s, b - a), reader.batch(range(a, b)))
    assert fs.reader("L05", mode="zarr").shard_block(0, SHARD) is None  # no file view: the caller reads clips


def test_shard_block_refuses_clips_out_of_order(fs) -> None:
    reader = fs.reader("L05")
    entry = reader._shard(0)
    entry.index = entry.index[::-1].copy()  # as if the writer had laid the clips out in reverse
    assert reader.shard_block(0, SHARD) is None


def test_clean_set_reports_no_rejects_and_verifies_without_reading_metadata(fs) -> None:
    fs = fs.store.open(fs.key)  # as `codecfake store info/verify` open it
    assert fs.rejects("L05") == [] and "meta" not in fs.__dict__
    assert verify(fs).ok and "meta" not in fs.__dict__
    assert fs.meta_lengths() == {name: fs.n_clips for name in make_meta()}


def test_rejects_name_their_clips(tmp_path: Path) -> None:
    fs = FeatureStore(tmp_path / "f").create(make_spec(), make_meta(), shard_size=SHARD)
    write_all(fs, "L05", make_data(), rejects={1: [(2, "corrupt audio")]})
    assert fs.rejects("L05") == [{"index": 6, "utt_id": "C1/F01_006", "reason": "corrupt audio"}]


def test_store_command_registers_the_store_stage_only() -> None:
    assert stages_for(["store", "ls"]) == stages_for(["-v", "store", "info", "k"]) == ("store",)
    assert stages_for(["train", "--opt", "csam"]) == stages_for([]) == stages_for(["--help"]) == _STAGES


def test_codecfake_store_ls_does_not_import_torch(fs) -> None:
    code = (
        "import sys; from codecfake.app.cli import main; rc = main(['store', 'ls', sys.argv[1]]); "
        "print('torch' in sys.modules, rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(fs.store.local_root)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "False 0"
    assert fs.key in done.stdout

"""A writer killed with SIGKILL at any point resumes: committed shards are skipped, the partial one is rewritten,
and the finished array equals an uninterrupted run's bit for bit (shard files included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from codecfake.store import FeatureStore

# The writer: creates/resumes the set, writes every uncommitted shard. With HANG=<point> it writes shard 2 with
# wrong data and stops forever at that point, printing READY first, so the parent can kill it there.
WRITER = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    from codecfake.store.testing import make_data, make_meta, make_spec
    from codecfake.store import FeatureStore
    from codecfake import atomic
    from codecfake.store import featureset, records

    root, hang = sys.argv[1], sys.argv[2]
    N = 24
    fs = FeatureStore(root).create(make_spec(), make_meta(N), shard_size=4, mode="resume")
    fs.ensure_array("L05", (5, 3))
    data = make_data(N)

    def stop(*_a, **_k):
        print("READY", flush=True)
        time.sleep(600)

    if hang == "after_data":          # shard bytes durable, commit record not yet written
        real_write = featureset.FeatureSet._write_data
        def write_data(self, arr, n, s, *rest):
            real_write(self, arr, n, s, *rest)
            if s == 2:
                stop()
        featureset.FeatureSet._write_data = write_data
    elif hang == "data_tmp":          # shard bytes in their temp file, not yet renamed into place
        real = os.replace
        atomic.os.replace = lambda a, b: stop() if str(b).endswith("/2/0/0") else real(a, b)
    elif hang == "record_tmp":        # commit record in its temp file, not yet renamed into place
        real = os.replace
        atomic.os.replace = lambda a, b: stop() if str(b).endswith("/2.json") else real(a, b)
    elif hang == "before_data":       # rewriting shard 1 (committed): its record deleted, data not yet written
        fs.write_shard("L05", 1, data[4:8])
        real_uncommit = records.ShardRecords.uncommit
        def uncommit(self, a, s):
            real_uncommit(self, a, s)
            if s == 1:
                stop()
        records.ShardRecords.uncommit = uncommit
    done = fs.committed("L05")
    order = [1, 0, 2, 3, 4, 5] if hang == "before_data" else range(fs.n_shards)
    for s in order:
        if s in done and hang != "before_data":
            continue
        a, b = fs.shard_bounds(s)
        bad = hang != "none" and s == (1 if hang == "before_data" else 2)  # the shard it dies in
        fs.write_shard("L05", s, data[a:b] + (7 if bad else 0))
    print("DONE", flush=True)
    """
)


def _run(root: Path, hang: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), hang], stdout=subprocess.PIPE, text=True
    )


def _shard_files(root: Path, key: str) -> dict[str, bytes]:
    base = root / key / "L05" / "c"
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("hang", ["after_data", "data_tmp", "record_tmp", "before_data"])
def test_resume_after_kill_is_bit_identical(tmp_path: Path, hang: str) -> None:
    ref = _run(tmp_path / "ref", "none")
    assert ref.communicate(timeout=60)[0].strip() == "DONE"

    victim = _run(tmp_path / "run", hang)
    assert victim.stdout.readline().strip() == "READY"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    assert victim.returncode == -signal.SIGKILL

    store = FeatureStore(tmp_path / "run")
    key = store.keys()[0]
    fs = store.open(key)
    committed = fs.committed("L05")
    assert committed == (set() if hang == "before_data" else {0, 1})  # the interrupted shard is not committed
    assert not fs.is_complete("L05")

    left = [p.name.split(".")[1] for p in (tmp_path / "run").rglob("*.tmp")]  # ".<name>.<pid>.<thread>.tmp"
    assert left == {"data_tmp": ["0"], "record_tmp": ["2"]}.get(hang, [])  # the killed writer's temp file
    again = _run(tmp_path / "run", "none")
    assert again.communicate(timeout=60)[0].strip() == "DONE"
    # the shard's next writer removed the killed one's temp file
    assert not list((tmp_path / "run").rglob("*.tmp"))
    want = FeatureStore(tmp_path / "ref").open(key)
    fs = store.open(key)
    assert fs.is_complete("L05")
    np.testing.assert_array_equal(fs.array("L05")[:], want.array("L05")[:])
    assert _shard_files(tmp_path / "run", key) == _shard_files(tmp_path / "ref", key)
    crc = {s: r["crc32"] for s, r in fs.shard_records("L05").items()}
    assert crc == {s: r["crc32"] for s, r in want.shard_records("L05").items()}

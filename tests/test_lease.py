"""codecfake.lease: one holder across processes, named by host and pid; a holder killed with -9 is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from codecfake.lease import STALE_S, Holder, Lease, LeaseLost, acquire, holder_of, read_holder

HOLD = textwrap.dedent(
    """
    import sys, time
    from codecfake.lease import acquire
    lease = acquire(sys.argv[1], purpose="test")
    print("READY" if hasattr(lease, "release") else "BUSY", flush=True)
    time.sleep(600)
    """
)


def _holder_process(path: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "READY"
    return proc


def test_acquire_release_and_this_process_answers_for_its_own_lease(tmp_path: Path) -> None:
    path = tmp_path / "leases" / "3"
    lease = acquire(path, purpose="shard 3")
    assert isinstance(lease, Lease) and lease.previous is None
    assert holder_of(path) == lease.holder and lease.holder.pid == os.getpid()
    assert acquire(path) == lease.holder  # asking again in the same process never opens it twice
    on_disk = json.loads(path.read_bytes())
    assert (on_disk["pid"], on_disk["purpose"]) == (os.getpid(), "shard 3")
    lease.renew()
    assert lease.holder.renewed_unix >= lease.holder.started_unix
    lease.release()
    assert not path.exists() and holder_of(path) is None
    lease.release()  # idempotent


def test_a_live_holder_in_another_process_is_named_and_a_killed_one_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    proc = _holder_process(path)
    try:
        busy = acquire(path)
        assert isinstance(busy, Holder) and busy.pid == proc.pid and busy.here
        assert holder_of(path) == busy
        assert f"pid {proc.pid}" in busy.describe()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert holder_of(path) is None  # the kernel dropped the dead holder's lock; its file remains, stale
    assert read_holder(path).pid == proc.pid
    lease = acquire(path)
    assert isinstance(lease, Lease) and lease.previous.pid == proc.pid
    lease.release()


def test_another_hosts_renewed_lease_counts_as_held_until_it_is_stale(tmp_path: Path) -> None:
    path = tmp_path / "7"
    now = time.time()
    path.write_text(json.dumps({"host": "elsewhere", "pid": 9, "started_unix": now, "renewed_unix": now}))
    busy = acquire(path)  # its lock may not reach us (NFS mounted nolock): the renewal time decides
    assert isinstance(busy, Holder) and (busy.host, busy.pid) == ("elsewhere", 9)
    assert holder_of(path) == busy
    old = now - 2 * STALE_S
    path.write_text(json.dumps({"host": "elsewhere", "pid": 9, "started_unix": old, "renewed_unix": old}))
    assert holder_of(path) is None
    lease = acquire(path)
    assert isinstance(lease, Lease) and lease.previous.host == "elsewhere"
    lease.release()


def test_a_lease_whose_file_was_replaced_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "0"
    lease = acquire(path)
    path.unlink()
    path.write_text("{}")  # someone else's file now
    with pytest.raises(LeaseLost, match="lost its lease"):
        lease.check()
    lease.release()
    assert path.read_text() == "{}"  # not ours: left alone


def test_a_filesystem_without_locks_is_refused_unless_the_user_runs_one_writer(
    tmp_path: Path, monkeypatch
) -> None:
    import errno
    import fcntl

    from codecfake.lease import ENV_NO_LOCKS, LeaseUnsupported

    def no_flock(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    monkeypatch.delenv(ENV_NO_LOCKS, raising=False)
    with pytest.raises(LeaseUnsupported, match=f"no file locks.*{ENV_NO_LOCKS}=1"):
        acquire(tmp_path / "0")
    monkeypatch.setenv(ENV_NO_LOCKS, "1")
    lease = acquire(tmp_path / "0")
    assert isinstance(lease, Lease)
    lease.release()

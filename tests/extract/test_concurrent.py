"""Several extraction processes on one feature set share its shards through leases: each exits 0, no shard is
written twice, a holder killed with -9 mid-shard is taken over (its temp file removed), and the finished set
verifies and equals a serial extraction byte for byte. A second process asking to overwrite a set another one
writes is refused with the holder's host and pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from codecfake.corpus import load_manifest
from codecfake.corpus.build.tiny import make_tiny_corpus
from codecfake.extract import build_extractor
from codecfake.extract.pipeline import extract_manifest
from codecfake.store.errors import FeatureSetBusy
from codecfake.store.featurestore import FeatureStore
from codecfake.store.verify import verify
from codecfake.testing import StartedProcesses

SHARD = 3

# One extraction process: prints the shards it wrote. With HOLD=1 it claims the first shard it reaches, prints
# CLAIMED and blocks until the file GO exists; HOLD=tmp blocks the same way with that shard's bytes in their temp
# file (written, not yet renamed into place): the parent kills it there or lets it go.
WORKER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from codecfake import atomic
    from codecfake.corpus import load_manifest
    from codecfake.extract import build_extractor
    from codecfake.extract.pipeline import extract_manifest
    from codecfake.store.featureset import FeatureSet

    corpus, store, hold, go = sys.argv[1:5]
    wrote = []
    real_write = FeatureSet.write_shard
    def write_shard(self, name, s, *a, **k):
        wrote.append(s)
        return real_write(self, name, s, *a, **k)
    FeatureSet.write_shard = write_shard

    def block():
        print("CLAIMED", flush=True)
        while not Path(go).exists():
            time.sleep(0.05)

    mel = build_extractor("mel")
    class Held:  # the real extractor; with HOLD=1 its first call blocks (the shard is claimed, not written)
        first = hold == "1"
        def __getattr__(self, name):
            return getattr(mel, name)
        def __call__(self, wave):
            if Held.first:
                Held.first = False
                block()
            return mel(wave)
    if hold == "tmp":
        real_replace = os.replace
        def replace(a, b):
            if str(b).endswith("/c/0/0/0") and not Path(go).exists():
                block()
            return real_replace(a, b)
        atomic.os.replace = replace
    extract_manifest(load_manifest("codecfake", corpus), Held(), store, batch=2, shard_size=SHARD_SIZE, num_workers=0)
    print("WROTE", ",".join(map(str, sorted(set(wrote)))), flush=True)
    """
).replace("SHARD_SIZE", str(SHARD))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny-corpus")
    make_tiny_corpus(out)
    return out / "codec"


_STARTED = StartedProcesses()


@pytest.fixture(autouse=True)
def _no_process_left():
    """A failed assertion must not leave a worker blocked on its GO file."""
    yield
    _STARTED.kill_left()


def _start(script: Path, corpus: Path, store: Path, hold: str, go: Path) -> subprocess.Popen:
    proc = _STARTED.start(
        [sys.executable, str(script), str(corpus), str(store), hold, str(go)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc


def _wrote(proc: subprocess.Popen) -> set[int]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "Traceback" not in err, err
    line = [x for x in out.splitlines() if x.startswith("WROTE")][-1]
    return {int(s) for s in line.split()[1].split(",")} if len(line.split()) > 1 else set()


def _wait_for_rest(store: Path, holder_pid: int, timeout: float = 120) -> int:
    """Wait until every shard is committed or leased by ``holder_pid`` (which holds at least one); returns the
    number of shards. The other processes then have nothing left but to wait for the holder's shards."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        keys = FeatureStore(store).keys()
        if not keys or "mel" not in (fs := FeatureStore(store).open(keys[0])).arrays:
            continue
        held = {s for s, h in fs.leases.holders().items() if h.pid == holder_pid}
        if held and fs.committed("mel") | held == set(range(fs.n_shards)):
            return fs.n_shards
    raise AssertionError(f"{store}: shards neither committed nor held by {holder_pid} after {timeout} s")


def _files(store: Path) -> dict[str, bytes]:
    """Every file of the set that holds values (shards, metadata chunks), by path."""
    (key,) = FeatureStore(store).keys()
    base = store / key
    return {
        str(p.relative_to(base)): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file() and "/c/" in f"/{p.relative_to(base)}"
    }


def _serial(corpus: Path, store: Path) -> None:
    extract_manifest(
        load_manifest("codecfake", corpus), build_extractor("mel"), store, batch=2, shard_size=SHARD
    )


def _check_finished(store: Path, ref: Path) -> None:
    (key,) = FeatureStore(store).keys()
    assert FeatureStore(ref).keys() == [key]
    fs = FeatureStore(store).open(key)
    assert verify(fs).ok, verify(fs).problems
    assert _files(store) == _files(ref)  # byte for byte
    assert not list(store.rglob("*.tmp"))
    records = {s: r["crc32"] for s, r in fs.shard_records("mel").items()}
    want = FeatureStore(ref).open(key).shard_records("mel")
    assert records == {s: r["crc32"] for s, r in want.items()}


@pytest.mark.slow  # three interpreters starting at once: ~20 s on 2 loaded cores; the two-process tests stay fast
def test_three_processes_share_the_shards_of_one_set(corpus: Path, tmp_path: Path) -> None:
    script, go, store = tmp_path / "worker.py", tmp_path / "GO", tmp_path / "store"
    script.write_text(WORKER)
    first = _start(script, corpus, store, "1", go)  # holds shard 0 until GO
    assert first.stdout.readline().strip() == "CLAIMED"
    others = [_start(script, corpus, store, "0", go) for _ in range(2)]
    n_shards = _wait_for_rest(store, first.pid)  # the two others wrote every shard but the held one
    go.touch()
    a, b, c = _wrote(first), *(_wrote(p) for p in others)
    assert a == {0}  # the holder finished its shard; the others never touched it
    assert not (b & c) and b | c == set(range(1, n_shards))  # no shard written twice
    _serial(corpus, tmp_path / "ref")
    _check_finished(store, tmp_path / "ref")


@pytest.mark.parametrize(
    "where", ["1", "tmp"]
)  # killed while computing shard 0 / with its bytes in a temp file
def test_a_holder_killed_mid_shard_is_taken_over(corpus: Path, tmp_path: Path, where: str) -> None:
    script, go, store = tmp_path / "worker.py", tmp_path / "GO", tmp_path / "store"
    script.write_text(WORKER)
    victim = _start(script, corpus, store, where, go)
    assert victim.stdout.readline().strip() == "CLAIMED"
    if where == "tmp":
        assert list(store.rglob(".0.*.tmp"))  # shard 0's bytes in their temp file
    other = _start(script, corpus, store, "0", go)
    n_shards = _wait_for_rest(
        store, victim.pid
    )  # everything but the victim's shards; the other waits for them
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    assert _wrote(other) == set(range(n_shards))  # took shard 0 over once its holder died
    _serial(corpus, tmp_path / "ref")
    _check_finished(store, tmp_path / "ref")


def test_overwriting_a_set_another_process_writes_is_refused_with_its_pid(
    corpus: Path, tmp_path: Path
) -> None:
    script, go, store = tmp_path / "worker.py", tmp_path / "GO", tmp_path / "store"
    script.write_text(WORKER)
    holder = _start(script, corpus, store, "1", go)
    try:
        assert holder.stdout.readline().strip() == "CLAIMED"
        (key,) = FeatureStore(store).keys()
        rm = subprocess.run(
            [sys.executable, "-m", "codecfake", "store", "rm", key, "--store", str(store)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        with pytest.raises(FeatureSetBusy, match=f"pid {holder.pid}"):  # what --force asks
            extract_manifest(
                load_manifest("codecfake", corpus),
                build_extractor("mel"),
                store,
                shard_size=SHARD,
                mode="overwrite",
            )
    finally:
        go.touch()
    assert rm.returncode == 2 and "Traceback" not in rm.stderr
    assert f"pid {holder.pid}" in rm.stderr and "cannot remove or overwrite the set" in rm.stderr
    assert _wrote(holder)  # the holder was not disturbed

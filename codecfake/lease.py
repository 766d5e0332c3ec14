"""Leases: one holder at a time of a named thing (a feature-set shard, a run folder) across processes and machines
that share a filesystem, with a holder that names itself and a takeover when the holder is gone.

A lease is a small file. Its holder keeps it open with an exclusive ``flock``, and its content names the holder:
host, pid, start time, last renewal (a thread in the holding process rewrites it every ``RENEW_S`` seconds).

- **Held** when the lock cannot be taken (a live process holds it: the kernel drops the lock of a process that dies,
  even by ``kill -9``; over NFS the server drops a dead client's locks when its lease ends, NFSv4: ~90 s), or when the
  file names another host whose renewal is younger than ``STALE_S`` (filesystems whose locks do not reach other hosts,
  e.g. NFS mounted ``nolock``: there the renewal time alone decides, so host clocks must agree within seconds).
- **Stale** otherwise: the next ``acquire`` takes it over and says whose it was.
- **Released** by unlinking the file, then closing it. A waiter that opened the old file before the unlink finds, once
  it has the lock, that the path no longer leads to its file, and starts again: two holders never coexist.

A filesystem without ``flock`` (some FUSE mounts) cannot make this safe: ``acquire`` raises ``LeaseUnsupported``
(``CODECFAKE_NO_LOCKS=1`` goes on without locks, for one writer at a time).
A lease is never opened twice in one process (closing a second descriptor would drop an NFS lock): this module keeps
the process's leases and answers for them itself. A leaf module: imports nothing of ours but ``codecfake.errors``.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codecfake.errors import CodecfakeError

__all__ = [
    "RENEW_S",
    "STALE_S",
    "Holder",
    "Lease",
    "LeaseLost",
    "LeaseUnsupported",
    "acquire",
    "holder_of",
    "own_lease",
    "read_holder",
]

log = logging.getLogger(__name__)

RENEW_S = 10.0  # how often a holder rewrites its renewal time
STALE_S = (
    60.0  # another host's lease whose renewal is older than this is stale (only where locks miss that host)
)
_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)
ENV_NO_LOCKS = "CODECFAKE_NO_LOCKS"  # "1": where flock is missing, go on without it (one writer at a time)
_HOST = socket.gethostname()


class LeaseUnsupported(CodecfakeError):
    """The filesystem offers no file locks, so two processes could not be kept apart."""


class LeaseLost(CodecfakeError):
    """A lease this process held was taken over (its file replaced) while it worked."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a lease, from its file."""

    host: str
    pid: int
    started_unix: float
    renewed_unix: float
    purpose: str = ""

    @property
    def here(self) -> bool:
        return self.host == _HOST

    def age_s(self, now: float | None = None) -> float:
        """Seconds since the last renewal."""
        return max(0.0, (time.time() if now is None else now) - self.renewed_unix)

    def describe(self) -> str:
        """``host h pid 123 (started 2024-…Z, renewed 3 s ago)``."""
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started_unix))
        return f"host {self.host} pid {self.pid} (started {started}, renewed {self.age_s():.0f} s ago)"

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "pid": self.pid,
            "started_unix": self.started_unix,
            "renewed_unix": self.renewed_unix,
            "purpose": self.purpose,
        }


def _parse(blob: bytes) -> Holder | None:
    try:
        doc = json.loads(blob.rstrip(b"\0 \n") or b"null")
        return Holder(
            str(doc["host"]),
            int(doc["pid"]),
            float(doc["started_unix"]),
            float(doc["renewed_unix"]),
            str(doc.get("purpose", "")),
        )
    except (ValueError, TypeError, KeyError):  # empty, torn by a concurrent rewrite, or not ours
        return None


def read_holder(path: str | Path) -> Holder | None:
    """The holder a lease file names (its last holder, alive or not); None when absent or unreadable."""
    own = _HELD.get(str(path))
    if own is not None:
        return own.holder
    try:
        return _parse(Path(path).read_bytes())
    except (FileNotFoundError, NotADirectoryError):
        return None


class Lease:
    """A lease this process holds; ``release()`` (or leaving a ``with`` block) gives it back."""

    def __init__(self, path: Path, fd: int, holder: Holder, previous: Holder | None):
        self.path, self.fd, self.holder = path, fd, holder
        self.previous = previous  # the stale holder taken over, if any
        self.lost = False
        self._lock = threading.Lock()  # the renewer thread never writes through a descriptor release() closed

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _ours(self) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(self.fd).st_ino
        except FileNotFoundError:
            return False

    def check(self) -> None:
        """Raise ``LeaseLost`` when the lease file is no longer this holder's."""
        with self._lock:
            if self.fd >= 0 and not self.lost and self._ours():
                return
            self.lost = True
        try:
            now = _parse(self.path.read_bytes())
        except OSError:
            now = None
        raise LeaseLost(
            f"{self.path}: this process ({self.holder.describe()}) lost its lease"
            f"{' to ' + now.describe() if now else ''}; what it was writing there was not committed"
        )

    def renew(self) -> None:
        """Rewrite the renewal time (the holding process's renewer thread calls this every ``RENEW_S``)."""
        with self._lock:
            if self.fd < 0:
                return
            if not self._ours():
                self.lost = True
                return
            self.holder = Holder(**{**self.holder.to_json(), "renewed_unix": time.time()})
            _write(self.fd, self.holder)

    def release(self) -> None:
        """Unlink the file (if still ours), then close it; idempotent."""
        with self._lock:
            if self.fd < 0:
                return
            _HELD.pop(str(self.path), None)
            try:
                if self._ours():
                    self.path.unlink(missing_ok=True)
            finally:
                os.close(self.fd)
                self.fd = -1


_HELD: dict[str, Lease] = {}  # this process's leases by path
_renewer: threading.Thread | None = None
_renewer_lock = threading.Lock()


def _renew_forever() -> None:
    while True:
        time.sleep(RENEW_S)
        for lease in list(_HELD.values()):
            try:
                lease.renew()
            except OSError as err:  # a vanished folder, a full disk: the next check() tells the holder
                log.debug("%s: renewal failed: %s", lease.path, err)


def _start_renewer() -> None:
    global _renewer
    with _renewer_lock:
        if _renewer is None or not _renewer.is_alive():
            _renewer = threading.Thread(target=_renew_forever, name="lease-renewer", daemon=True)
            _renewer.start()


def _forget_in_child() -> None:
    """A forked child (a DataLoader worker) holds none of its parent's leases: close its copies of their files, so
    that a parent killed with -9 does not leave its locks alive in children that outlive it."""
    global _renewer
    for lease in list(_HELD.values()):
        try:
            os.close(lease.fd)
        except OSError:
            pass
        lease.fd = -1
        lease._lock = threading.Lock()  # copied as the parent's renewer may have held it
    _HELD.clear()
    _renewer = None


os.register_at_fork(after_in_child=_forget_in_child)


def _write(fd: int, holder: Holder) -> None:
    blob = json.dumps(holder.to_json(), sort_keys=True).encode()
    os.pwrite(fd, blob.ljust(256), 0)  # fixed width: a reader never sees the tail of a longer old text
    os.ftruncate(fd, max(256, len(blob)))


def _lock(fd: int, path: Path) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError as err:
        if err.errno not in _NO_LOCKS:
            raise
        if os.environ.get(ENV_NO_LOCKS) == "1":  # the user runs one writer at a time, by hand
            log.warning(
                "%s: no file locks on this filesystem; %s=1: nothing keeps two writers apart",
                path,
                ENV_NO_LOCKS,
            )
            return True
        raise LeaseUnsupported(
            f"{path}: this filesystem offers no file locks (flock: {os.strerror(err.errno)}), so two processes "
            "could not be kept from writing one thing at once; use a local disk or a mount with locking (NFS "
            f"without 'nolock'), or run one writer at a time with {ENV_NO_LOCKS}=1"
        ) from None


def _holder_once_written(fd: int) -> Holder:
    """The holder named in a locked lease file; its holder may have locked it a moment ago and not written yet."""
    for attempt in range(20):
        holder = _parse(os.pread(fd, 4096, 0))
        if holder is not None:
            return holder
        time.sleep(0.005 * (attempt + 1))
    return Holder("(unknown)", 0, 0.0, 0.0)


def own_lease(path: str | Path) -> Lease | None:
    """The lease at ``path`` if this process holds it."""
    return _HELD.get(str(Path(path)))


def holder_of(path: str | Path, *, stale_s: float = STALE_S) -> Holder | None:
    """The live holder of the lease at ``path`` (this process included), or None when it is free or stale."""
    path = Path(path)
    own = _HELD.get(str(path))
    if own is not None:
        return own.holder
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        holder = _parse(os.pread(fd, 4096, 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # succeeds only while nobody holds it exclusively
        except BlockingIOError:
            return holder or _holder_once_written(fd)
        except OSError as err:
            if err.errno not in _NO_LOCKS:
                raise
        if holder is not None and not holder.here and holder.age_s() < stale_s:
            return holder  # another host, renewed lately: its lock may not reach us
        return None
    finally:
        os.close(fd)


def acquire(path: str | Path, *, purpose: str = "", stale_s: float = STALE_S) -> Lease | Holder:
    """Take the lease at ``path`` (folders created): a ``Lease``, or the live ``Holder`` that has it.

    A stale lease (its holder died) is taken over; ``Lease.previous`` then names the holder it was."""
    path = Path(path)
    if str(path) in _HELD:
        return _HELD[str(path)].holder
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except (
            FileNotFoundError
        ):  # the folder was removed meanwhile (a holder tidying up an empty run folder)
            path.parent.mkdir(parents=True, exist_ok=True)
            continue
        try:
            if not _lock(fd, path):
                holder = _holder_once_written(fd)
                os.close(fd)
                return holder
            try:
                same_file = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same_file = False
            if not same_file:  # released (unlinked) between our open and our lock: open the new file
                os.close(fd)
                continue
            previous = _parse(os.pread(fd, 4096, 0))
            if previous is not None and not previous.here and previous.age_s() < stale_s:
                os.close(fd)  # another host renews it: its lock did not reach us
                return previous
        except BaseException:
            os.close(fd)
            raise
        now = time.time()
        lease = Lease(path, fd, Holder(_HOST, os.getpid(), now, now, purpose), previous)
        _write(fd, lease.holder)
        _HELD[str(path)] = lease
        _start_renewer()
        if previous is not None:
            log.info("%s: took over the stale lease of %s", path, previous.describe())
        return lease

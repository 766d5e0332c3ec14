"""One way to replace a file so that a reader sees the old content or the new, never a torn mix.

Write to a temporary sibling ``.<name>.<pid>.<thread>.tmp``, flush and ``fdatasync`` it, ``os.replace`` it over the
target, then (optionally) fsync the directory — and every directory the write had to create — so the rename itself
survives a power cut. A writer killed mid-way leaves its temporary sibling behind: ``stale_temps`` lists them and
``remove_stale_temps`` deletes them (only the target's one writer may, e.g. the holder of a feature-store shard
lease). A leaf module: imports nothing of ours.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = [
    "fsync_path",
    "atomic_open",
    "write_atomic",
    "write_json_atomic",
    "temp_path",
    "is_temp_name",
    "stale_temps",
    "remove_stale_temps",
]

TEMP_SUFFIX = ".tmp"
# fdatasync: the data and the size needed to read it back (Linux); fsync where it does not exist
_sync_data = getattr(os, "fdatasync", os.fsync)


def fsync_path(path: str | Path) -> None:
    """Flush a file (or a directory's entry table) to stable storage."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(path: str | Path) -> Path:
    """The temporary sibling this process and thread write ``path`` through: ``.<name>.<pid>.<thread>.tmp``."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}{TEMP_SUFFIX}")


def is_temp_name(name: str) -> bool:
    """True for a file name ``temp_path`` makes (whoever wrote it)."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX) and name.count(".") >= 4


def stale_temps(path: str | Path) -> list[Path]:
    """Temporary siblings of ``path`` that exist now, from any writer (a live one's too: the caller decides)."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    return sorted(path.parent.glob(f".{path.name}.*{TEMP_SUFFIX}"))


def remove_stale_temps(path: str | Path) -> int:
    """Delete the temporary siblings of ``path`` a killed writer left; returns how many. Call it only as the one
    writer of ``path`` (another live writer's temp file would vanish under it)."""
    found = stale_temps(path)
    for tmp in found:
        tmp.unlink(missing_ok=True)
    return len(found)


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns the folders whose entry tables changed (to be fsynced)."""
    missing = []
    p = folder
    while not p.is_dir():
        missing.append(p)
        p = p.parent
    if missing:
        folder.mkdir(parents=True, exist_ok=True)
    return [m.parent for m in missing]


@contextmanager
def atomic_open(
    path: str | Path, mode: str = "w", *, fsync: bool = True, durable_dir: bool = False, **open_kwargs: Any
) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; on a clean exit it replaces ``path``, on an error it is removed.

    ``mode`` is ``"w"`` (text; ``open_kwargs`` such as ``encoding``/``newline`` pass through) or ``"wb"``. Parent
    folders are created. ``fsync=False`` skips flushing the file to disk (the rename stays atomic; a caller that
    batches durability fsyncs later); ``durable_dir`` also fsyncs the folder after the rename, and the parents of any
    folders this call created (commit records, shard files). The temporary name holds the process and thread id, so
    concurrent writers of one path never share a temp file.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', not {mode!r}")
    path = Path(path)
    created = _make_parents(path.parent)
    tmp = temp_path(path)
    try:
        with open(tmp, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            if fsync:
                _sync_data(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable_dir:
        for folder in [path.parent, *created]:
            fsync_path(folder)


def write_atomic(
    path: str | Path, data: str | bytes | memoryview, *, fsync: bool = True, durable_dir: bool = False
) -> Path:
    """Replace ``path`` with ``data`` (str as UTF-8 text, bytes-like as is), atomically. Returns ``path``."""
    mode = "w" if isinstance(data, str) else "wb"
    kwargs: dict[str, Any] = {} if mode == "wb" else {"encoding": "utf-8", "newline": "\n"}
    with atomic_open(path, mode, fsync=fsync, durable_dir=durable_dir, **kwargs) as fh:
        fh.write(data)
    return Path(path)


def write_json_atomic(path: str | Path, doc: Any, *, indent: int | None = 1, sort_keys: bool = True) -> Path:
    """Replace ``path`` with ``doc`` as JSON (indented, keys sorted; no trailing newline), atomically."""
    return write_atomic(path, json.dumps(doc, indent=indent, sort_keys=sort_keys))

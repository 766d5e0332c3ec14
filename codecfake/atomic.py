"""One way to replace a file so that a reader sees the old content or the new, never a torn mix.

Write to a temporary sibling ``.<name>.<pid>.<thread>.tmp``, flush and fsync it, ``os.replace`` it over the target, then
(optionally) fsync the directory so the rename itself survives a power cut. A leaf module: imports nothing of ours.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["fsync_path", "atomic_open", "write_atomic", "write_json_atomic"]


def fsync_path(path: str | Path) -> None:
    """Flush a file (or a directory's entry table) to stable storage."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_open(
    path: str | Path, mode: str = "w", *, fsync: bool = True, durable_dir: bool = False, **open_kwargs: Any
) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; on a clean exit it replaces ``path``, on an error it is removed.

    ``mode`` is ``"w"`` (text; ``open_kwargs`` such as ``encoding``/``newline`` pass through) or ``"wb"``. Parent
    folders are created. ``fsync=False`` skips flushing the file to disk (the rename stays atomic; a caller that
    batches durability fsyncs later); ``durable_dir`` also fsyncs the folder after the rename (commit records). The
    temporary name holds the process and thread id, so concurrent writers of one path never share a temp file.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', not {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable_dir:
        fsync_path(path.parent)


def write_atomic(
    path: str | Path, data: str | bytes, *, fsync: bool = True, durable_dir: bool = False
) -> Path:
    """Replace ``path`` with ``data`` (str as UTF-8 text, bytes as is), atomically. Returns ``path``."""
    mode = "wb" if isinstance(data, bytes) else "w"
    kwargs: dict[str, Any] = {} if mode == "wb" else {"encoding": "utf-8", "newline": "\n"}
    with atomic_open(path, mode, fsync=fsync, durable_dir=durable_dir, **kwargs) as fh:
        fh.write(data)
    return Path(path)


def write_json_atomic(path: str | Path, doc: Any, *, indent: int | None = 1, sort_keys: bool = True) -> Path:
    """Replace ``path`` with ``doc`` as JSON (indented, keys sorted; no trailing newline), atomically."""
    return write_atomic(path, json.dumps(doc, indent=indent, sort_keys=sort_keys))

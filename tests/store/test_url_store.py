"""A feature store served over HTTP on 127.0.0.1 opens read-only and reads back what was written locally."""

from __future__ import annotations

import functools
import http.server
import io
import threading
from pathlib import Path

import numpy as np
import pytest

from codecfake.store import FeatureStore, ReadOnlyStore
from codecfake.store.testing import make_data, make_meta, make_spec, write_all


@pytest.fixture
def served(tmp_path: Path):
    """(url of a store holding one complete set, its key, the data written); the server stops after the test."""
    root = tmp_path / "features"
    fs = FeatureStore(root).create(make_spec(), make_meta(), shard_size=4)
    data = make_data()
    write_all(fs, "L05", data, rejects={1: [(2, "corrupt audio")]})
    fs.finalize("L05")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/features", fs.key, data
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with single byte ranges (``Range: bytes=a-b``, ``a-``, ``-n``), as any real web server: the
    reader fetches one clip's chunk out of a shard file by range."""

    def log_message(self, *args) -> None:  # no request lines on stderr
        pass

    def send_head(self):  # noqa: ANN201 - the base class's protocol
        rng = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not rng or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        first, _, last = rng.removeprefix("bytes=").partition("-")
        start, end = (
            (size - int(last), size - 1) if not first else (int(first), int(last) if last else size - 1)
        )
        start, end = max(start, 0), min(end, size - 1)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        with open(path, "rb") as fh:
            fh.seek(start)
            return io.BytesIO(fh.read(end - start + 1))


def test_url_store_reads_what_was_written_and_refuses_writes(served) -> None:
    url, key, data = served
    store = FeatureStore(url)
    assert store.read_only
    fs = store.open(key)
    assert fs.spec == make_spec() and fs.is_complete("L05") and fs.n_clips == len(data)
    want = data.astype(np.float16)
    want[6] = 0  # shard 1, clip 2 was rejected: stored as zeros, marked invalid
    np.testing.assert_array_equal(fs.reader("L05").batch(np.arange(len(data))), want)
    assert fs.valid("L05").tolist() == [i != 6 for i in range(len(data))]
    assert store.keys() == [key] and [i.key for i in store.list()] == [key]
    np.testing.assert_array_equal(fs.meta["label"], make_meta()["label"])
    with pytest.raises(ReadOnlyStore, match="read-only"):
        store.create(make_spec(corpus="other"), make_meta())
    with pytest.raises(ReadOnlyStore, match="read-only"):
        store.remove(key)

"""Two builds of the small demo corpus from the real packages give bit-identical audio (slow: ~1 min per build)."""

from pathlib import Path

import pytest

from codecfake.corpus.build.mini_codecfake import SUMS, build_demo
from codecfake.corpus.build.sources import SourceError

CACHE = Path(__file__).resolve().parents[3] / "cache"  # the repository's download cache, as `make demo` uses


@pytest.mark.slow
def test_small_demo_corpus_builds_bit_identically_twice(tmp_path: Path) -> None:
    pytest.importorskip("pycodec2")
    pytest.importorskip("pyworld")
    try:
        a = build_demo(tmp_path / "a", size="small", cache=CACHE, workers=2)
    except SourceError as err:
        pytest.skip(f"demo sources not available offline: {err}")
    b = build_demo(tmp_path / "b", size="small", cache=CACHE, workers=1)  # other worker count, other order
    sums_a, sums_b = (a / SUMS).read_text(), (b / SUMS).read_text()
    assert len(sums_a.splitlines()) > 200
    assert "codec/test/C7/F07_" in sums_a and "/flac/LA_E_" in sums_a
    assert sums_a == sums_b

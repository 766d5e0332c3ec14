"""Corpus fixtures. ``demo_small`` builds the real small demo corpus once per session (needs apt/pip: slow + net)."""

from pathlib import Path

import pytest

from codecfake.corpus.build.tiny import make_tiny_corpus

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(codec_root, vocoder_root) of generated audio in the real formats; < 3 s, offline."""
    return make_tiny_corpus(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def demo_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`codecfake corpus demo --size small` into a temp folder; downloads go to the repo's cache/ (reused)."""
    from codecfake.app.cli import main

    out = tmp_path_factory.mktemp("demo") / "mini-codecfake"
    assert main(["corpus", "demo", "--out", str(out), "--size", "small", "--cache", str(REPO / "cache")]) == 0
    return out

"""Fixtures of the extract tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from codecfake.extract.testing import save_tiny_model


@pytest.fixture(scope="session")
def tiny_xlsr(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny-xlsr"), "xlsr", stable=True)

"""Fixtures of the evaluate tests (the helpers they call live in ``codecfake.evaluate.testing``)."""

from __future__ import annotations

import pytest
import torch

from codecfake.evaluate.testing import Env, make_env


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    torch.set_num_threads(1)
    return make_env(tmp_path_factory.mktemp("eval"))

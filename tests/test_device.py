"""`--device` resolution shared by extract, train and evaluate."""

import pytest
import torch

from codecfake.device import DeviceUnavailable, resolve_device


def test_auto_and_cpu() -> None:
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_cuda_without_cuda_fails_with_the_fix() -> None:
    with pytest.raises(DeviceUnavailable, match="use --device cpu"):
        resolve_device("cuda:0")

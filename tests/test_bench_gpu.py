"""bench/gpu.py without a GPU: arguments, the FLOP/peak arithmetic, the refusal on a CUDA-less machine, and the
result's shape from the --tiny smoke run on CPU. The real run is ``make bench-gpu`` (and the gpu-marked test)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench import gpu, gpu_lib


@pytest.mark.parametrize(
    ("name", "tflops"),
    [
        ("NVIDIA H100 80GB HBM3", 989.0),
        ("NVIDIA H200", 989.0),
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA A100-SXM4-80GB", 312.0),
        ("NVIDIA L4", 121.0),
        ("Tesla V100-SXM2-16GB", None),
    ],
)
def test_peak_table_matches_gpu_names(name: str, tflops: float | None) -> None:
    assert gpu_lib.peak_bf16_tflops(name) == tflops


def test_flop_share_arithmetic() -> None:
    # 2,000 clips/s x 48 GFLOP = 96 TFLOP/s, on a 989 TFLOP/s H100: 9.7 %
    assert gpu_lib.flop_share(2000.0, 989.0) == pytest.approx(96e12 / 989e12)
    assert gpu_lib.flop_share(100.0, 312.0, gflop_per_clip=3.12) == pytest.approx(0.001)
    assert gpu_lib.flop_share(100.0, None) is None


def test_arguments_and_tiny_sizes() -> None:
    full = gpu.parse_args([])
    assert full.device == "cuda" and not full.tiny and full.clips == 1024 and full.out.name == "gpu.json"
    tiny = gpu.parse_args(["--tiny", "--device", "cpu", "--seconds", "5"])
    assert tiny.tiny and tiny.clips == 8 and tiny.seconds == 0.5


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_it_stops_before_building_anything() -> None:
    with pytest.raises(gpu_lib.NoCuda, match="no CUDA device"):
        gpu.main([])
    with pytest.raises(gpu_lib.NoCuda, match="only for the --tiny"):
        gpu.main(["--device", "cpu"])


@pytest.mark.slow
def test_tiny_run_on_cpu_has_every_section(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    result = gpu.main(["--tiny", "--device", "cpu", "--seconds", "0.01", "--out", str(out)])
    assert not out.exists()  # a smoke run writes no result
    assert {(c["precision"], c["batch"]) for c in result["extraction"]} == {
        (p, b) for p in ("fp32", "bf16") for b in (2, 4)
    }
    assert all(
        c["end_to_end_clips_per_s"] > 0 and c["forward_share_of_bf16_peak"] is None
        for c in result["extraction"]
    )
    assert {(c["opt"], c["precision"]) for c in result["training"]} == {
        (o, p) for o in ("adam", "csam") for p in ("fp32", "bf16")
    }
    assert result["loader"]["steps"] >= 2 and 0 <= result["loader"]["data_wait_share"] <= 1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_tiny_run_on_gpu(tmp_path: Path) -> None:
    result = gpu.main(["--tiny", "--device", "cuda", "--seconds", "0.1", "--out", str(tmp_path / "gpu.json")])
    assert result["gpu"]["memory_gib"] > 0 and result["training"][0]["steps_per_s"] > 0

"""Baselines on synthetic mel sets: band-limited spoofs must be caught as an artefact by the HF-energy score."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codecfake.evaluate.baselines import band_centres_hz, clip_statistics, run_baselines
from codecfake.evaluate.errors import EvaluationError


def test_band_centres_follow_the_htk_filterbank() -> None:
    import torch

    from codecfake.extract.mel import mel_filterbank

    fb = mel_filterbank(257, 80, 16000, 0.0, 8000.0)  # (F, M)
    freqs = np.linspace(0, 8000, 257)
    peak = freqs[torch.argmax(fb, dim=0).numpy()]
    centres = band_centres_hz({"f_min_hz": 0.0, "f_max_hz": 8000.0}, 80)
    assert np.all(
        np.abs(peak - centres) <= 8000 / 256 / 2 + 1e-9
    )  # peaks on the FFT grid nearest each centre
    # mel(3400 Hz) = 1992.2, spacing mel(8000)/81 = 35.06 -> centres 57..80 lie above: 24 bands
    assert int((centres > 3400).sum()) == 24


def test_clip_statistics_log_and_power_agree() -> None:
    rng = np.random.default_rng(0)
    power = rng.gamma(2.0, 1.0, (3, 10, 80)).astype(np.float32)
    high = np.arange(80) >= 60
    hf_p, st_p = clip_statistics(power, is_log=False, high=high)
    hf_l, st_l = clip_statistics(np.log(power), is_log=True, high=high)
    np.testing.assert_allclose(hf_p, hf_l, rtol=1e-5)
    np.testing.assert_allclose(st_p, st_l, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(hf_p, np.log(power[:, :, 60:].sum(axis=2).mean(axis=1)), rtol=1e-5)


def test_run_baselines_flags_band_limited_conditions(env) -> None:
    from codecfake.store import FeatureStore

    store = FeatureStore(env.store_root)
    table = run_baselines(store, [env.keys["codec"], env.keys["la"]])
    by = {r.condition: r for r in table.rows}
    assert list(by) == ["19LA", "C1", "C2", "A1"]
    # C1/C2 spoofs lost every band from 60 (~4.6 kHz) up: trivially separable -> artefact; A1 only bands >= 78
    assert by["C1"].hf_eer == 0.0 and by["C1"].artefact and not by["C1"].hf_flipped
    assert by["C1"].lr_trained_on == "mini-codecfake train" and by["19LA"].lr_trained_on == "mini-19la train"
    assert all(not math.isnan(r.lr_eer) for r in table.rows)
    md = table.to_markdown()
    assert "| C1 | mini-codecfake | 6 | 6 | 0.000 | ⚠ yes |" in md
    assert [name for name, _ in table.as_run_rows()] == [
        "baseline: HF energy > 3.4 kHz",
        "baseline: LR mean/std log-mel",
    ]


def test_run_baselines_refuses_non_mel_sets(env) -> None:
    from codecfake.store import FeatureStore

    with pytest.raises(EvaluationError, match="array 'L05'"):
        run_baselines(FeatureStore(env.store_root), [env.keys["codec"]], array="L05")

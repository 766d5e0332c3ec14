"""RawBoost against the effects the paper describes for each algorithm (not against any implementation's numbers)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from codecfake.augment import rawboost as rb
from codecfake.augment.recipe import parse_augment

SR = 16000


def _params(**over) -> dict:
    return {**dict(parse_augment("rawboost")[0].recipe.params), **over}


def _sine(f0: float, n: int = 16000) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * f0 * np.arange(n) / SR)).astype(np.float32)  # as clips arrive


def _band_power(x: np.ndarray, f: float, width: float = 20.0) -> float:
    freqs, p = signal.periodogram(x, SR)
    return float(p[(freqs > f - width) & (freqs < f + width)].sum())


def test_notch_bank_removes_its_bands_and_peaks_at_the_gain():
    rng = np.random.default_rng(0)
    p = _params(bands=3, bw=(600.0, 900.0), coeff=(101.0, 101.0))
    taps, centres = rb.notch_bank(rng, p, gain_db=-6.0)
    freqs, h = signal.freqz(taps, 1, worN=8192, fs=SR)
    mag_db = 20 * np.log10(np.abs(h) + 1e-12)
    assert mag_db.max() == pytest.approx(-6.0, abs=0.05)
    for fc in centres:  # each drawn notch centre is at least 20 dB below the peak
        assert mag_db[np.argmin(np.abs(freqs - fc))] < -26.0


def test_lnl_is_convolutive_and_non_linear():
    x = _sine(440.0)
    linear = rb.lnl(x, np.random.default_rng(1), _params(n_f=1, bands=1, f=(6000.0, 7000.0)))
    assert _band_power(linear, 880) < 1e-6 * _band_power(linear, 440)  # linear filtering adds no harmonic
    nonlin = rb.lnl(x, np.random.default_rng(1), _params(n_f=3, bands=1, f=(6000.0, 7000.0), bias=(5.0, 5.0)))
    for harmonic in (880, 1320):  # x^2 -> 2 f0, x^3 -> 3 f0: energy where the linear path has none
        assert _band_power(nonlin, harmonic) > 1e3 * _band_power(linear, harmonic)
    assert abs(nonlin.mean()) < 1e-6 and np.abs(nonlin).max() <= 1.0


def test_isd_hits_few_samples_in_proportion_to_the_signal():
    x = _sine(300.0)
    x[:8000] = 0.0  # silence stays silent: the noise is signal-dependent
    y = rb.isd(x, np.random.default_rng(2), _params(p=10.0, g_sd=2.0))
    hit = y != x
    assert hit.any() and hit.mean() <= 0.10
    assert not hit[:8000].any()
    assert np.all(np.abs(y - x) <= 2.0 * np.abs(x) + 1e-12)


def test_ssi_adds_noise_at_the_drawn_snr():
    x = _sine(300.0)
    for lo, hi in ((20.0, 20.0), (10.0, 40.0)):
        y = rb.ssi(x, np.random.default_rng(3), _params(snr=(lo, hi)))
        snr = 10 * np.log10(np.sum(x**2) / np.sum((y - x) ** 2))
        assert lo - 1e-6 <= snr <= hi + 1e-6
    quiet = rb.ssi(np.zeros(4000), np.random.default_rng(3), _params())
    assert np.all(quiet == 0.0)  # the scale follows the clip's energy


@pytest.mark.parametrize("algo", range(1, 9))
def test_every_algorithm_is_deterministic_finite_and_changes_the_clip(algo):
    x = _sine(200.0, 8000) + 0.01 * np.random.default_rng(9).standard_normal(8000, dtype=np.float32)
    p = _params(algo=algo, coeff=(11.0, 31.0))
    a = rb.rawboost(x, np.random.default_rng(5), p)
    b = rb.rawboost(x, np.random.default_rng(5), p)
    assert a.shape == x.shape and np.isfinite(a).all()
    assert np.array_equal(a, b) and not np.allclose(a, x)


def test_series_and_parallel_compositions():
    x = _sine(200.0, 8000)
    p = _params(coeff=(11.0, 31.0))
    series = rb.rawboost(x, np.random.default_rng(4), {**p, "algo": 5})
    rng = np.random.default_rng(4)
    by_hand = rb.isd(rb.lnl(x, rng, p), rng, p)  # one generator through both steps, in order
    assert np.array_equal(series, by_hand)
    rng = np.random.default_rng(4)
    parallel = rb.rawboost(x, np.random.default_rng(4), {**p, "algo": 8})
    both = rb.lnl(x, rng, p) + rb.isd(x, rng, p)
    assert np.allclose(parallel, both / max(1.0, np.abs(both).max()))


@pytest.mark.parametrize(
    ("n", "f1", "f2"), [(11, 100.0, 900.0), (101, 2000.0, 2600.0), (51, 7400.0, 7999.999)]
)
def test_bandstop_is_scipys_hamming_firwin_design(n, f1, f2):
    expect = signal.firwin(n, [f1, f2], window="hamming", pass_zero="bandstop", fs=SR)
    assert np.allclose(rb.bandstop(n, f1, f2), expect, atol=1e-12)

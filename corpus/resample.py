"""Resampling to 16 kHz: soxr (fast, "HQ") or the release's own resampler, ``kaiser_best``.

The release loads every clip with ``librosa.load(path, sr=16000)`` under ``librosa==0.9.1``, whose default
``res_type="kaiser_best"`` calls resampy's band-limited sinc interpolation and then pads (with zeros) or cuts the
result to ``ceil(n * 16000 / sr)`` samples. :func:`kaiser_best` computes the same numbers without resampy (which
needs numba): the filter is a Kaiser-windowed sinc with 50 zero crossings, 2**13 table entries per crossing,
roll-off 0.9173473712608761 of Nyquist and Kaiser beta 12.984585247035701 (these rebuild resampy's stored
``kaiser_best`` table to 2.4e-15), linearly interpolated between table entries; each output sample is accumulated
in the input's float32, left wing then right wing, as resampy's loop does, so the result matches resampy's.
"""

from __future__ import annotations

import functools

import numpy as np
import soxr

from codecfake.errors import CodecfakeError


class UnknownResampler(CodecfakeError, ValueError):
    """The resampler name is not one of RESAMPLERS."""


RESAMPLERS = (
    "soxr_hq",
    "kaiser_best",
)  # librosa's res_type names; soxr_hq is what soxr.resample does by default
DEFAULT_RESAMPLER = "soxr_hq"  # the library default; the paper path's is chosen by `codecfake features` (extract/cli_common.py)

# resampy's kaiser_best filter, as parameters
_ZEROS = 50
_TABLE_PER_ZERO = 2**13
_ROLLOFF = 0.9173473712608761
_BETA = 12.984585247035701


@functools.lru_cache(maxsize=1)
def kaiser_best_table() -> np.ndarray:
    """The right half of the interpolation filter, (50 * 8192 + 1,) float64, read-only."""
    from scipy.signal.windows import kaiser

    n = _ZEROS * _TABLE_PER_ZERO
    sinc = _ROLLOFF * np.sinc(_ROLLOFF * np.linspace(0, _ZEROS, num=n + 1, endpoint=True))
    table = kaiser(2 * n + 1, _BETA)[n:] * sinc
    table.setflags(write=False)
    return table


def release_length(n: int, sr_in: int, sr_out: int) -> int:
    """librosa 0.9.1's output length: ``ceil(n * sr_out / sr_in)`` in its float arithmetic."""
    return int(np.ceil(n * (float(sr_out) / sr_in)))


def _wing(
    x: np.ndarray,
    y: np.ndarray,
    pos: np.ndarray,
    frac: np.ndarray,
    win: np.ndarray,
    delta: np.ndarray,
    step: int,
    taps: np.ndarray,
    sign: int,
) -> None:
    """Add one wing of the filter to ``y`` in place: tap i reads ``x[pos + sign * i]`` for every output at once.

    Outputs share their filter phase (``frac``) periodically (24 -> 16 kHz: two phases), so each distinct phase's
    weights are computed once; a tap past the filter's end or the signal's edge contributes nothing, as in resampy."""
    phases, which = np.unique(frac, return_inverse=True)  # (P,), (n_out,)
    index_frac = phases * _TABLE_PER_ZERO
    offset = index_frac.astype(np.int64)
    eta = index_frac - offset
    per_phase = (len(win) - offset) // step  # (P,) taps of each phase's filter
    width = int(per_phase.max(initial=0))
    tap = np.arange(width)
    idx = np.minimum(offset[:, None] + step * tap, len(win) - 1)  # (P, width)
    weights = np.where(
        tap < per_phase[:, None], win[idx] + eta[:, None] * delta[idx], 0.0
    )  # resampy's arithmetic
    # outputs far enough from the signal's edges take every tap of their phase (a zero weight adds exactly 0.0);
    # `taps` is monotone, so they form one contiguous run; the few near an edge stop where the signal does
    inner = np.flatnonzero(taps >= width)
    lo, hi = (int(inner[0]), int(inner[-1]) + 1) if inner.size else (0, 0)
    edge = np.concatenate([np.arange(lo), np.arange(hi, len(y))])
    n_edge = np.minimum(taps[edge], per_phase[which[edge]])
    w_inner, p_inner = weights[which[lo:hi]], pos[lo:hi]  # (hi - lo, width), (hi - lo,)
    for i in range(width):
        y[lo:hi] = (y[lo:hi].astype(np.float64) + w_inner[:, i] * x[p_inner + sign * i]).astype(y.dtype)
        live = edge[n_edge > i]
        if live.size:
            y[live] = (y[live].astype(np.float64) + weights[which[live], i] * x[pos[live] + sign * i]).astype(
                y.dtype
            )


def kaiser_best(x: np.ndarray, sr_in: int, sr_out: int, n_out: int | None = None) -> np.ndarray:
    """librosa 0.9.1 ``resample(x, orig_sr=sr_in, target_sr=sr_out)`` (kaiser_best, fixed length) of 1-D ``x``.

    ``n_out``: compute only the first ``n_out`` samples (each depends only on its neighbourhood, so they are the
    same values; a first-64,600 crop of a long file need not resample all of it). Returns ``x.dtype``.
    """
    x = np.asarray(x)
    if sr_in == sr_out:
        return x.copy()
    full = release_length(len(x), sr_in, sr_out)
    resampy_len = int(
        len(x) * float(sr_out) / float(sr_in)
    )  # resampy's own length; librosa zero-pads to `full`
    n = full if n_out is None else min(int(n_out), full)
    ratio = float(sr_out) / sr_in
    win = kaiser_best_table() * ratio if ratio < 1 else kaiser_best_table()
    delta = np.diff(win, append=win[-1])
    scale = min(1.0, ratio)
    step = int(scale * _TABLE_PER_ZERO)
    m = min(n, resampy_len)
    t = np.arange(m) * (1.0 / ratio)  # (m,) output times in input samples, float64
    pos = t.astype(np.int64)
    frac = scale * (t - pos)
    y = np.zeros(n, dtype=x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32)
    head = y[:m]  # a view: the wings accumulate into y
    _wing(x, head, pos, frac, win, delta, step, pos + 1, -1)
    _wing(x, head, pos + 1, scale - frac, win, delta, step, len(x) - pos - 1, +1)
    return y


def resample(
    x: np.ndarray, sr_in: int, sr_out: int, method: str = DEFAULT_RESAMPLER, n_out: int | None = None
) -> np.ndarray:
    """1-D float32 ``x`` from ``sr_in`` to ``sr_out`` Hz with ``method`` (one of RESAMPLERS)."""
    if method == "kaiser_best":
        return kaiser_best(x, sr_in, sr_out, n_out)
    if method == "soxr_hq":
        return soxr.resample(x, sr_in, sr_out)
    raise UnknownResampler(f"resampler {method!r} is not known; expected one of {', '.join(RESAMPLERS)}")

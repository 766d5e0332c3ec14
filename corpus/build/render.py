"""Render one planned utterance and its fakes through the shared chain (``chain.py``).

``render_codec_item`` returns the bona fide and one fake per codec; ``render_vocoder_item`` the bona fide and one
spoof per attack. All outputs are (n_samples,) float32 at 16 kHz and went through identical post-processing.
"""

from __future__ import annotations

import logging

import numpy as np

from codecfake.corpus.build.chain import ChainConfig, align, finish, to_rate
from codecfake.corpus.build.codecs import get_codec
from codecfake.corpus.build.plan import Utterance
from codecfake.corpus.build.sources import decode
from codecfake.corpus.build.vocoders import TTS_ENGINES, griffin_lim, tts_text, world_resynth

log = logging.getLogger(__name__)


def _trim(x: np.ndarray, thresh: float = 1e-3) -> np.ndarray:
    idx = np.flatnonzero(np.abs(x) > thresh)
    return x[idx[0] : idx[-1] + 1] if len(idx) else x


def original(utt: Utterance, cfg: ChainConfig, rng: np.random.Generator) -> np.ndarray:
    """The joined source clips at ``cfg.rate_hz``: (cfg.n_internal + cfg.max_delay,) float32.

    Each clip is resampled once, edge silence trimmed and faded (10 ms); joins are 150–400 ms pauses holding a low
    noise floor (-60 dBFS), never digital silence.
    """
    need = cfg.n_internal + cfg.max_delay
    fade = int(0.01 * cfg.rate_hz)
    ramp = np.linspace(0, 1, fade, dtype=np.float32)
    parts: list[np.ndarray] = []
    for clip in utt.clips:
        x, sr = decode(clip)
        x = _trim(to_rate(x, sr, cfg.rate_hz))
        x = x / max(float(np.sqrt(np.mean(x**2))), 1e-6) * 0.05  # even out loudness between joined clips
        if len(x) > 2 * fade:
            x[:fade] *= ramp
            x[-fade:] *= ramp[::-1]
        parts.append(x)
        parts.append(
            0.001 * rng.standard_normal(int(rng.uniform(0.15, 0.4) * cfg.rate_hz)).astype(np.float32)
        )
    y = np.concatenate(parts)
    if len(y) < need:  # rare: clips shorter than planned; loop the joined speech
        y = np.tile(y, need // len(y) + 1)
    return y[:need].astype(np.float32)


def render_codec_item(
    utt: Utterance, codecs: dict[str, str], cfg: ChainConfig, seed: int
) -> dict[str, np.ndarray]:
    """{"real": bona fide, "C1": fake, …} for the codec specs in ``codecs`` (condition → codec spec)."""
    rng = np.random.default_rng(seed)
    x0 = original(utt, cfg, rng)
    out = {"real": finish(x0[: cfg.n_internal], cfg, rng)}
    for cond, spec in codecs.items():
        codec = get_codec(spec)
        y = to_rate(codec(to_rate(x0, cfg.rate_hz, codec.rate_hz)), codec.rate_hz, cfg.rate_hz)
        y = align(y, x0, cfg.max_delay)[: cfg.n_internal]
        out[cond] = finish(y, cfg, rng)
    return out


def render_vocoder_item(
    utt: Utterance, attacks: list[str], cfg: ChainConfig, seed: int
) -> dict[str, np.ndarray]:
    """{"real": bona fide, "A01": WORLD, "A02": Griffin-Lim, "A03".."A05": TTS} for the ids in ``attacks``."""
    rng = np.random.default_rng(seed)
    x0 = original(utt, cfg, rng)[: cfg.n_internal]
    out = {"real": finish(x0, cfg, rng)}
    for aid in attacks:
        if aid == "A01":
            y = world_resynth(x0, cfg.rate_hz)
        elif aid == "A02":
            y = griffin_lim(x0, cfg.rate_hz, seed=seed)
        else:
            engine = TTS_ENGINES[int(aid[1:]) - 3]
            text, lang = tts_text(utt.text, utt.language, engine.english_only)
            y = _trim(engine(text, lang, cfg.rate_hz))
        out[aid] = finish(y, cfg, rng)
    return out

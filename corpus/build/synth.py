"""``codecfake corpus synth``: a Codecfake-format set (reals + one fake set per codec) for any real speech.

Reals and fakes take the same chain as the demo (``chain.py``) at a chosen internal rate; test sets are named
C1, C2, … in the order the codecs are given, fakes ``F0k_<name>.wav``, label files ``label/Ck.txt``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from codecfake.corpus.audio import load_audio
from codecfake.corpus.build.chain import ChainConfig, align, finish, to_rate
from codecfake.corpus.build.codec_spec import CodecError
from codecfake.corpus.build.codecs import get_codec
from codecfake.corpus.build.plan import safe
from codecfake.corpus.manifest import Manifest

log = logging.getLogger(__name__)


def _reals(real: Path) -> list[tuple[str, Path]]:
    if real.is_file() and real.suffix == ".csv":
        m = Manifest.read_csv(real).select(label="bonafide")
        return [(safe(r.utt_id.replace("/", "-")), m.resolve(r)) for r in m]
    files = sorted(
        p for p in real.rglob("*") if p.suffix.lower() in {".wav", ".flac", ".ogg", ".mp3", ".opus"}
    )
    return [(safe(p.stem), p) for p in files]


def synth(
    real: str | Path,
    codec_specs: list[str],
    out: str | Path,
    *,
    rate_hz: int = 8000,
    lowpass_hz: float | None = None,
    seed: int = 688,
) -> Path:
    """Write ``out/label/C<k>.txt`` and ``out/test/C<k>/`` for every codec; returns ``out``."""
    real, out = Path(real), Path(out)
    if not 1 <= len(codec_specs) <= 9:
        raise CodecError(f"synth takes 1 to 9 codecs (F01..F09 naming), got {len(codec_specs)}")
    reals = _reals(real)
    if not reals:
        raise CodecError(f"--real {real}: no audio files or bona fide rows found")
    cfg = replace(ChainConfig(), rate_hz=rate_hz, lowpass_hz=lowpass_hz or 0.425 * rate_hz)
    codecs = [get_codec(s) for s in codec_specs]
    lines: dict[str, list[str]] = {f"C{k + 1}": [] for k in range(len(codecs))}
    need = cfg.n_internal + cfg.max_delay
    for i, (name, path) in enumerate(reals):
        rng = np.random.default_rng([seed, i])
        x = to_rate(load_audio(path, 16000), 16000, rate_hz)
        x = np.tile(x, need // len(x) + 1)[:need] if len(x) < need else x[:need]
        bona = finish(x[: cfg.n_internal], cfg, rng)
        for k, codec in enumerate(codecs):
            cond = f"C{k + 1}"
            y = to_rate(codec(to_rate(x, rate_hz, codec.rate_hz)), codec.rate_hz, rate_hz)
            fake = finish(align(y, x, cfg.max_delay)[: cfg.n_internal], cfg, rng)
            d = out / "test" / cond
            d.mkdir(parents=True, exist_ok=True)
            sf.write(d / f"{name}.wav", bona, cfg.out_rate_hz, subtype="PCM_16")
            sf.write(d / f"F0{k + 1}_{name}.wav", fake, cfg.out_rate_hz, subtype="PCM_16")
            lines[cond] += [f"{name}.wav real 0", f"F0{k + 1}_{name}.wav fake {k + 1}"]
    (out / "label").mkdir(parents=True, exist_ok=True)
    for cond, ls in lines.items():
        (out / "label" / f"{cond}.txt").write_text("".join(f"{ln}\n" for ln in ls))
    (out / "codecs.tsv").write_text(
        "condition\tspec\tname\n"
        + "".join(f"C{k + 1}\t{s}\t{c.name}\n" for k, (s, c) in enumerate(zip(codec_specs, codecs)))
    )
    log.info("synth: %d reals x %d codecs -> %s", len(reals), len(codecs), out)
    return out

"""How many real clips' power mels (the release's Mel-LCNN input) float16 cannot hold: overflow and underflow.

For every audio file under the given folders (wav/flac/ogg), the paper's preprocessing (16 kHz, first 64,600 samples
or repeat padding) and the release's mel (torchaudio MelSpectrogram defaults: n_fft 512, hop 128, 80 bands, power 2,
no log) are computed in float32. Counted: clips whose maximum passes float16's 65,504 (stored as inf), and values
below float16's smallest normal number 6.1e-5 (kept with fewer than 11 significant bits, or flushed to 0 below
6e-8), with the relative error float16 storage would give. Writes bench/results/mel_range.json.

    python bench/mel_range.py DIR [DIR ...] [--max-per-dir 400]

Real speech offline: the bona fide clips of a demo corpus (data/mini-codecfake, built by `make demo-data`) and the
Debian/PyPI speech packages the demo corpus builder fetches (asterisk, klettres, gcin-voice, pocketsphinx).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import torch

from codecfake.corpus import AudioError, load_clip
from codecfake.extract import build_extractor

HERE = Path(__file__).resolve().parent
SUFFIXES = (".wav", ".flac", ".ogg")
F16_MAX = float(np.finfo(np.float16).max)
F16_TINY = float(np.finfo(np.float16).tiny)
SPOOF_NAME = re.compile(r"^F\d\d_")  # the demo corpus names its fakes F01_…; everything else is bona fide


def audio_files(folder: Path, limit: int) -> list[Path]:
    files = sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES and not SPOOF_NAME.match(p.name)
    )
    if len(files) > limit:  # an even spread over the folder, deterministic
        files = [files[i] for i in np.linspace(0, len(files) - 1, limit).round().astype(int)]
    return files


def measure(folder: Path, limit: int, ext) -> dict:
    n = n_over = n_bad = 0
    n_values = n_sub = 0
    peak = 0.0
    worst_rel = 0.0
    for path in audio_files(folder, limit):
        try:
            wave = load_clip(path)
        except AudioError:
            n_bad += 1
            continue
        mel = ext(torch.from_numpy(wave)[None])["mel"][0].numpy()  # (505, 80) float32
        n += 1
        peak = max(peak, float(mel.max()))
        n_over += int(mel.max() > F16_MAX)
        n_values += mel.size
        n_sub += int((mel < F16_TINY).sum())
        with np.errstate(over="ignore"):
            back = mel.astype(np.float16).astype(np.float32)
        ok = (mel > 0) & np.isfinite(back)
        if ok.any():
            worst_rel = max(worst_rel, float((np.abs(back[ok] - mel[ok]) / mel[ok]).max()))
    return {
        "folder": str(folder),
        "clips": n,
        "undecodable": n_bad,
        "clips_over_f16_max": n_over,
        "share_over_f16_max": n_over / max(n, 1),
        "max_power": peak,
        "share_values_below_f16_normal": n_sub / max(n_values, 1),
        "max_rel_error_f16_storage": worst_rel,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--max-per-dir", type=int, default=400, help="clips per folder, evenly spread [400]")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "mel_range.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ext = build_extractor("mel")  # the release's power mel
    t0 = time.perf_counter()
    rows = [measure(f, args.max_per_dir, ext) for f in args.folders]
    n = sum(r["clips"] for r in rows)
    over = sum(r["clips_over_f16_max"] for r in rows)
    result = {
        "what": "power mel (n_fft 512, hop 128, 80 HTK bands, no log) of real bona fide speech vs float16's range",
        "command": "python bench/mel_range.py " + " ".join(str(f) for f in args.folders),
        "clips": n,
        "clips_over_f16_max": over,
        "share_over_f16_max": over / max(n, 1),
        "max_power": max(r["max_power"] for r in rows),
        "share_values_below_f16_normal": sum(r["share_values_below_f16_normal"] * r["clips"] for r in rows)
        / max(n, 1),
        "max_rel_error_f16_storage": max(r["max_rel_error_f16_storage"] for r in rows),
        "per_folder": rows,
        "seconds": time.perf_counter() - t0,
        "load": os.getloadavg(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "per_folder"}, indent=2))


if __name__ == "__main__":
    main()

"""Resampling 24 kHz speech to 16 kHz: soxr HQ (ours before) vs the release's librosa 0.9.1 ``kaiser_best``, and
float16 vs float32 storage of test features (the release scores test clips from fp32 features made on the spot).

Clips: real recorded speech (44.1 kHz) from folders of short recordings, concatenated per folder (one speaker and
language each) to at least 4.2 s and brought to 24 kHz with soxr's very-high quality — a stand-in for Codecfake's
24 kHz codec outputs. Each is then resampled to 16 kHz both ways and cut to the paper's 64,600 samples. Reference
everywhere: the release's path (kaiser_best, fp32 features). Measured:

- the waveform difference (SNR of soxr against kaiser_best);
- layer-5 features of an XLS-R-300m-shaped model with seeded random weights (no real weights offline), fp32:
  relative error per clip, against the float16 rounding the store adds;
- the release's W2V2-AASIST (``cotrain_w2v2aasist_CSAM``, via ``codecfake import-official``'s loader): change of the
  bona fide log-odds (logit 0 - logit 1) — P(bona fide) itself saturates on random-weight features;
- power-mel features (the release's Mel-LCNN input) and the release's ``codec_mellcnn`` log-odds;
- seconds per clip of each resampler.

Writes bench/results/resampler.json and bench/results/test_storage.json.

    python bench/resampler.py SPEECH_ROOT --checkpoints DIR [--clips 16]

SPEECH_ROOT: folders of 44.1/48 kHz recordings (e.g. the klettres-data Debian package's usr/share/klettres, which
the demo corpus builder fetches); DIR holds the release's cotrain_w2v2aasist_CSAM.pt and codec_mellcnn.pt.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

HERE = Path(__file__).resolve().parent
SR_CODEC = 24000


def speech_24k(root: Path, n_clips: int, min_s: float = 4.2) -> list[tuple[str, np.ndarray]]:
    """(folder, 24 kHz float32 clip) for up to ``n_clips`` folders holding >= ``min_s`` s of 44.1/48 kHz audio."""
    out = []
    for folder in sorted({p.parent for p in root.rglob("*.ogg")} | {p.parent for p in root.rglob("*.wav")}):
        parts, total = [], 0.0
        for f in sorted(folder.glob("*")):
            if f.suffix.lower() not in (".ogg", ".wav", ".flac"):
                continue
            x, sr = sf.read(str(f), dtype="float32", always_2d=True)
            if sr not in (44100, 48000):
                continue
            parts.append(soxr.resample(x.mean(axis=1), sr, SR_CODEC, quality="VHQ"))
            total += len(x) / sr
            if total >= min_s:
                break
        if total >= min_s:
            out.append((str(folder.relative_to(root)), np.concatenate(parts).astype(np.float32)))
        if len(out) == n_clips:
            break
    return out


def to_16k(clips: list[np.ndarray], method: str) -> tuple[np.ndarray, float]:
    """(N, 64600) float32 clips and seconds per clip: resample then first 64,600 samples / repeat pad."""
    from codecfake.corpus.audio import fix_length
    from codecfake.corpus.resample import resample

    t0 = time.perf_counter()
    waves = np.stack(
        [fix_length(np.asarray(resample(x, SR_CODEC, 16000, method), np.float32)) for x in clips]
    )
    return waves, (time.perf_counter() - t0) / len(clips)


def snr_db(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return 10 * np.log10((ref**2).sum(axis=1) / ((x - ref) ** 2).sum(axis=1))


def rel_error(y: torch.Tensor, ref: torch.Tensor) -> np.ndarray:
    return ((y - ref).flatten(1).norm(dim=1) / ref.flatten(1).norm(dim=1)).numpy()


def log_odds(model, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        _, logits = model(x.float())
    return (logits[:, 0] - logits[:, 1]).numpy()


def compare(name: str, ours: torch.Tensor, ref: torch.Tensor, model) -> dict:
    err = rel_error(ours, ref)
    d = np.abs(log_odds(model, ours) - log_odds(model, ref))
    return {
        "what": name,
        "rel_error_mean": float(err.mean()),
        "rel_error_max": float(err.max()),
        "max_abs_elem_error": float((ours - ref).abs().max()),
        "log_odds_max_abs_change": float(d.max()),
        "log_odds_mean_abs_change": float(d.mean()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--checkpoints", type=Path, required=True)
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args()
    from precision import XLSR_300M, features, random_xlsr  # bench/ is the script's folder

    from codecfake.extract import build_extractor
    from codecfake.train.official import load_official

    torch.set_num_threads(2)
    load_before = os.getloadavg()
    clips = speech_24k(args.root, args.clips)
    names, raw = [n for n, _ in clips], [x for _, x in clips]
    kb, t_kb = to_16k(raw, "kaiser_best")  # the release's
    sx, t_sx = to_16k(raw, "soxr_hq")
    aasist = load_official(args.checkpoints / "cotrain_w2v2aasist_CSAM.pt", "aasist")
    mellcnn = load_official(args.checkpoints / "codec_mellcnn.pt", "lcnn")
    mel = build_extractor("mel", log=False)
    mel_kb, mel_sx = (mel(torch.from_numpy(w))["mel"] for w in (kb, sx))
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = random_xlsr(Path(tmp) / "xlsr")
        f_kb, t_fwd = features(model_dir, torch.from_numpy(kb), "fp32", 4)
        f_sx, _ = features(model_dir, torch.from_numpy(sx), "fp32", 4)
    command = f"python bench/resampler.py {args.root} --checkpoints {args.checkpoints} --clips {args.clips}"
    common = {
        "command": command,
        "clips": names,
        "xlsr": f"XLS-R-300m shape, seeded random weights, {XLSR_300M['num_hidden_layers']} layers, fp32, CPU",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_before": load_before,
    }
    snr = snr_db(sx, kb)
    resampler = {
        "what": "24 kHz real speech -> 16 kHz: soxr HQ (ours) vs librosa 0.9.1 kaiser_best (the release's); "
        "layer-5 XLS-R features and the release's cotrain_w2v2aasist_CSAM / codec_mellcnn log-odds",
        **common,
        "baseline": {"resampler": "kaiser_best", "seconds_per_clip": t_kb},
        "ours": {"resampler": "soxr_hq", "seconds_per_clip": t_sx},
        "ratio_seconds_kaiser_best_vs_soxr": t_kb / t_sx,
        "xlsr_seconds_per_clip": t_fwd,
        "wave_snr_db_min": float(snr.min()),
        "wave_snr_db_mean": float(snr.mean()),
        "xlsr_layer5": compare("soxr features vs kaiser_best features", f_sx, f_kb, aasist),
        "xlsr_layer5_float16_storage": compare(
            "float16 rounding of kaiser_best features", f_kb.half(), f_kb, aasist
        ),
        "mel_power": compare("soxr power mel vs kaiser_best power mel", mel_sx, mel_kb, mellcnn),
    }
    resampler["ratio_feature_error_resampler_vs_float16_storage"] = (
        resampler["xlsr_layer5"]["rel_error_mean"]
        / resampler["xlsr_layer5_float16_storage"]["rel_error_mean"]
    )
    storage = {
        "what": "test features stored float16 (ours) vs the release's fp32 features computed on the spot "
        "(generate_score.py): same clips (kaiser_best), same fp32 forward",
        **common,
        "baseline": {"storage": "float32"},
        "ours": {"storage": "float16", **compare("float16 vs float32 features", f_kb.half(), f_kb, aasist)},
    }
    storage["ratio_log_odds_change_vs_resampler"] = (
        storage["ours"]["log_odds_max_abs_change"] / resampler["xlsr_layer5"]["log_odds_max_abs_change"]
    )
    load_after = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, doc in (("resampler", resampler), ("test_storage", storage)):
        doc["load_after"] = load_after
        (args.out / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")
        print(json.dumps({k: v for k, v in doc.items() if k != "clips"}, indent=2))


if __name__ == "__main__":
    main()

"""Test fixtures other stages can import: a tiny labelled corpus in the real on-disk formats, built in < 3 s offline.

``make_tiny_corpus(dir)`` writes ``dir/codec`` (Codecfake layout: ``label/{train,dev,C1,C7}.txt``, ``train/``,
``dev/``, ``test/C1``, ``test/C7``) and ``dir/vocoder`` (ASVspoof 2019 LA layout: protocols + ``flac/``) from
generated speech-like signals (harmonic tones with a moving pitch and formant-like filtering, plus noise). Fakes are
a deterministic degradation (band limit + coarse quantisation), not a real codec: the point is format and plumbing.
Read them with ``load_manifest("codecfake", codec_root)`` / ``load_manifest("asvspoof2019", vocoder_root)`` or the
``demo-codec`` / ``demo-vocoder`` kinds on ``dir``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, sosfilt

SR = 16000


def synth_voice(rng: np.random.Generator, seconds: float = 1.5, sr: int = SR) -> np.ndarray:
    """A speech-like test signal (n,) float32: glottal-pulse-ish harmonics with vibrato, two resonances, noise."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    f0 = rng.uniform(90, 220) * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(2, 5) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 25))  # sawtooth-like harmonic source
    for fc in (rng.uniform(400, 900), rng.uniform(1200, 2600)):
        sos = butter(2, [fc * 0.8, fc * 1.25], btype="band", fs=sr, output="sos")
        x = x + 2 * sosfilt(sos, x)
    env = 0.5 * (1 - np.cos(2 * np.pi * np.minimum(t / seconds, 1)))  # smooth on/off
    x = x * env + 0.01 * rng.standard_normal(n)
    return (0.3 * x / (np.abs(x).max() + 1e-9)).astype(np.float32)


def fake_of(x: np.ndarray, k: int, sr: int = SR) -> np.ndarray:
    """Deterministic stand-in for a codec: low-pass at (2.5 + k/2) kHz and 6-bit quantisation. (n,) → (n,)."""
    sos = butter(6, min(2500 + 500 * k, sr / 2 - 100), fs=sr, output="sos")
    y = sosfilt(sos, x)
    return (np.round(y * 32) / 32).astype(np.float32)


def make_tiny_corpus(
    out_dir: str | Path, *, n_speakers: int = 4, clips_per_speaker: int = 3, seed: int = 0
) -> tuple[Path, Path]:
    """Write a tiny Codecfake-format and ASVspoof-2019-LA-format corpus under ``out_dir``; return the two roots."""
    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    codec_root, voc_root = out / "codec", out / "vocoder"
    # speaker split: first half train, then dev, then test (no speaker straddles splits)
    speakers = [f"p{225 + s}" for s in range(n_speakers)]
    split_of = {
        sp: ("train" if i < max(1, n_speakers // 2) else "dev" if i < n_speakers - 1 else "test")
        for i, sp in enumerate(speakers)
    }
    labels: dict[str, list[str]] = {p: [] for p in ("train", "dev", "C1", "C7")}
    for sp in speakers:
        for c in range(clips_per_speaker):
            name = f"{sp}_{c + 1:03d}"
            x = synth_voice(rng)
            split = split_of[sp]
            parts = [split] if split != "test" else ["C1", "C7"]
            for part in parts:
                d = codec_root / (part if part in ("train", "dev") else f"test/{part}")
                d.mkdir(parents=True, exist_ok=True)
                sf.write(d / f"{name}.wav", x, SR, subtype="PCM_16")
                labels[part].append(f"{name}.wav real 0")
                k = 7 if part == "C7" else 1 + (c % 2)
                sf.write(d / f"F0{k}_{name}.wav", fake_of(x, k), SR, subtype="PCM_16")
                labels[part].append(f"F0{k}_{name}.wav fake {k}")
    (codec_root / "label").mkdir(parents=True, exist_ok=True)
    for part, lines in labels.items():
        (codec_root / "label" / f"{part}.txt").write_text("\n".join(lines) + "\n")
    _write_la(voc_root, rng, speakers, split_of, clips_per_speaker)
    return codec_root, voc_root


def _write_la(
    root: Path, rng: np.random.Generator, speakers: list[str], split_of: dict[str, str], n: int
) -> None:
    proto_dir = root / "ASVspoof2019_LA_cm_protocols"
    proto_dir.mkdir(parents=True, exist_ok=True)
    part_of = {"train": ("train", "trn", "T"), "dev": ("dev", "trl", "D"), "test": ("eval", "trl", "E")}
    lines: dict[str, list[str]] = {s: [] for s in part_of}
    counter = 1000001
    for sp in speakers:
        split = split_of[sp]
        part, _, letter = part_of[split]
        flac = root / f"ASVspoof2019_LA_{part}" / "flac"
        flac.mkdir(parents=True, exist_ok=True)
        spk = f"LA_{int(sp[1:]) - 225 + 79:04d}"
        for c in range(n):
            x = synth_voice(rng)
            bona = f"LA_{letter}_{counter}"
            counter += 1
            sf.write(flac / f"{bona}.flac", x, SR)
            lines[split].append(f"{spk} {bona} - - bonafide")
            attack = "A01" if c % 2 == 0 else "A02"
            spoof = f"LA_{letter}_{counter}"
            counter += 1
            sf.write(flac / f"{spoof}.flac", fake_of(x, 2 + c % 2), SR)
            lines[split].append(f"{spk} {spoof} - {attack} spoof")
    for split, (part, ext, _) in part_of.items():
        (proto_dir / f"ASVspoof2019.LA.cm.{part}.{ext}.txt").write_text("\n".join(lines[split]) + "\n")

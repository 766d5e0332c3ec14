"""The README written into every demo corpus: what it is and is not, the tables, licences and attribution."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from codecfake.corpus.build.codecs import REGISTRY, get_codec
from codecfake.corpus.build.sources import LICENCES

BASELINE_NOTE = """\
Shortcut baselines: a condition that "log energy above 3.4 kHz" separates would be a corpus artefact; a
condition where logistic regression on mean/std log-mel is already ~0 % leaves no room to show a detector or
optimiser difference. `codecfake demo` measures both on this corpus's test split and reports them beside the
detectors (docs/demo-results.md)."""


def _codec_rows(table: dict[str, str]) -> str:
    lines = ["| condition | codec | spec | in train/dev |", "|---|---|---|---|"]
    for cond, spec in sorted(table.items()):
        name = spec.split(":")[0]
        lines.append(
            f"| {cond} | {REGISTRY[name].doc} ({get_codec(spec).name}) | `{spec}` | "
            f"{'no (unseen codec)' if cond == 'C7' else 'yes'} |"
        )
    return "\n".join(lines)


def write_readme(
    out: Path, params: Any, codec_utts: list, voc_utts: list, attacks: dict[str, str], clips: list
) -> Path:
    """Write ``out/README.md``."""
    cfg = params.chain
    split_c = Counter(u.split for u in codec_utts)
    split_v = Counter(u.split for u in voc_utts)
    used = Counter(c.source for u in codec_utts + voc_utts for c in u.clips)
    attack_rows = "\n".join(f"| {a} | {d} |" for a, d in sorted(attacks.items()))
    sources = "\n".join(
        f"| {s} | {n} | {LICENCES.get(s, 'your own recordings (--real-dir)')} |"
        for s, n in sorted(used.items())
    )
    text = f"""# mini-Codecfake demo corpus (size `{params.size}`, seed {params.seed})

**What it is.** A small stand-in for Codecfake built offline from package registries: real recorded speech
(Debian data packages and a PyPI source package) and real codecs and vocoders, in the exact on-disk formats of
Codecfake (`codec/`) and ASVspoof 2019 LA (`vocoder/`), so the same parsers read it
(`load_manifest("demo-codec", DIR)`, `load_manifest("demo-vocoder", DIR)`).

**What it is not.** It is not VCTK/AISHELL-3, and its fakes are classical codecs, not the paper's neural codecs
(SoundStream, EnCodec, DAC…). It has few speakers (the Asterisk prompts are one voice, KLettres about one per
language, gcin two), short letter/syllable material joined into ~4 s utterances, and it is **telephone band**
(everything passes an 8 kHz stage and one {cfg.lowpass_hz:.0f} Hz low-pass). EERs on it say whether the pipeline
works, not how a detector would do on Codecfake.

## Construction (the same chain for bona fide and spoof)
source → soxr to {cfg.rate_hz} Hz (once) → [codec or vocoder] → codec delay removed by cross-correlation →
zero-phase FFT low-pass (nothing above {cfg.lowpass_hz:.0f} Hz) → soxr to {cfg.out_rate_hz} Hz →
first {cfg.n_samples} samples → RMS to {cfg.level_dbfs:g} dBFS → white dither at {cfg.dither_dbfs:g} dBFS → 16-bit.
Bona fide passes exactly the same steps with no codec. Short clips of one speaker are joined with 150–400 ms pauses
holding a low noise floor (no digital silence). Splits are by utterance: a source clip is used once, and a real
utterance and all its fakes are in the same split; every split mixes the sources as the whole does. The test splits
are sized for resolving power (150 bona fide + 150 spoof per codec condition where the material allows).

Codec domain: codec/ — reals: train {split_c["train"]}, dev {split_c["dev"]}, test {split_c["test"]}.
Train and dev hold every real plus its C1–C6 fakes (`F0k_<name>.wav`); each test set `test/Ck/` holds the test reals
plus their Ck fakes; C7 is never in train/dev.

{_codec_rows(params.table)}

Vocoder domain: vocoder/ — reals (bona fide): train {split_v["train"]}, dev {split_v["dev"]}, test {split_v["test"]}.
Every real gets the copy-synthesis attacks and one TTS attack in rotation (TTS speaks the source's text where known —
letters, syllables, prompt names — else English filler). A05 appears only in the test (eval) split.

| attack | method |
|---|---|
{attack_rows}

{BASELINE_NOTE}

## Sources, licences and attribution
| source | clips used | licence / attribution |
|---|---|---|
{sources}

Packages: Debian `asterisk-core-sounds-en-g722`, `klettres-data`, `gcin-voice` (fetched with `apt-get download`,
unpacked with `dpkg -x`), PyPI `pocketsphinx` sdist (`test/data`). The derived audio here inherits those licences
(CC-BY-SA-3.0 and GPL parts: share alike). Codecs: FFmpeg via PyAV (LGPL), libsndfile, Codec 2 (LGPL-2.1).
`speakers.tsv` lists speaker, language and source. `SHA256SUMS` holds the checksum of every audio file
(`sha256sum -c SHA256SUMS` here): two builds with the same parameters on one machine give identical files.
"""
    path = out / "README.md"
    path.write_text(text, encoding="utf-8")
    return path

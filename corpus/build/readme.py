"""The README written into every demo corpus: what it is and is not, the tables, licences and attribution."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from codecfake.corpus.build.codecs import REGISTRY, get_codec
from codecfake.corpus.build.sources import LICENCES

# Measured with the two shortcut baselines of DESIGN §7 on the default build (seed 688); see docs/corpus.md.
BASELINE_NOTE = """\
Shortcut baselines (DESIGN §7), test EER % on the default build (seed 688), from `docs/corpus.md`:
a condition that "log energy above 3.4 kHz" separates would be a corpus artefact; a condition where logistic
regression on mean/std log-mel is already ~0 % leaves no room to show a detector or optimiser difference.

{table}
"""

BASELINE_TABLE = """\
| test set | n bona fide / spoof | log energy above 3.4 kHz | logistic regression, mean/std log-mel |
|---|---|---|---|
| C1 Opus 6k | 42 / 42 | 47.6 | 23.8 |
| C2 MP3 16k | 42 / 42 | 50.0 | 40.5 |
| C3 AMR-NB 4.75k | 42 / 42 | 50.0 | 14.3 |
| C4 GSM 6.10 | 42 / 42 | 52.4 | 23.8 |
| C5 AAC 24k | 42 / 42 | 50.0 | 47.6 |
| C6 G.726 32k | 42 / 42 | 52.4 | 45.2 |
| C7 Codec2 1300 (unseen) | 42 / 42 | 50.0 | 26.2 |
| 19LA pooled (vocoder domain) | 18 / 54 | 50.0 | 11.1 |
| A01 WORLD | 18 / 18 | 50.0 | 5.6 |
| A02 Griffin-Lim | 18 / 18 | 50.0 | 16.7 |
| A03 espeak-ng | 18 / 6 | 19.4 | 0.0 |
| A04 flite | 18 / 6 | 63.9 | 0.0 |
| A05 festival (test only) | 18 / 6 | 50.0 | 0.0 |

The codec conditions are spread from 14 % to near chance for the linear model (C5/C6 are close to transparent at
8 kHz: hard conditions); the TTS attacks are trivially separable by voice (few, synthetic voices vs. human speech)."""


def _codec_rows(table: dict[str, str]) -> str:
    lines = ["| condition | codec | spec | in train/dev |", "|---|---|---|---|"]
    for cond, spec in sorted(table.items()):
        name = spec.split(":")[0]
        lines.append(f"| {cond} | {REGISTRY[name].doc} ({get_codec(spec).name}) | `{spec}` | "
                     f"{'no (unseen codec)' if cond == 'C7' else 'yes'} |")
    return "\n".join(lines)


def write_readme(out: Path, params: Any, codec_utts: list, voc_utts: list, attacks: dict[str, str],
                 clips: list) -> Path:
    """Write ``out/README.md``."""
    cfg = params.chain
    split_c = Counter(u.split for u in codec_utts)
    split_v = Counter(u.split for u in voc_utts)
    used = Counter(c.source for u in codec_utts + voc_utts for c in u.clips)
    attack_rows = "\n".join(f"| {a} | {d} |" for a, d in sorted(attacks.items()))
    sources = "\n".join(f"| {s} | {n} | {LICENCES.get(s, 'your own recordings (--real-dir)')} |"
                        for s, n in sorted(used.items()))
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
utterance and all its fakes are in the same split (~80/10/10 per source).

Codec domain: codec/ — reals: train {split_c['train']}, dev {split_c['dev']}, test {split_c['test']}.
Train and dev hold every real plus its C1–C6 fakes (`F0k_<name>.wav`); each test set `test/Ck/` holds the test reals
plus their Ck fakes; C7 is never in train/dev.

{_codec_rows(params.table)}

Vocoder domain: vocoder/ — reals (bona fide): train {split_v['train']}, dev {split_v['dev']}, test {split_v['test']}.
Every real gets the copy-synthesis attacks and one TTS attack in rotation (TTS speaks the source's text where known —
letters, syllables, prompt names — else English filler). A05 appears only in the test (eval) split.

| attack | method |
|---|---|
{attack_rows}

{BASELINE_NOTE.format(table=BASELINE_TABLE)}
## Sources, licences and attribution
| source | clips used | licence / attribution |
|---|---|---|
{sources}

Packages: Debian `asterisk-core-sounds-en-g722`, `klettres-data`, `gcin-voice` (fetched with `apt-get download`,
unpacked with `dpkg -x`), PyPI `pocketsphinx` sdist (`test/data`). The derived audio here inherits those licences
(CC-BY-SA-3.0 and GPL parts: share alike). Codecs: FFmpeg via PyAV (LGPL), libsndfile, Codec 2 (LGPL-2.1).
`speakers.tsv` lists speaker, language and source.
"""
    path = out / "README.md"
    path.write_text(text, encoding="utf-8")
    return path

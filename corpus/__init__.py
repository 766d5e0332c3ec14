"""codecfake.corpus: reading datasets — protocol parsers → manifest rows, robust audio loading, display names.

Writing corpora (the offline mini-Codecfake demo corpus, ``corpus synth``, the tests' tiny corpus) is the
subpackage ``codecfake.corpus.build``; the reader never imports it (only the ``corpus demo`` and ``corpus synth``
commands in cli.py do, lazily).

Public API (docs/INTERFACES.md): ``LABELS, ManifestRow, Manifest, load_manifest``, ``load_audio, fix_length,
load_clip, load_clips, Reject`` and the ``AudioError`` family.
"""

from codecfake.common import N_SAMPLES, SAMPLE_RATE_HZ
from codecfake.corpus.audio import (
    AudioError,
    CorruptAudio,
    EmptyAudio,
    LoadReport,
    MissingAudio,
    NonFiniteAudio,
    Reject,
    UnsupportedFormat,
    fix_length,
    load_audio,
    load_clip,
    load_clips,
)
from codecfake.corpus.manifest import (
    FIELDS,
    LABELS,
    SPLITS,
    Manifest,
    ManifestError,
    ManifestRow,
    load_manifest,
)
from codecfake.corpus.protocols import parse_asvspoof2019, parse_codecfake, parse_itw

__all__ = [
    "FIELDS",
    "LABELS",
    "N_SAMPLES",
    "SAMPLE_RATE_HZ",
    "SPLITS",
    "AudioError",
    "CorruptAudio",
    "EmptyAudio",
    "LoadReport",
    "Manifest",
    "ManifestError",
    "ManifestRow",
    "MissingAudio",
    "NonFiniteAudio",
    "Reject",
    "UnsupportedFormat",
    "fix_length",
    "load_audio",
    "load_clip",
    "load_clips",
    "load_manifest",
    "parse_asvspoof2019",
    "parse_codecfake",
    "parse_itw",
]

"""The augmentation families as data: each parameter with its kind, default and range, each family's label
consequence, the codecs the codec family drives, and the ``DEGRADE=`` names. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from codecfake.augment.errors import BadAugmentParameter

# Domains whose fakes *are* codec re-syntheses (Codecfake's framing): a codec applied to their bona fide contradicts
# the labels. Other domains (ASVspoof's vocoders, In-the-Wild) follow ASVspoof 5's framing: a codec is a channel.
CODEC_IS_FAKE_DOMAINS = ("codec", "alm")

# Codecs the codec family drives (the corpus builder's drivers), their rate and bitrates drawn per clip.
CODEC_RATE_HZ = {
    "opus": 16000,
    "mp3": 16000,
    "aac": 16000,
    "g722": 16000,
    "amrnb": 8000,
    "gsm": 8000,
    "g726": 8000,
    "mulaw": 8000,
    "alaw": 8000,
}
CODEC_BITRATES = {
    "opus": (6000, 8000, 12000, 16000, 24000, 32000),
    "mp3": (16000, 24000, 32000, 48000, 64000),
    "aac": (16000, 24000, 32000, 48000),
    "g722": (64000,),
    "amrnb": (4750, 5150, 5900, 6700, 7400, 7950, 10200, 12200),
    "gsm": (13000,),
    "g726": (16000, 24000, 32000, 40000),
    "mulaw": (64000,),
    "alaw": (64000,),
}
# codecs that take any bitrate in a range (the others only their listed modes)
CODEC_BITRATE_RANGE = {"opus": (6000, 128000), "mp3": (8000, 160000), "aac": (12000, 64000)}
CODECS = tuple(CODEC_RATE_HZ)


@dataclass(frozen=True)
class Param:
    """One parameter: ``kind`` int | float | range (LO..HI) | choice | set (A+B) | intset (N+M) | path."""

    name: str
    kind: str
    default: Any
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""

    def describe(self) -> str:
        if self.kind in ("choice", "set"):
            sep = "|" if self.kind == "choice" else "+"
            return f"{self.name}={sep.join(self.choices)}"
        if self.kind == "path":
            return f"{self.name}=DIR"
        shown = f"{self.lo:g}..{self.hi:g}"
        return f"{self.name} in [{shown}]" + (" (LO..HI)" if self.kind == "range" else "")


@dataclass(frozen=True)
class Family:
    name: str
    params: tuple[Param, ...]
    doc: str
    labels: str  # the label consequence, stated once for docs and config.json

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.describe() for p in self.params)
        raise BadAugmentParameter(f"{self.name}: unknown parameter {name!r}; known: {known}")


def _r(name: str, lo: float, hi: float, default: tuple[float, float], doc: str) -> Param:
    return Param(name, "range", default, lo, hi, doc=doc)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "rawboost",
            (
                Param(
                    "algo",
                    "int",
                    5,
                    1,
                    8,
                    doc="1 LnL, 2 ISD, 3 SSI, 4 1+2+3, 5 1+2, 6 1+3, 7 2+3 (series), 8 1||2",
                ),
                Param("n_f", "int", 5, 1, 10, doc="LnL: order of the non-linearity (1 = linear only)"),
                Param("bands", "int", 5, 1, 20, doc="notch filters per random filter"),
                _r("f", 0, 8000, (20, 8000), "notch centre frequency, Hz"),
                _r("bw", 1, 8000, (100, 1000), "notch width, Hz"),
                _r("coeff", 3, 1001, (10, 100), "FIR taps per notch (made odd)"),
                _r("g", -60, 60, (0, 0), "LnL linear-term gain, dB"),
                _r("bias", 0, 60, (5, 20), "LnL: gain drop of the non-linear terms, dB"),
                Param("p", "float", 10, 0, 100, doc="ISD: at most this % of samples hit"),
                Param("g_sd", "float", 2, 0, 100, doc="ISD: impulse gain"),
                _r("snr", -20, 100, (10, 40), "SSI: SNR of the coloured noise, dB"),
            ),
            "RawBoost (Tak et al., ICASSP 2022): linear and non-linear convolutive noise (LnL), impulsive "
            "signal-dependent noise (ISD), stationary signal-independent coloured noise (SSI), in series or parallel",
            "preserves the labels: channel- and device-like distortions applied to bona fide and spoof alike; "
            "neither class is defined by them",
        ),
        Family(
            "codec",
            (
                Param("codecs", "set", CODECS, choices=CODECS, doc="one drawn per clip"),
                Param("bitrate", "int", 0, 0, 512000, doc="bit/s; 0 = drawn per clip from the codec's list"),
                Param(
                    "on", "choice", "auto", choices=("auto", "all", "spoof", "bonafide"), doc="which clips"
                ),
            ),
            "lossy re-encoding through real codecs at a random bitrate (decoded, delay-aligned to the clip)",
            "on=auto follows each corpus' framing: clips of the codec/ALM domains (Codecfake: a codec "
            "re-synthesis IS the fake) get it on spoof only, since a codec on their bona fide would teach that "
            "codec artefacts are not evidence, the opposite of the labels; other domains (ASVspoof 5: a codec is a "
            "channel) on bona fide and spoof alike. on=all contradicts Codecfake's labels on purpose",
        ),
        Family(
            "resample",
            (Param("rate", "intset", (8000, 11025, 12000), 4000, 15999, doc="Hz, one drawn per clip"),),
            "down to a lower rate and back to 16 kHz (a band limit at half that rate)",
            "preserves the labels: a band limit is a channel. A corpus already band-limited below it (the demo's "
            "3.4 kHz chain) is left unchanged",
        ),
        Family(
            "lowpass",
            (_r("cut", 1000, 7900, (3400, 7000), "edge, Hz"),),
            "zero-phase low-pass at a random edge",
            "preserves the labels: a band limit is a channel (no change below a corpus' own band edge)",
        ),
        Family(
            "noise",
            (
                _r("snr", -10, 60, (5, 20), "dB against the clip"),
                Param("colour", "set", ("white", "pink", "brown"), choices=("white", "pink", "brown")),
                Param(
                    "dir", "path", "", doc="folder of noise recordings (wav/flac), instead of coloured noise"
                ),
            ),
            "additive noise at a random SNR: coloured noise (seeded, offline) or recordings from a folder",
            "preserves the labels: background noise is neither bona fide nor spoof evidence",
        ),
    )
}

# DEGRADE names -> (family, the parameter its VALUE sets, fixed parameters, default VALUE)
_CODEC_DEFAULT = {"opus": 12000, "mp3": 32000, "aac": 24000, "amrnb": 12200, "g726": 32000}
DEGRADATIONS: dict[str, tuple[str, str, dict[str, Any], float]] = {
    **{
        c: ("codec", "bitrate", {"codecs": (c,), "on": "all"}, _CODEC_DEFAULT.get(c, CODEC_BITRATES[c][0]))
        for c in CODECS
    },
    "amr": ("codec", "bitrate", {"codecs": ("amrnb",), "on": "all"}, 12200),
    "resample": ("resample", "rate", {}, 8000),
    "lowpass": ("lowpass", "cut", {}, 4000),
    "noise": ("noise", "snr", {"colour": ("white",)}, 20),
    "rawboost": ("rawboost", "algo", {}, 3),
}

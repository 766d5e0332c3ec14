"""What an augmentation is, as data: families, their parameters with ranges, the ``AUGMENT=`` / ``DEGRADE=`` grammar,
and the label consequence of each. Pure Python (no numpy, no codecs): training and evaluation read it cheaply.

``AUGMENT=`` (training variants, each drawn at random per clip within the parameter ranges)::

    FAMILY[:COUNT][:KEY=VALUE]...[,FAMILY...]     e.g.  rawboost:3,codec:2:codecs=mp3+opus,noise:1:snr=10..30

COUNT variants of every training clip (default 1); ranges ``LO..HI``; sets ``A+B+C``; numbers may end in ``k``
(x1000), ``db`` or ``hz``. ``DEGRADE=`` (robustness sweep: one fixed condition each, applied to every test clip)::

    NAME[:VALUE][:KEY=VALUE]...[,NAME...]          e.g.  mp3:32k,opus:12k,amr,resample:8k,noise:20db

Every name, key and value is checked here, before any audio is read: an unknown name lists the known ones, a bad
parameter names itself and its range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from codecfake.augment.errors import BadAugmentParameter, UnknownAugmentation

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


@dataclass(frozen=True)
class Recipe:
    """A family with every parameter resolved (defaults filled); ``name`` is how reports show it."""

    family: str
    params: tuple[tuple[str, Any], ...]  # sorted by name
    name: str = ""

    def get(self, key: str) -> Any:
        return dict(self.params)[key]

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params},
        }


@dataclass(frozen=True)
class AugmentRequest:
    recipe: Recipe
    count: int


def _number(family: str, p: Param, text: str) -> float:
    t = text.strip().lower()
    for suffix in ("db", "hz"):
        t = t.removesuffix(suffix)
    scale = 1000.0 if t.endswith("k") else 1.0
    try:
        value = float(t.removesuffix("k")) * scale
    except ValueError:
        raise BadAugmentParameter(
            f"{family}: parameter {p.name}={text!r} is not a number; expected {p.describe()}"
        ) from None
    if not (p.lo <= value <= p.hi):  # type: ignore[operator]
        raise BadAugmentParameter(
            f"{family}: parameter {p.name}={text} is out of range; expected {p.describe()}"
        )
    if p.kind in ("int", "intset") and value != int(value):
        raise BadAugmentParameter(
            f"{family}: parameter {p.name}={text} must be a whole number ({p.describe()})"
        )
    return value


def _value(family: str, p: Param, text: str) -> Any:
    """Parse one parameter value of ``family`` from text, checking its range/choices."""
    if p.kind == "int":
        return int(_number(family, p, text))
    if p.kind == "float":
        return _number(family, p, text)
    if p.kind == "range":
        lo_t, sep, hi_t = text.partition("..")
        lo = _number(family, p, lo_t)
        hi = _number(family, p, hi_t) if sep else lo
        if lo > hi:
            raise BadAugmentParameter(
                f"{family}: parameter {p.name}={text}: LO > HI; expected {p.describe()}"
            )
        return (lo, hi)
    if p.kind == "intset":
        return tuple(dict.fromkeys(int(_number(family, p, t)) for t in text.split("+")))
    if p.kind in ("choice", "set"):
        items = text.split("+") if p.kind == "set" else [text]
        bad = [t for t in items if t not in p.choices]
        if bad or not items:
            raise BadAugmentParameter(
                f"{family}: parameter {p.name}={text!r}: unknown {bad or text!r}; expected {p.describe()}"
            )
        return tuple(dict.fromkeys(items)) if p.kind == "set" else text
    return text  # path: checked when the augmentation is built


def make_recipe(family: str, given: Mapping[str, Any] | None = None, name: str = "") -> Recipe:
    """A recipe with ``given`` parameters (already typed) over the family's defaults; cross-checks included."""
    if family not in FAMILIES:
        raise UnknownAugmentation(f"unknown augmentation {family!r}; known: {', '.join(FAMILIES)}")
    fam = FAMILIES[family]
    values = {p.name: p.default for p in fam.params}
    for key, value in (given or {}).items():
        fam.param(key)
        values[key] = value
    if family == "codec":
        _check_codec_bitrate(values["codecs"], values["bitrate"])
    canonical = {p.name: _canonical(p, values[p.name]) for p in fam.params}
    return Recipe(family, tuple(sorted(canonical.items())), name or family)


def _canonical(p: Param, value: Any) -> Any:
    """One spelling per value (ranges and floats as floats, sets as tuples), so equal recipes have equal keys."""
    if p.kind == "range":
        return (float(value[0]), float(value[1]))
    if p.kind == "float":
        return float(value)
    if p.kind == "int":
        return int(value)
    if p.kind == "intset":
        return tuple(int(v) for v in value)
    if p.kind == "set":
        return tuple(value)
    return value


def _check_codec_bitrate(codecs: Sequence[str], bitrate: int) -> None:
    if not bitrate:
        return
    for c in codecs:
        lo, hi = CODEC_BITRATE_RANGE.get(c, (None, None))
        ok = lo <= bitrate <= hi if lo is not None else bitrate in CODEC_BITRATES[c]
        if not ok:
            allowed = f"{lo}..{hi}" if lo is not None else "|".join(map(str, CODEC_BITRATES[c]))
            raise BadAugmentParameter(f"codec {c}: parameter bitrate={bitrate} is not one of {allowed} bit/s")


def _split_items(text: str, what: str) -> list[list[str]]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise BadAugmentParameter(f"{what}: empty; e.g. {what}=rawboost:2,codec:1")
    return [item.split(":") for item in items]


def _keyvals(family: str, fields: Sequence[str]) -> dict[str, Any]:
    out = {}
    fam = FAMILIES[family]
    for field in fields:
        key, eq, text = field.partition("=")
        if not eq:
            raise BadAugmentParameter(f"{family}: expected KEY=VALUE, found {field!r}")
        out[key] = _value(family, fam.param(key), text)
    return out


def parse_augment(text: str) -> list[AugmentRequest]:
    """``rawboost:3,codec:2:codecs=mp3+opus`` -> requests (recipe, count); duplicates of one recipe are refused."""
    out: list[AugmentRequest] = []
    for fields in _split_items(text, "AUGMENT"):
        family, rest = fields[0], fields[1:]
        if family not in FAMILIES:
            raise UnknownAugmentation(
                f"AUGMENT: unknown augmentation {family!r}; known: {', '.join(FAMILIES)}"
            )
        count = 1
        if rest and "=" not in rest[0]:
            if not rest[0].isdigit() or not 1 <= int(rest[0]) <= 64:
                raise BadAugmentParameter(
                    f"AUGMENT {family}: count {rest[0]!r} must be a whole number in [1..64] (variants per clip)"
                )
            count, rest = int(rest[0]), rest[1:]
        recipe = make_recipe(family, _keyvals(family, rest))
        if any(r.recipe == recipe for r in out):
            raise BadAugmentParameter(
                f"AUGMENT: {family} is given twice with the same parameters; add the counts"
            )
        out.append(AugmentRequest(recipe, count))
    return out


def _short(value: float) -> str:
    return f"{value / 1000:g}k" if value >= 1000 else f"{value:g}"


def parse_degrade(text: str) -> list[Recipe]:
    """``mp3:32k,opus:12k,amr,resample:8k,noise:20db`` -> one fixed recipe per degradation (named as written)."""
    out: list[Recipe] = []
    for fields in _split_items(text, "DEGRADE"):
        name, rest = fields[0], fields[1:]
        if name not in DEGRADATIONS:
            raise UnknownAugmentation(
                f"DEGRADE: unknown degradation {name!r}; known: {', '.join(DEGRADATIONS)}"
            )
        family, key, fixed, default = DEGRADATIONS[name]
        p = FAMILIES[family].param(key)
        value_text = rest[0] if rest and "=" not in rest[0] else None
        rest = rest[1:] if value_text is not None else rest
        raw = _value(family, p, value_text) if value_text is not None else default
        value = (raw, raw) if p.kind == "range" and not isinstance(raw, tuple) else raw
        value = (int(value),) if p.kind == "intset" and not isinstance(value, tuple) else value
        if p.kind == "intset" and len(value) != 1:
            raise BadAugmentParameter(f"DEGRADE {name}: one {key} per degradation, found {value_text!r}")
        if p.kind == "range" and value[0] != value[1]:
            raise BadAugmentParameter(f"DEGRADE {name}: a fixed {key} per degradation, found {value_text!r}")
        shown = float(value[0] if isinstance(value, tuple) else value)
        label = f"{name}:{shown:g}db" if family == "noise" else f"{name}:{_short(shown)}"
        params = {**fixed, key: int(value) if p.kind == "int" else value, **_keyvals(family, rest)}
        recipe = make_recipe(family, params, name=label + "".join(f":{f}" for f in rest))
        if any(r.name == recipe.name for r in out):
            raise BadAugmentParameter(f"DEGRADE: {recipe.name} is given twice")
        out.append(recipe)
    return out


def resolved_on(recipe: Recipe, domain: str) -> str:
    """Which clips of ``domain`` the recipe applies to: "all", "spoof" or "bonafide" (codec on=auto by framing)."""
    if recipe.family != "codec":
        return "all"
    on = recipe.get("on")
    if on == "auto":
        return "spoof" if domain in CODEC_IS_FAKE_DOMAINS else "all"
    return str(on)


def applies_to(recipe: Recipe, domain: str, label: int) -> bool:
    """True when a clip of ``domain`` with ``label`` (0 bona fide, 1 spoof) gets this recipe's variants."""
    on = resolved_on(recipe, domain)
    return on == "all" or (on == "spoof") == (label == 1)


def label_consequence(recipe: Recipe, domains: Sequence[str] = ()) -> str:
    """One sentence for config.json and logs: what this augmentation means for the labels on these domains."""
    text = FAMILIES[recipe.family].labels
    if recipe.family == "codec" and domains:
        per = ", ".join(f"{d}: {resolved_on(recipe, d)}" for d in domains)
        return f"{text} (here: {per})"
    return text


def describe_families() -> str:
    """Every family with its parameters: for --help texts and error messages."""
    return "; ".join(f"{f.name} ({', '.join(p.describe() for p in f.params)})" for f in FAMILIES.values())

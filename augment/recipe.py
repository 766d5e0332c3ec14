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

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from codecfake.augment.errors import BadAugmentParameter, UnknownAugmentation
from codecfake.augment.families import (
    CODEC_BITRATE_RANGE,
    CODEC_BITRATES,
    CODEC_IS_FAKE_DOMAINS,
    CODEC_RATE_HZ,
    CODECS,
    DEGRADATIONS,
    FAMILIES,
    Family,
    Param,
)

__all__ = [
    "CODEC_BITRATES",
    "CODEC_IS_FAKE_DOMAINS",
    "CODEC_RATE_HZ",
    "CODECS",
    "DEGRADATIONS",
    "FAMILIES",
    "AugmentRequest",
    "Family",
    "Param",
    "Recipe",
    "applies_to",
    "label_consequence",
    "make_recipe",
    "parse_augment",
    "parse_degrade",
    "resolved_on",
]


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
    if not (p.lo <= value <= p.hi):  # type: ignore[operator]  # the number kinds (int, float, range) all have bounds
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
        bounds = CODEC_BITRATE_RANGE.get(c)
        ok = bounds[0] <= bitrate <= bounds[1] if bounds is not None else bitrate in CODEC_BITRATES[c]
        if not ok:
            allowed = (
                f"{bounds[0]}..{bounds[1]}" if bounds is not None else "|".join(map(str, CODEC_BITRATES[c]))
            )
            raise BadAugmentParameter(f"codec {c}: parameter bitrate={bitrate} is not one of {allowed} bit/s")


def _split_items(text: str, what: str) -> list[list[str]]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise BadAugmentParameter(f"{what}: empty; e.g. {what}=rawboost:2,codec:1")
    return [item.split(":") for item in items]


def _known_items(
    text: str, what: str, known: Mapping[str, Any], noun: str
) -> Iterator[tuple[str, list[str]]]:
    """(name, its other fields) for each item of ``text``, in order; an unknown name is refused when reached, with
    the known ones listed."""
    for fields in _split_items(text, what):
        if fields[0] not in known:
            raise UnknownAugmentation(f"{what}: unknown {noun} {fields[0]!r}; known: {', '.join(known)}")
        yield fields[0], fields[1:]


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
    for family, rest in _known_items(text, "AUGMENT", FAMILIES, "augmentation"):
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
    for name, rest in _known_items(text, "DEGRADE", DEGRADATIONS, "degradation"):
        family, key, fixed, default = DEGRADATIONS[name]
        p = FAMILIES[family].param(key)
        value_text = rest[0] if rest and "=" not in rest[0] else None
        rest = rest[1:] if value_text is not None else rest
        raw = _value(family, p, value_text) if value_text is not None else default
        # the value's type follows p.kind (a range's pair, an intset's tuple, a number)
        value: Any = (raw, raw) if p.kind == "range" and not isinstance(raw, tuple) else raw
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

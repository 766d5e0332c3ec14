"""The AUGMENT= / DEGRADE= grammar: what it accepts, how it names bad input, and the label rules."""

from __future__ import annotations

import pytest

from codecfake.augment.errors import BadAugmentParameter, UnknownAugmentation
from codecfake.augment.recipe import (
    FAMILIES,
    applies_to,
    label_consequence,
    parse_augment,
    parse_degrade,
    resolved_on,
)


def test_augment_counts_params_and_defaults():
    reqs = parse_augment("rawboost:3,codec:2:codecs=mp3+opus:on=all,noise:snr=10..30")
    assert [(r.recipe.family, r.count) for r in reqs] == [("rawboost", 3), ("codec", 2), ("noise", 1)]
    assert reqs[0].recipe.get("algo") == 5  # SSL_Anti-spoofing's default (LnL + ISD in series)
    assert reqs[0].recipe.get("snr") == (10.0, 40.0) and reqs[0].recipe.get("f") == (20.0, 8000.0)
    assert reqs[1].recipe.get("codecs") == ("mp3", "opus") and reqs[1].recipe.get("on") == "all"
    assert reqs[2].recipe.get("snr") == (10.0, 30.0)
    # one spelling per value: an explicit default is the same recipe (hence the same store key)
    assert parse_augment("rawboost:1:snr=10..40:algo=5")[0].recipe == parse_augment("rawboost")[0].recipe


def test_degrade_names_values_and_units():
    recipes = parse_degrade("mp3:32k,opus:12k,amr,resample:8k,noise:20db,lowpass:4k,g726:24k,rawboost:3")
    assert [r.name for r in recipes] == [
        "mp3:32k",
        "opus:12k",
        "amr:12.2k",
        "resample:8k",
        "noise:20db",
        "lowpass:4k",
        "g726:24k",
        "rawboost:3",
    ]
    mp3, _, amr, res, noise, low, _, rb = recipes
    assert (mp3.get("codecs"), mp3.get("bitrate"), mp3.get("on")) == (("mp3",), 32000, "all")
    assert amr.get("codecs") == ("amrnb",) and res.get("rate") == (8000,)
    assert noise.get("snr") == (20.0, 20.0) and low.get("cut") == (4000.0, 4000.0) and rb.get("algo") == 3


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("foo:1", ["unknown augmentation 'foo'", *FAMILIES]),
        ("rawboost:2:zz=1", ["unknown parameter 'zz'", "algo in [1..8]"]),
    ],
)
def test_unknown_names_list_the_known_ones(text, words):
    with pytest.raises(UnknownAugmentation if "foo" in text else BadAugmentParameter) as err:
        parse_augment(text)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("rawboost:2:algo=9", ["algo=9", "algo in [1..8]"]),
        ("rawboost:x", ["count 'x'", "[1..64]"]),
        ("noise:1:snr=30..10", ["snr=30..10", "LO > HI", "[-10..60]"]),
        ("noise:1:snr=loud", ["snr='loud'", "not a number"]),
        ("codec:1:codecs=mp3+wma", ["codecs", "wma", "opus+mp3"]),
        ("codec:1:codecs=amrnb:bitrate=5000", ["bitrate=5000", "4750|5150"]),
        ("resample:1:rate=22050", ["rate=22050", "[4000..15999]"]),
        ("rawboost,rawboost", ["given twice"]),
    ],
)
def test_malformed_parameters_name_the_parameter_and_its_range(text, words):
    with pytest.raises(BadAugmentParameter) as err:
        parse_augment(text)
    for w in words:
        assert w in str(err.value)


def test_unknown_degradation_and_bad_value():
    with pytest.raises(UnknownAugmentation, match="known: opus, mp3"):
        parse_degrade("mp4:32k")
    with pytest.raises(BadAugmentParameter, match="bitrate=1000 is not one of 8000..160000"):
        parse_degrade("mp3:1k")
    with pytest.raises(BadAugmentParameter, match="out of range"):
        parse_degrade("resample:20k")


def test_codec_labels_follow_each_corpus_framing():
    codec = parse_augment("codec")[0].recipe
    # Codecfake framing: a codec re-synthesis is the fake -> its bona fide never gets a codec variant
    assert resolved_on(codec, "codec") == "spoof" and resolved_on(codec, "alm") == "spoof"
    assert not applies_to(codec, "codec", 0) and applies_to(codec, "codec", 1)
    # ASVspoof 5 framing: a codec is a channel both classes pass through
    assert resolved_on(codec, "vocoder") == "all" and applies_to(codec, "vocoder", 0)
    both = parse_augment("codec:1:on=all")[0].recipe
    assert applies_to(both, "codec", 0)
    for family in ("rawboost", "noise", "resample", "lowpass"):
        r = parse_augment(family)[0].recipe
        assert applies_to(r, "codec", 0) and "preserves the labels" in label_consequence(r)
    assert "(here: codec: spoof, vocoder: all)" in label_consequence(codec, ["codec", "vocoder"])

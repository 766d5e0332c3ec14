"""Source tracing over a CodecFake+ taxonomy level: the class of a spoof is one level of its method."""

from __future__ import annotations

import numpy as np
import pytest

from codecfake.train.config import ConfigError, TrainConfig
from codecfake.train.trace_labels import TraceLabelError, derive_classes, generator_labels

META = {
    "utt_id": np.array(["r", "a", "b", "c"]),
    "label": np.array([0, 1, 1, 1]),
    "method": np.array(
        ["bonafide", "MVQ-Trad-TIME:Encodec_24b24k", "SVQ-Trad-FREQ:wavtokenizer", "?-SEM-?:VALLE"]
    ),
}


def test_levels_of_codecfakeplus_methods() -> None:
    assert generator_labels(META).tolist() == ["bonafide", *META["method"][1:].tolist()]
    assert generator_labels(META, level="vq").tolist() == ["bonafide", "MVQ", "SVQ", "?"]
    assert generator_labels(META, level="aux").tolist() == ["bonafide", "Trad", "Trad", "SEM"]
    assert generator_labels(META, level="dec").tolist() == ["bonafide", "TIME", "FREQ", "?"]
    assert derive_classes(generator_labels(META, level="dec").tolist()) == ("bonafide", "?", "FREQ", "TIME")


def test_a_level_needs_taxonomy_methods_and_a_known_name() -> None:
    la = {"utt_id": np.array(["x"]), "label": np.array([1]), "method": np.array(["A07"])}
    with pytest.raises(TraceLabelError, match="trace level 'vq' needs CodecFake\\+ methods"):
        generator_labels(la, level="vq")
    with pytest.raises(ConfigError, match="unknown trace_level 'codec'"):
        TrainConfig(trace_level="codec")
    assert TrainConfig.from_dict({"task": "trace"}).trace_level == "generator"  # runs from before the option

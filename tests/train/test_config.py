"""TrainConfig: paper defaults, presets, typed overrides that fail at start-up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codecfake.train.config import (
    ConfigError,
    TrainConfig,
    default_run_name,
    parse_text,
    resolve_config,
)


def test_defaults_are_the_papers() -> None:
    c = TrainConfig()
    assert (c.epochs, c.batch, c.lr, c.lr_decay, c.lr_step_epochs) == (10, 128, 5e-4, 0.5, 2)
    assert (c.weight_decay, c.beta1, c.beta2, c.class_weights, c.seed) == (5e-4, 0.9, 0.999, (10.0, 1.0), 688)


@pytest.mark.parametrize("opt", ["adam", "sam", "asam", "csam", "csam-pd"])
@pytest.mark.parametrize("backend", ["aasist", "lcnn"])
def test_every_optimiser_and_backend_resolve_to_the_papers_settings(opt: str, backend: str) -> None:
    c = resolve_config({"opt": opt, "backend": backend})
    assert (c.opt, c.backend, c.batch, c.epochs, c.domain_ratio) == (opt, backend, 128, 10, ())
    assert c.adaptive == (opt == "asam")  # asam is sam with the |w|-scaled ascent, whatever --adaptive says
    assert c.rho == 0.05
    assert resolve_config({"opt": "asam", "adaptive": False}).adaptive


def test_preset_files_apply_backend_then_optimiser_then_overrides(tmp_path: Path) -> None:
    (tmp_path / "backend").mkdir()
    (tmp_path / "opt").mkdir()
    (tmp_path / "backend" / "lcnn.toml").write_text("batch = 64\nrho = 0.2\n")
    (tmp_path / "opt" / "sam.toml").write_text("rho = 0.1\nepochs = 4\n")
    c = resolve_config({"backend": "lcnn", "opt": "sam", "epochs": 3}, config_dir=tmp_path)
    assert (c.batch, c.rho, c.epochs) == (64, 0.1, 3)
    assert resolve_config({"backend": "aasist", "opt": "adam"}, config_dir=tmp_path) == TrainConfig()
    (tmp_path / "opt" / "adam.toml").write_text("epochz = 1\n")
    with pytest.raises(ConfigError, match="adam.toml: unknown training config key 'epochz'"):
        resolve_config({"opt": "adam"}, config_dir=tmp_path)


def test_overrides_beat_presets_and_keep_types() -> None:
    c = resolve_config({"opt": "asam", "rho": 0.5, "epochs": 3, "domain_ratio": (0.5, 0.5)})
    assert (c.rho, c.epochs, c.domain_ratio, c.adaptive) == (0.5, 3, (0.5, 0.5), True)


def test_booleans_are_booleans() -> None:
    assert parse_text("same_dropout", "false") is False
    assert parse_text("same_dropout", "True") is True
    with pytest.raises(ConfigError, match="true or false"):
        parse_text("same_dropout", "maybe")
    with pytest.raises(ConfigError, match="must be bool"):
        TrainConfig.from_dict({"adaptive": "False"})


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"epochz": 3}, "unknown training config key 'epochz'"),
        ({"epochs": "3"}, "`epochs` must be int"),
        ({"epochs": 2.5}, "`epochs` must be int"),
        ({"lr": "fast"}, "`lr` must be float"),
        ({"opt": "sgd"}, "unknown opt 'sgd'"),
        ({"task": "both"}, "unknown task 'both'"),
        ({"batch": 1}, "batch"),
        ({"class_weights": [1.0]}, "class_weights"),
        (
            {"sources": {"epochz": "command line"}},
            r"`sources` names keys that are no config keys: \['epochz'\]",
        ),
        ({"sources": {"epochs": 3}}, "`sources` must be"),
    ],
)
def test_bad_values_fail_early(values: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        resolve_config(values)


def test_unknown_cli_key_and_bad_number() -> None:
    with pytest.raises(ConfigError, match="unknown training option --nope"):
        parse_text("nope", "1")
    with pytest.raises(ConfigError, match="cannot read 'x' as int"):
        parse_text("epochs", "x")
    assert parse_text("features", "a.mel.1,b.mel.2") == ("a.mel.1", "b.mel.2")


def test_json_round_trip_and_run_name() -> None:
    c = resolve_config({"opt": "csam", "features": ("k1", "k2"), "seed": 1})
    assert TrainConfig.from_dict(c.to_dict()) == c
    assert default_run_name(c, "mel") == "cotrain-aasist-csam-s1-mel"


def test_sources_round_trip_and_an_older_runs_note_is_ignored() -> None:
    c = resolve_config({"epochs": 3}).replace(sources={"epochs": "command line", "batch": "preset demo"})
    saved = json.loads(json.dumps(c.to_dict()))  # as config.json holds it
    assert saved["sources"] == {"epochs": "command line", "batch": "preset demo"}
    assert TrainConfig.from_dict(saved) == c
    older = {
        **TrainConfig(batch=32).to_dict(),
        "from_demo_preset": ["batch"],
    }  # config.json of a run made before
    older.pop("sources")
    assert TrainConfig.from_dict(older) == TrainConfig(batch=32)

"""codecfake.presets: a preset may set any of its keys, nothing else; `none` is no preset."""

from __future__ import annotations

from pathlib import Path

import pytest

from codecfake.presets import PresetError, read_preset, recorded_preset


def test_a_preset_may_leave_keys_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "short.toml").write_text("[train]\nepochs = 2\nlr = 0.001\n")
    monkeypatch.setattr("codecfake.presets.CONFIG_DIR", tmp_path)
    p = read_preset("short")
    assert p is not None and (p.name, dict(p.train), dict(p.features), dict(p.sam_rho)) == (
        "short",
        {"epochs": 2, "lr": 0.001},
        {},
        {},
    )
    assert p.rho_for("lcnn", sam_family=True) is None


def test_none_and_paper_are_no_preset_and_names_stay_inside_configs() -> None:
    assert read_preset("none") is None and read_preset("paper") is None
    for bad in ("../demo", "a/b", ".hidden", ""):
        with pytest.raises(PresetError, match="expected the name of a file configs/<name>.toml"):
            read_preset(bad)


def test_the_preset_a_set_records_is_read_from_its_provenance() -> None:
    assert recorded_preset({"extra": {"preset": "demo", "part": ""}}) == "demo"
    assert recorded_preset({"extra": {"part": ""}}) is None and recorded_preset({}) is None

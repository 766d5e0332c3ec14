"""Run directories: write_run / load_run round trip, safetensors + JSON only, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from codecfake.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from codecfake.train.config import TrainConfig
from codecfake.train.rundir import RunError, load_run, make_provenance, write_run

EXTRACTOR = {"extractor": "mel", "model_id": "mel-80-512-128", "weights_sha256": "", "params": {"n_mels": 80}}


def _trained_toy(builder):
    model = builder("toy", (6, 4))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    model.train()
    model(torch.randn(8, 6, 4))  # moves the BN running statistics
    return model


def test_write_then_load_gives_same_outputs(tmp_path: Path, builder) -> None:
    model = _trained_toy(builder)
    config = TrainConfig(backend="toy", task="codec")
    prov = make_provenance(["mini-codecfake.mel.abc"], "mel", (6, 4), EXTRACTOR)
    run = write_run(tmp_path / "r", model, config, prov, metrics={"epoch": 3, "dev_loss": 0.1})
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.json", "best.safetensors"]
    assert not list(run.rglob("*.pt"))
    loaded = load_run(run, builder=builder)
    assert loaded.config == config and loaded.array == "mel" and loaded.frame_shape == (6, 4)
    assert loaded.feature_keys == ("mini-codecfake.mel.abc",) and loaded.extractor == EXTRACTOR
    assert not loaded.model.training
    x = torch.randn(5, 6, 4)
    model.eval()
    torch.testing.assert_close(loaded.model(x)[1], model(x)[1], rtol=0, atol=0)
    prov_doc = json.loads((run / "provenance.json").read_text())
    assert prov_doc["package_version"] and "git_commit" in prov_doc


def test_missing_run_and_missing_provenance_fields(tmp_path: Path, builder) -> None:
    with pytest.raises(RunError, match="does not exist"):
        load_run(tmp_path / "nope", builder=builder)
    with pytest.raises(RunError, match="provenance lacks"):
        write_run(tmp_path / "r", builder("toy", (6, 4)), TrainConfig(backend="toy"), {"array": "mel"})


def test_weights_for_another_shape_are_refused(tmp_path: Path, builder) -> None:
    prov = make_provenance(["k"], "mel", (6, 4), EXTRACTOR)
    run = write_run(tmp_path / "r", builder("toy", (6, 4)), TrainConfig(backend="toy"), prov)
    doc = json.loads((run / "provenance.json").read_text())
    doc["frame_shape"] = [6, 5]
    (run / "provenance.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="shape mismatch"):
        load_run(run, builder=builder)


def test_torn_checkpoint_pair_is_refused(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "a", {"x": torch.ones(2)}, {"epoch": 1})
    save_checkpoint(tmp_path / "b", {"x": torch.zeros(2)}, {"epoch": 2})
    (tmp_path / "b.json").replace(tmp_path / "a.json")
    with pytest.raises(CheckpointError, match="no tensor file matches"):
        load_checkpoint(tmp_path / "a")


def test_crash_between_tensor_and_json_replace_keeps_the_previous_pair(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "last", {"x": torch.ones(2)}, {"epoch": 1})
    old_json = (tmp_path / "last.json").read_text()
    old_tensors = (tmp_path / "last.safetensors").read_bytes()
    save_checkpoint(tmp_path / "last", {"x": torch.full((2,), 2.0)}, {"epoch": 2})
    assert load_checkpoint(tmp_path / "last")[1]["epoch"] == 2
    assert not (tmp_path / "last.prev.safetensors").exists()  # dropped once the new pair is complete
    # as if killed after the new tensors replaced the old ones but before the JSON: old JSON, .prev = old tensors
    (tmp_path / "last.prev.safetensors").write_bytes(old_tensors)
    (tmp_path / "last.json").write_text(old_json)
    tensors, state = load_checkpoint(tmp_path / "last")
    assert state["epoch"] == 1 and torch.equal(tensors["x"], torch.ones(2))

"""The transformers range in pyproject.toml is the one the SSL code works with: the installed version lies in it,
and the APIs extract/ssl.py relies on (some private) behave as the code expects on a tiny random model."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import torch
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]


def _declared(dist: str) -> Requirement:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(r for r in map(Requirement, deps) if r.name == dist)


def test_installed_transformers_is_inside_the_declared_range() -> None:
    req, installed = _declared("transformers"), Version(metadata.version("transformers"))
    assert req.specifier, "pyproject.toml must bound transformers: extract/ssl.py uses private model APIs"
    assert req.specifier.contains(installed, prereleases=True), (
        f"transformers {installed} is outside pyproject.toml's {req}; reinstall with `make venv`, or check "
        "extract/ssl.py against this version (tests/extract/test_ssl.py) before widening the range"
    )


def test_the_model_apis_ssl_relies_on(tmp_path: Path) -> None:
    from transformers import Wav2Vec2Model

    from codecfake.extract.testing import save_tiny_model

    folder = save_tiny_model(tmp_path / "xlsr", "xlsr", stable=True)
    model = Wav2Vec2Model.from_pretrained(str(folder), local_files_only=True).eval()
    assert int(model.config.num_hidden_layers) == 3 and int(model.config.hidden_size) == 32
    layers = model.encoder.layers
    assert isinstance(layers, torch.nn.ModuleList) and isinstance(
        layers[:2], torch.nn.ModuleList
    )  # truncation
    # the private helper that gives the frame count: 64,600 samples -> 201 frames (the paper's XLS-R shape)
    assert int(model._get_feat_extract_output_lengths(torch.tensor(64600)).item()) == 201
    seen: dict[str, torch.Tensor] = {}

    def keep_input(module, args, kwargs) -> None:
        seen["in"] = args[0] if args else kwargs["hidden_states"]

    def keep_output(module, args, out) -> None:
        seen["out"] = out[0] if isinstance(out, tuple) else out

    layers[0].register_forward_pre_hook(keep_input, with_kwargs=True)
    layers[1].register_forward_hook(keep_output)
    with torch.no_grad():
        ref = model(torch.zeros(1, 16000), output_hidden_states=True).hidden_states
    # the hooks see hidden_states[0] (input of layer 1) and hidden_states[2] (output of layer 2), as ssl.py assumes
    torch.testing.assert_close(seen["in"], ref[0])
    torch.testing.assert_close(seen["out"], ref[2])

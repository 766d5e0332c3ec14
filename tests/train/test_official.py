"""Fidelity: the release's weights in our back-ends reproduce the release's golden outputs; the import writes a run."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from codecfake.evaluate.official_import import import_official
from codecfake.train.backends import build_backend
from codecfake.train.official import (
    AASIST_NAME_MAP,
    LCNN_NAME_MAP,
    OfficialImportError,
    load_official,
    map_release_state,
    our_name,
    read_release_checkpoint,
)
from codecfake.train.testing import save_release_pickle

torch.set_num_threads(1)

# Ours to ship: seeded random weights under the release's names and the release model's outputs for them.
FIXTURES = Path(__file__).resolve().parent / "data" / "release-random"
# The release's own back-ends (CC BY-NC-ND data, no code licence) stay out of the repository.
REFERENCE = Path(
    os.environ.get("CODECFAKE_REFERENCE", Path(__file__).resolve().parents[3] / "shared" / "reference")
)
REF = REFERENCE / "checkpoints"

SHAPES = {"aasist": (201, 1024), "lcnn": (505, 80)}
PICKLES = [("codec_w2v2aasist", "aasist"), ("cotrain_w2v2aasist_CSAM", "aasist"), ("codec_mellcnn", "lcnn")]
_RELEASE_FILES = [f"{n}.pt" for n, _ in PICKLES] + [f"golden_{n}.npz" for n, _ in PICKLES]
needs_release = pytest.mark.skipif(
    not all((REF / f).is_file() for f in _RELEASE_FILES),
    reason=f"the release's checkpoints are not part of this repository: put {', '.join(_RELEASE_FILES)} (each "
    "<name>.pt is pretrained_model/<name>/anti-spoofing_feat_model.pt of xieyuankun/Codecfake; the goldens come "
    f"with the project's reference folder) in {REF}, or set CODECFAKE_REFERENCE to the folder holding checkpoints/",
)


def _golden_path(name: str) -> Path:
    shipped = FIXTURES / f"golden_{name}.npz"
    return shipped if shipped.is_file() else REF / f"golden_{name}.npz"


def _check_golden(model: torch.nn.Module, golden: str) -> None:
    """Eval-mode outputs on the golden `x` equal the release's within 1e-5 (relative for |values| > 1).

    The Mel-LCNN embedding reaches |42| on mel power input, where one float32 ulp is 3.8e-6; evaluating our model in
    float64 moves it 4e-5 away from the (float32) golden, so an absolute 1e-5 there would test rounding, not
    architecture. A wrong detail (a missing BN, a swapped softmax axis) moves outputs by orders of magnitude more.
    """
    z = np.load(_golden_path(golden))
    with torch.no_grad():
        emb, logits = model.eval()(torch.from_numpy(z["x"]))
    torch.testing.assert_close(logits.double(), torch.from_numpy(z["logits"]), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(emb.double(), torch.from_numpy(z["embedding"]), rtol=1e-5, atol=1e-5)
    p_bonafide = torch.softmax(logits, dim=1)[:, 0].double()
    expected = (
        torch.from_numpy(z["p_bonafide"])
        if "p_bonafide" in z.files
        else torch.softmax(torch.from_numpy(z["logits"]), dim=1)[:, 0]
    )
    torch.testing.assert_close(p_bonafide, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", ["aasist", "lcnn"])
def test_random_state_dicts_reproduce_goldens(backend: str) -> None:
    release = load_file(str(FIXTURES / f"random_{backend}.safetensors"))
    model = build_backend(backend, SHAPES[backend])
    model.load_state_dict(map_release_state(release, backend, model), strict=True)
    _check_golden(model, f"random_{backend}")


@needs_release
@pytest.mark.parametrize(("name", "backend"), PICKLES)
def test_released_pickles_reproduce_goldens(name: str, backend: str) -> None:
    _check_golden(load_official(REF / f"{name}.pt", backend), name)


@needs_release
@pytest.mark.parametrize(("name", "backend"), PICKLES)
def test_pickles_yield_every_parameter_and_bn_statistic(name: str, backend: str) -> None:
    class_name, release = read_release_checkpoint(REF / f"{name}.pt")
    reference = load_file(str(FIXTURES / f"random_{backend}.safetensors"))
    assert class_name == {"aasist": "model.W2VAASIST", "lcnn": "model.LCNN"}[backend]
    assert {k: tuple(v.shape) for k, v in release.items()} == {
        k: tuple(v.shape) for k, v in reference.items()
    }
    stats = [k for k in release if k.endswith(("running_mean", "running_var"))]
    assert len(stats) == (2 * 20 if backend == "aasist" else 2 * 6)  # 20 BNs in AASIST, 6 in LCNN
    assert all(not torch.equal(release[k], torch.zeros_like(release[k])) for k in stats if "mean" in k)
    model = build_backend(backend, SHAPES[backend])
    n_trainable = sum(release[k].numel() for k in release if "running_" not in k and "num_batches" not in k)
    assert n_trainable == {"aasist": 447_242, "lcnn": 972_514}[backend]
    assert n_trainable == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("backend", "table"), [("aasist", AASIST_NAME_MAP), ("lcnn", LCNN_NAME_MAP)])
def test_name_table_is_complete_both_ways(backend: str, table: tuple) -> None:
    release = load_file(str(FIXTURES / f"random_{backend}.safetensors"))
    own = build_backend(backend, SHAPES[backend]).state_dict()
    mapped = {our_name(k, table) for k in release}
    assert mapped == set(own) and len(mapped) == len(
        release
    )  # a bijection: nothing unmapped, nothing invented
    used = {max((a for a, _ in table if k == a or k.startswith(a + ".")), key=len) for k in release}
    assert used == {a for a, _ in table}  # no dead rows in the table


@pytest.mark.parametrize("backend", ["aasist", "lcnn"])
def test_mapping_refuses_missing_and_invented_keys(backend: str) -> None:
    release = load_file(str(FIXTURES / f"random_{backend}.safetensors"))
    model = build_backend(backend, SHAPES[backend])
    dropped = dict(release)
    gone = sorted(dropped)[5]
    del dropped[gone]
    with pytest.raises(OfficialImportError, match="left empty"):
        map_release_state(dropped, backend, model)
    with pytest.raises(OfficialImportError, match="without a place.*invented_layer"):
        map_release_state({**release, "invented_layer.weight": torch.zeros(2)}, backend, model)
    wrong = {**release, sorted(release)[-1]: torch.zeros(3, 3, 3)}
    with pytest.raises(OfficialImportError, match="shape mismatches"):
        map_release_state(wrong, backend, model)


@needs_release
def test_wrong_backend_is_refused() -> None:
    with pytest.raises(OfficialImportError, match="--backend aasist"):
        load_official(REF / "codec_w2v2aasist.pt", "lcnn")


@needs_release
def test_import_writes_a_loadable_run(tmp_path: Path) -> None:
    from codecfake.train.rundir import load_run

    run_dir = import_official(REF / "codec_mellcnn.pt", "lcnn", "mel-lcnn", runs=tmp_path)
    run = load_run(run_dir)
    assert (run.config.backend, run.array, run.frame_shape, run.feature_keys) == (
        "lcnn",
        "mel",
        (505, 80),
        (),
    )
    assert run.extractor["extractor"] == "mel" and run.extractor["params"]["log"] is False
    prov = json.loads((run_dir / "provenance.json").read_text())
    assert prov["source"]["kind"] == "official-release" and len(prov["source"]["sha256"]) == 64
    _check_golden(run.model, "codec_mellcnn")
    with pytest.raises(OfficialImportError, match="already exists"):
        import_official(REF / "codec_mellcnn.pt", "lcnn", "mel-lcnn", runs=tmp_path)


@needs_release
def test_import_cli_names_task_and_optimiser(tmp_path: Path) -> None:
    from codecfake.app.cli import build_parser
    from codecfake.train.rundir import load_run

    args = build_parser().parse_args(
        [
            "import-official",
            str(REF / "cotrain_w2v2aasist_CSAM.pt"),
            "--backend",
            "aasist",
            "--name",
            "csam",
            "--runs",
            str(tmp_path),
        ]
    )
    assert args.func(args) == 0
    run = load_run(tmp_path / "csam")
    assert (run.config.task, run.config.opt, run.array, run.frame_shape) == (
        "cotrain",
        "csam",
        "L05",
        (201, 1024),
    )
    assert (
        run.extractor["extractor"] == "xlsr" and run.extractor["model_id"] == "facebook/wav2vec2-xls-r-300m"
    )
    _check_golden(run.model, "cotrain_w2v2aasist_CSAM")


@needs_release
def test_codecfake_cli_has_import_official(tmp_path: Path) -> None:
    from codecfake.app.cli import build_parser, main

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    from codecfake.train.official import _RELEASE_CLASS

    backend = next(a for a in sub.choices["import-official"]._actions if a.dest == "backend")
    assert tuple(backend.choices) == tuple(
        sorted(_RELEASE_CLASS)
    )  # the CLI offers exactly the importable classes
    rc = main(
        [
            "-q",
            "import-official",
            str(REF / "codec_w2v2aasist.pt"),
            "--backend",
            "lcnn",
            "--name",
            "x",
            "--runs",
            str(tmp_path),
        ]
    )
    assert rc == 2 and not (tmp_path / "x").exists()  # typed error -> exit 2, nothing written


def _mel_store(root: Path, log_mel: bool) -> str:
    from codecfake.extract.extractors import build_extractor
    from codecfake.store import FeatureSetSpec, FeatureStore

    fields = build_extractor("mel", log=log_mel).spec_fields()
    spec = FeatureSetSpec(corpus="toy", manifest_sha256="0" * 64, extractor="mel", **fields)
    meta = {
        k: np.array(v)
        for k, v in {
            "utt_id": ["a", "b"],
            "label": [0, 1],
            "domain": ["codec"] * 2,
            "condition": ["C1"] * 2,
            "split": ["test"] * 2,
        }.items()
    }
    fs = FeatureStore(root).create(spec, meta)
    fs.ensure_array("mel", (505, 80))
    return fs.key


@needs_release
def test_features_hint_pins_the_store_spec_and_refuses_log_mel(tmp_path: Path) -> None:
    from codecfake.store import FeatureStore
    from codecfake.train.rundir import load_run

    key = _mel_store(tmp_path / "store", log_mel=False)
    run_dir = import_official(
        REF / "codec_mellcnn.pt",
        "lcnn",
        "m",
        runs=tmp_path / "runs",
        features_hint=key,
        store=tmp_path / "store",
    )
    spec = FeatureStore(tmp_path / "store").open(key).spec.to_dict()
    assert load_run(run_dir).extractor == {
        k: v for k, v in spec.items() if k not in ("corpus", "manifest_sha256")
    }
    log_key = _mel_store(tmp_path / "store", log_mel=True)
    with pytest.raises(OfficialImportError, match="log-mel"):
        import_official(
            REF / "codec_mellcnn.pt",
            "lcnn",
            "m2",
            runs=tmp_path / "runs",
            features_hint=log_key,
            store=tmp_path / "store",
        )
    assert not (tmp_path / "runs" / "m2").exists()


# ---- DataParallel-wrapped release pickles, built here in the release's shape from the shipped random weights ----
@pytest.mark.parametrize("backend", ["aasist", "lcnn"])
def test_data_parallel_release_pickle_imports_and_reproduces_goldens(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "anti-spoofing_feat_model.pt"
    state = load_file(str(FIXTURES / f"random_{backend}.safetensors"))
    save_release_pickle(path, state, "W2VAASIST" if backend == "aasist" else "LCNN", data_parallel=True)
    assert "model" not in sys.modules  # the importer must not need the release's classes
    with open(path, "rb") as fh:
        raw = fh.read()
    assert b"DataParallel" in raw and b"src_device_obj" in raw and b"module.W2VAASIST" not in raw
    class_name, release = read_release_checkpoint(path)
    assert class_name == {"aasist": "model.W2VAASIST", "lcnn": "model.LCNN"}[backend]
    assert release.keys() == state.keys() and all(torch.equal(release[k], state[k]) for k in state)
    _check_golden(load_official(path, backend), f"random_{backend}")
    run_dir = import_official(path, backend, "dp", runs=tmp_path / "runs")
    from codecfake.train.rundir import load_run

    _check_golden(load_run(run_dir).model, f"random_{backend}")

"""configs/demo.toml: the demo's choices, read strictly (the demo needs every key), reaching the stages as explicit
options and as `--preset demo`."""

from __future__ import annotations

from pathlib import Path

import pytest

from codecfake.app.cli import build_parser
from codecfake.app.demo.matrix import demo_matrix
from codecfake.app.demo.pipeline import DemoOptions, features_argv
from codecfake.app.demo.preset import load_demo_preset
from codecfake.corpus import load_manifest
from codecfake.corpus.build.tiny import make_tiny_corpus
from codecfake.corpus.kinds import DEMO_KINDS
from codecfake.extract.cli import mel_params
from codecfake.extract.extractors import build_extractor
from codecfake.extract.pipeline import feature_set_spec
from codecfake.presets import PresetError, read_preset

GOOD = """
[features]
mel_hop = 256
mel_n_fft = 512
mel_values = "power"
[train]
epochs = 2
batch = 8
lr = 1e-3
lr_step_epochs = 3
[train.sam_rho]
lcnn = 0.02
aasist = 1
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "demo.toml"
    path.write_text(text)
    return path


def test_the_packaged_preset_holds_the_demos_choices() -> None:
    p = load_demo_preset()
    assert (p.mel_hop, p.mel_values, p.epochs, p.batch, dict(p.sam_rho)) == (
        1024,
        "log",
        10,
        32,
        {"lcnn": 0.01},
    )
    assert p.lr > 0 and p.lr_step_epochs >= 1
    assert p.mel_n_fft == 1024
    default, full = demo_matrix(full=False, seeds=1), demo_matrix(full=True, seeds=1)
    assert len(default) == 3 and len(full) == 15  # the trace run only in the full matrix
    assert ("trace", "lcnn", "adam") in {(s.task, s.backend, s.opt) for s in full}
    assert (
        p.rho_for("lcnn", "csam") == 0.01
        and p.rho_for("lcnn", "adam") is None
        and p.rho_for("aasist", "sam") is None
    )
    opts = DemoOptions(store=Path("f"), runs=Path("r"), demo_dir=Path("d"))
    assert (opts.epochs, opts.batch, opts.seeds, opts.preset) == (10, 32, 2, p)  # demo-default.toml: 2 seeds
    assert DemoOptions(store=Path("f"), runs=Path("r"), demo_dir=Path("d"), full=True).seeds == 3


def test_another_preset_file_drives_the_matrix(tmp_path: Path) -> None:
    p = load_demo_preset(_write(tmp_path, GOOD))
    assert (p.mel_hop, p.mel_values, p.epochs, p.batch, dict(p.sam_rho)) == (
        256,
        "power",
        2,
        8,
        {"lcnn": 0.02, "aasist": 1.0},
    )
    assert (p.lr, p.lr_step_epochs, p.name) == (1e-3, 3, "demo")
    specs = demo_matrix(full=True, seeds=2, preset=p)
    rho = {(s.backend, s.opt): s.rho for s in specs if s.task == "cotrain"}
    assert rho[("lcnn", "adam")] is None and rho[("lcnn", "csam")] == 0.02 and rho[("aasist", "sam")] == 1.0
    assert [s.seed for s in specs[:15]] == [688] * 15 and {s.seed for s in specs[15:]} == {689}


@pytest.mark.parametrize(
    "change, match",
    [
        (("mel_hop = 256", "mel_hop = 256\nmel_hops = 2"), r"\[features\] has unknown keys \['mel_hops'\]"),
        (("epochs = 2\n", ""), r"\[train\] lacks \['epochs'\]; the demo needs every one"),
        (("batch = 8", "batch = true"), r"batch = True must be int"),
        (("mel_hop = 256", 'mel_hop = "256"'), r"mel_hop = '256' must be int"),
        (("lcnn = 0.02", 'lcnn = "small"'), r"lcnn = 'small' must be float"),
        (("mel_hop = 256", "mel_hop = 0"), r"mel_hop = 0 must be at least 1"),
        (("lr = 1e-3", 'lr = "fast"'), r"lr = 'fast' must be float"),
        (("lr = 1e-3", "lr = 2"), r"lr = 2.0 must lie between 0 and 1"),
        (("mel_hop = 256", "mel_hop = "), r"not valid TOML"),
        (('mel_values = "power"', 'mel_values = "db"'), r"mel_values = 'db' must be 'log' or 'power'"),
        (("[train]", "[trains]"), r"top level\] has unknown keys \['trains'\]"),
        (("[train]", "[matrix]\nseeds = 2\n[train]"), r"\[matrix\] belongs in the demo's matrix files"),
    ],
)
def test_a_bad_preset_names_the_file_and_the_key(tmp_path: Path, change: tuple[str, str], match: str) -> None:
    assert change[0] in GOOD
    path = _write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(PresetError, match=match) as err:
        load_demo_preset(path)
    assert str(path) in str(err.value)


def test_a_missing_preset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PresetError, match="preset 'demo' not found"):
        load_demo_preset(tmp_path / "nope.toml")


def _mel_keys(argv: list[str], demo: Path) -> list[str]:
    """The keys of the mel sets `codecfake ARGV` (a features command line) makes of the demo corpus."""
    args = build_parser().parse_args(argv)
    extractor = build_extractor("mel", **mel_params(args, read_preset(args.preset) if args.preset else None))
    return sorted(feature_set_spec(load_manifest(kind, demo), extractor).key for kind in DEMO_KINDS)


def test_demo_features_keep_their_keys_and_the_stage_default_is_the_papers_hop(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    make_tiny_corpus(demo)
    argv = features_argv(DemoOptions(store=tmp_path / "f", runs=tmp_path / "r", demo_dir=demo))
    assert argv[argv.index("--preset") + 1] == "demo"
    assert argv[argv.index("--mel-hop") + 1] == "1024"
    assert argv[argv.index("--mel-n-fft") + 1] == "1024"
    assert argv[argv.index("--mel-values") + 1] == "log"
    flags = {"--mel-hop", "--mel-n-fft", "--mel-values"}
    plain = [a for i, a in enumerate(argv) if not flags & {a, argv[i - 1]}]
    # `make features` on the demo (--preset demo, no --mel-*) builds the very sets `codecfake demo` builds
    assert _mel_keys(plain, demo) == _mel_keys(argv, demo)
    python_default = build_extractor("mel")  # what extract_manifest gets from Python
    assert python_default.config.hop_samples == 128
    no_preset = [a for i, a in enumerate(plain) if "--preset" not in (a, plain[i - 1])]
    paper = [
        *plain,
        "--mel-hop",
        "128",
        "--mel-n-fft",
        "512",
        "--mel-values",
        "power",
    ]  # flags win over the preset
    papers_keys = sorted(feature_set_spec(load_manifest(k, demo), python_default).key for k in DEMO_KINDS)
    assert _mel_keys(paper, demo) == _mel_keys(no_preset, demo) == papers_keys
    assert _mel_keys(paper, demo) != _mel_keys(argv, demo)
    assert build_extractor("mel", **mel_params(build_parser().parse_args(argv))).arrays() == {"mel": (64, 80)}
    assert python_default.arrays() == {"mel": (505, 80)}


def test_a_broken_preset_fails_the_demo_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, GOOD.replace("batch = 8", "batch = 'eight'"))
    monkeypatch.setattr("codecfake.presets.CONFIG_DIR", tmp_path)  # where configs/demo.toml is looked up
    args = build_parser().parse_args(["demo", "--store", str(tmp_path / "f")])  # every parser still builds
    assert (args.epochs, args.batch) == (None, None)
    with pytest.raises(PresetError, match="batch = 'eight' must be int"):
        DemoOptions(store=args.store, runs=args.runs, demo_dir=args.demo_dir, epochs=args.epochs)
    monkeypatch.undo()
    assert DemoOptions(store=tmp_path, runs=tmp_path, demo_dir=tmp_path, epochs=2).epochs == 2


def test_mel_n_fft_sets_the_window_too_and_refuses_nonsense() -> None:
    from codecfake.extract.errors import ExtractError

    args = build_parser().parse_args(
        ["features", "--data", "codecfake", "--root", "x", "--mel-n-fft", "1024"]
    )
    assert (mel_params(args)["n_fft"], mel_params(args)["win_length"]) == (1024, 1024)
    paper = mel_params(build_parser().parse_args(["features", "--data", "codecfake", "--root", "x"]))
    assert "n_fft" not in paper and build_extractor("mel", **paper).config.n_fft == 512  # the paper's
    bad = build_parser().parse_args(["features", "--data", "codecfake", "--root", "x", "--mel-n-fft", "1"])
    with pytest.raises(ExtractError, match="--mel-n-fft 1"):
        mel_params(bad)

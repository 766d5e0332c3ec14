"""What ``codecfake features`` and ``codecfake augment`` share: the options that choose corpus, parts and front-end,
their checks, the extractors and parts they build, and the extraction (or resume) of every part."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from codecfake.cliargs import EXTRACTORS, add_demo_dir, add_device, add_size, add_store
from codecfake.extract.errors import ExtractError
from codecfake.presets import PROVENANCE_KEY, Preset, read_preset

if TYPE_CHECKING:
    from codecfake.corpus import Manifest
    from codecfake.extract.extractors import Extractor
    from codecfake.store import FeatureSet, FeatureStore

# (part, manifest, extractor names) to extract, as `prepare` plans them
Todo = list[tuple[str, "Manifest", list[str]]]

log = logging.getLogger(__name__)

DATA_KINDS = (
    "demo",
    "codecfake",
    "asvspoof2019",
    "itw",
    "csv",
    "asvspoof5",
    "asvspoof2021la",
    "asvspoof2021df",
    "codecfakeplus",
)
INGEST_SAMPLE = 200  # files per part whose header and content the automatic ingest check reads
PRECISIONS = (
    "fp32",
    "bf16",
    "fp16",
)  # codecfake.extract.ssl.PRECISIONS, spelled out so --help needs no torch


def add_extraction_options(p: argparse.ArgumentParser) -> None:
    """The options that choose corpus, parts and front-end (shared by ``features`` and ``augment``)."""
    p.add_argument("--data", choices=DATA_KINDS, default="demo", help="corpus kind")
    p.add_argument(
        "--root", type=Path, help="dataset root (Codecfake/, LA/, release_in_the_wild/) or CSV file"
    )
    p.add_argument(
        "--extractor",
        choices=EXTRACTORS,
        default="mel",
        help="front-end (make's MODEL=); with --data demo, mel is always extracted and xlsr/wavlm as well",
    )
    p.add_argument(
        "--model", dest="extractor", choices=EXTRACTORS, help=argparse.SUPPRESS
    )  # deprecated alias
    p.add_argument(
        "--model-dir", type=Path, help="local HF checkpoint folder for xlsr/wavlm (never downloaded)"
    )
    p.add_argument("--layers", default="5", help="hidden_states indices, comma separated, e.g. 5 or 5,12")
    add_store(p)
    add_device(p)
    p.add_argument(
        "--batch", type=int, help="clips per forward pass [CPU 8; CUDA the largest power of two that fits]"
    )
    p.add_argument("--cluster", help="dask: local:N (N local workers) or tcp://HOST:8786 (join a scheduler)")
    p.add_argument("--scheduler", dest="cluster", help=argparse.SUPPRESS)  # deprecated alias of --cluster
    p.add_argument(
        "--num-workers", type=int, help="DataLoader audio-decoding processes [available cores - 1]"
    )
    p.add_argument(
        "--mel-values",
        choices=("power", "log"),
        help="mel: power (the release's, stored float32) or natural-log mels (float16) [power, or --preset's]",
    )
    p.add_argument("--no-log", action="store_true", help="same as --mel-values power")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="xlsr/wavlm: fp32 (the release's), or "
        "bf16/fp16 autocast (faster on GPUs; recorded in the set's spec, so sets never mix) [fp32]",
    )
    p.add_argument(
        "--resampler",
        choices=("kaiser_best", "soxr_hq"),
        help="how audio not at 16 kHz is resampled: kaiser_best (the release's librosa 0.9.1 load; "
        "recorded in the set's spec) or soxr_hq (~100x faster) [kaiser_best; with --data demo, whose audio is "
        "all 16 kHz: soxr_hq, the resampler its sets were keyed with]",
    )
    p.add_argument(
        "--store-dtype",
        choices=("float16", "float32"),
        default="float16",
        help="xlsr/wavlm: dtype of the stored hidden states: float16 (half the disk) or float32 (the release's; "
        "e.g. for test parts: evaluation prefers a float32 test set over a float16 one of the same part) [float16]",
    )
    p.add_argument(
        "--mel-hop",
        type=int,
        help="mel hop in samples [128, the paper's: 505 frames; or --preset's]",
    )
    p.add_argument(
        "--mel-n-fft",
        type=int,
        help="mel FFT size = window length in samples [512, the paper's; or --preset's]",
    )
    p.add_argument(
        "--preset",
        metavar="NAME",
        help="take configs/NAME.toml's [features] values (mel hop, FFT size, values) for the --mel-* flags not "
        "given, and record NAME in each set's provenance (not in its key), so that `codecfake train` on these sets "
        "takes the preset's training values too; `make features` passes --preset demo for DATA=demo "
        "[none: the paper's]",
    )
    add_demo_dir(p)
    add_size(p, help="demo corpus size: --data demo first runs `codecfake corpus demo --size SIZE`")
    p.add_argument(
        "--parts",
        help="dataset parts, comma separated (PARTS=): Codecfake train,dev,C1..C7,C3-1..C4-3,"
        "A1..A3; ASVspoof 2019 LA and ASVspoof 5 train,dev,eval; ASVspoof 2021 LA/DF progress,eval,hidden; "
        "CodecFake+ train,dev,CoRS,CoSG [every part whose label file / protocol exists]",
    )
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="extract parts whose audio files are partly absent, "
        "recording the absent clips as rejects (ALLOW_MISSING=1) [refuse such a part]",
    )


def parse_layers(text: str) -> tuple[int, ...]:
    try:
        layers = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        layers = ()
    if not layers or min(layers) < 0:
        raise ExtractError(f"--layers {text!r}: expected non-negative hidden_states indices like 5 or 5,12")
    return layers


def demo_corpus_first(args: argparse.Namespace) -> list[list[str]]:
    """The commands ``features`` needs run first: for ``--data demo``, ``codecfake corpus demo`` (as ``make
    demo-data``), which builds the demo corpus or returns at once when a finished one of the same size is there (a
    corpus of another size is refused with the fix, never silently extracted)."""
    if args.data != "demo":
        return []
    return [["corpus", "demo", "--out", str(args.demo_dir), "--size", args.size]]


def mel_params(args: argparse.Namespace, preset: Preset | None = None) -> dict:
    """Mel extractor parameters from the flags, then the preset's [features] for the flags not given; the rest are
    MelConfig's (the paper's: hop 128, FFT 512, power)."""
    chosen = preset.features if preset is not None else {}
    values = "power" if args.no_log else args.mel_values
    values = chosen.get("mel_values") if values is None else values
    hop = chosen.get("mel_hop") if args.mel_hop is None else args.mel_hop
    n_fft = chosen.get("mel_n_fft") if args.mel_n_fft is None else args.mel_n_fft
    if hop is not None and hop < 1:
        raise ExtractError(f"--mel-hop {hop}: expected a positive number of samples")
    params: dict = {"log": values == "log"}
    if hop is not None:
        params["hop_samples"] = hop
    if n_fft is not None:
        if n_fft < 2:
            raise ExtractError(f"--mel-n-fft {n_fft}: expected an FFT size of at least 2 samples")
        params["n_fft"] = params["win_length"] = n_fft
    return params


def resampler_for(args: argparse.Namespace) -> str:
    """The paper path resamples as the release does (kaiser_best); the demo corpus is 16 kHz throughout, so nothing
    is resampled there and soxr_hq, the resampler its feature sets were keyed with, keeps their keys."""
    if getattr(args, "resampler", None):
        return str(args.resampler)
    return "soxr_hq" if args.data == "demo" else "kaiser_best"


def _jobs(args: argparse.Namespace) -> list[tuple[str, Path, list[str]]]:
    """(manifest kind, root, extractor names) to run."""
    if args.extractor == "mel" and args.model_dir is not None:
        raise ExtractError(
            f"--extractor mel takes no --model-dir (got {args.model_dir}): the mel front-end has no "
            "checkpoint; for SSL features add --extractor xlsr or wavlm (MODEL=xlsr MODEL_DIR=DIR)"
        )
    if args.extractor != "mel" and args.model_dir is None:
        raise ExtractError(
            f"--extractor {args.extractor} needs --model-dir DIR (MODEL_DIR=DIR): a local checkpoint folder"
        )
    if args.data == "demo":  # the demo trains on mel: extract it always, the SSL front-end beside it
        models = list(dict.fromkeys(["mel", args.extractor]))
        from codecfake.corpus.kinds import DEMO_KINDS

        return [(kind, args.demo_dir, models) for kind in DEMO_KINDS]
    if args.root is None:
        raise ExtractError(f"--data {args.data} needs --root (ROOT=): the dataset folder or CSV file on disk")
    return [(args.data, args.root, [args.extractor])]


def _manifests(kind: str, root: Path, args: argparse.Namespace) -> list[tuple[str, Manifest]]:
    """(part, manifest) to extract: the demo's whole corpora, or the checked parts of a real dataset."""
    from codecfake.corpus import load_manifest
    from codecfake.corpus.kinds import DEMO_KINDS
    from codecfake.corpus.parts import load_parts, parse_parts

    if kind in DEMO_KINDS:
        return [("", load_manifest(kind, root))]
    parts = load_parts(
        kind,
        root,
        parse_parts(getattr(args, "parts", None)),
        allow_missing=getattr(args, "allow_missing", False),
    )
    for p in parts:
        if p.missing:
            log.warning(
                "%s part %s: %d of %d audio files missing; extracted as rejects (--allow-missing)",
                kind,
                p.name or kind,
                len(p.missing),
                len(p.manifest),
            )
    _ingest_summary(kind, root, [(p.name, p.manifest) for p in parts])
    return [(p.name, p.manifest) for p in parts]


def _ingest_summary(kind: str, root: Path, parts: list) -> None:
    """The quick ingest check before extracting (every row's presence, labels, speakers; audio of a sample):
    logged, never refusing (`codecfake corpus check` reads every file)."""
    from codecfake.corpus.ingest_check import CheckConfig, check_corpus

    rep = check_corpus(parts, corpus=kind, root=root, config=CheckConfig(quick=True, sample=INGEST_SAMPLE))
    listed = sum(p["listed"] for p in rep.parts.values())
    found = sum(p["found"] for p in rep.parts.values())
    log.info(
        "ingest check %s: %d parts, %d listed, %d found; %d warnings%s (full report: codecfake corpus check %s %s)",
        kind,
        len(rep.parts),
        listed,
        found,
        len(rep.warnings),
        "" if rep.warnings else ", nothing unusual",
        kind,
        root,
    )


def prepare(args: argparse.Namespace) -> tuple[dict[str, Extractor], FeatureStore, Todo, dict[str, str]]:
    """Check the options, build the extractors and parse every part, all before anything is extracted: (extractors
    by name, store, [(part, manifest, extractor names)], provenance notes)."""
    from codecfake.extract.extractors import build_extractor
    from codecfake.store.featurestore import FeatureStore

    layers = parse_layers(args.layers)
    if args.batch is not None and args.batch < 1:
        raise ExtractError(f"--batch {args.batch}: expected a positive number of clips")
    if args.data == "demo" and getattr(args, "parts", None):
        raise ExtractError(
            "--parts (PARTS=) selects parts of --data codecfake / asvspoof2019; the demo is one "
            "set per demo corpus: drop PARTS="
        )
    preset = read_preset(args.preset) if args.preset else None
    notes = {PROVENANCE_KEY: preset.name} if preset is not None else {}
    jobs = _jobs(args)
    built = {}  # extractors first: a missing checkpoint fails before a large corpus is parsed
    for model in dict.fromkeys(m for _, _, models in jobs for m in models):
        params = (
            mel_params(args, preset)
            if model == "mel"
            else {"precision": args.precision, "dtype": getattr(args, "store_dtype", "float16")}
        )
        params["resampler"] = resampler_for(args)
        built[model] = build_extractor(
            model, model_dir=args.model_dir, layers=layers, device=args.device, **params
        )
    store = FeatureStore(args.store)
    todo = [
        (part, manifest, models)
        for kind, root, models in jobs
        for part, manifest in _manifests(kind, root, args)
    ]
    return built, store, todo, notes


def extract_all(
    args: argparse.Namespace,
    built: dict[str, Extractor],
    store: FeatureStore,
    todo: Todo,
    mode: str,
    notes: dict[str, str],
) -> list[tuple[str, Manifest, str, FeatureSet]]:
    """Extract (or resume) every (part, extractor): [(part, manifest, extractor name, feature set)]."""
    from codecfake.extract.pipeline import extract_manifest
    from codecfake.progress import TqdmProgress

    done = []
    for part, manifest, models in todo:  # every part checked (missing audio …) before the first is extracted
        for model in models:
            progress = TqdmProgress()
            try:
                fs = extract_manifest(
                    manifest,
                    built[model],
                    store,
                    batch=args.batch,
                    mode=mode,
                    cluster=args.cluster,
                    progress=progress,
                    num_workers=args.num_workers,
                    part=part,
                    notes=notes,
                )
            finally:
                progress.close()
            for name in built[model].arrays():
                log.info(
                    "%s/%s: %d clips, %d valid, %d rejected",
                    fs.location,
                    name,
                    fs.n_clips,
                    int(fs.valid(name).sum()),
                    len(fs.rejects(name)),
                )
            done.append((part, manifest, model, fs))
    return done

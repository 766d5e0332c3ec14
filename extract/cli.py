"""``codecfake features``: the `make features` target. One feature set per (dataset part, extractor).

Codecfake and ASVspoof 2019 LA are extracted part by part (``--parts``; default every part found): one set per label
file / protocol, so a part added later extends the store and leaves the sets already written untouched. The demo,
In-the-Wild and CSV corpora are one set each.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from codecfake.extract.errors import ExtractError

log = logging.getLogger(__name__)

DATA_KINDS = ("demo", "codecfake", "asvspoof2019", "itw", "csv")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "features",
        help="extract features (mel / XLS-R / WavLM hidden states) into the feature store",
        description="Run the frozen front-end once per corpus and store its outputs as float16 feature sets. "
        "Resumes by default (committed shards are skipped); --force rebuilds.",
    )
    p.add_argument("--data", choices=DATA_KINDS, default="demo", help="corpus kind [demo]")
    p.add_argument("--root", type=Path, help="dataset root (Codecfake/, LA/, release_in_the_wild/) or CSV file")
    p.add_argument("--model", choices=("mel", "xlsr", "wavlm"), default="mel", help="extractor [mel]")
    p.add_argument("--model-dir", type=Path, help="local HF checkpoint folder for xlsr/wavlm (never downloaded)")
    p.add_argument("--layers", default="5", help="hidden_states indices, comma separated, e.g. 5 or 5,12 [5]")
    p.add_argument("--store", type=Path, default=Path("features"), help="feature store root [features]")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N [auto]")
    p.add_argument("--batch", type=int, default=8, help="clips per forward pass [8]")
    p.add_argument("--cluster", help="dask: local:N (N local workers) or tcp://HOST:8786 (join a scheduler)")
    p.add_argument("--scheduler", help="same as --cluster tcp://HOST:8786")
    p.add_argument("--num-workers", type=int, help="DataLoader audio-decoding processes [min(2, cores)]")
    p.add_argument("--no-log", action="store_true", help="mel: store power mels instead of natural-log mels")
    p.add_argument("--mel-hop", type=int, help="mel hop in samples [128, the paper's: 505 frames; with --data demo: "
                   "the demo preset's, configs/demo.toml]")
    p.add_argument("--demo-dir", type=Path, default=Path("data/mini-codecfake"), help="demo corpus folder")
    p.add_argument("--size", choices=("small", "default"), default="default", help="demo corpus size if built")
    p.add_argument("--parts", help="dataset parts, comma separated (PARTS=): Codecfake train,dev,C1..C7,C3-1..C4-3,"
                   "A1..A3; ASVspoof 2019 LA train,dev,eval [every part whose label file / protocol exists]")
    p.add_argument("--allow-missing", action="store_true", help="extract parts whose audio files are partly absent, "
                   "recording the absent clips as rejects (ALLOW_MISSING=1) [refuse such a part]")
    p.add_argument("--force", action="store_true", help="overwrite existing feature sets instead of resuming")
    p.set_defaults(func=run_features)


def parse_layers(text: str) -> tuple[int, ...]:
    try:
        layers = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        layers = ()
    if not layers or min(layers) < 0:
        raise ExtractError(f"--layers {text!r}: expected non-negative hidden_states indices like 5 or 5,12")
    return layers


def ensure_demo_corpus(demo_dir: Path, size: str) -> None:
    """Build the demo corpus with `codecfake corpus demo` (as `make demo-data` does) unless it is complete.

    The corpus stage checks its completion marker (written last) against the parameters: a finished corpus of the
    same size returns at once; one of another size is refused with the fix, never silently extracted."""
    log.info("demo corpus %s (size %s): checking / building it (codecfake corpus demo --out %s --size %s)",
             demo_dir, size, demo_dir, size)
    from codecfake.cli import build_parser

    try:
        args = build_parser().parse_args(["corpus", "demo", "--out", str(demo_dir), "--size", size])
        rc = int(args.func(args) or 0)
    except SystemExit as err:  # argparse: the corpus stage lacks the subcommand
        rc = int(err.code or 2)
    if rc != 0:
        raise ExtractError(f"building the demo corpus in {demo_dir} failed (exit {rc}); run `make demo-data` to see why")


def mel_params(args: argparse.Namespace) -> dict:
    """Mel extractor parameters from the flags: only what was asked for; the rest are MelConfig's (the paper's)."""
    params = {"log": not args.no_log}
    if args.mel_hop is None and args.data == "demo":
        # the demo corpus comes with the demo's settings (one home: configs/demo.toml), so `make features` and
        # `make demo` build the same sets and `make train` on them finds one set per domain
        from codecfake.demo.preset import load_demo_preset

        params["hop_samples"] = load_demo_preset().mel_hop
    elif args.mel_hop is not None:
        if args.mel_hop < 1:
            raise ExtractError(f"--mel-hop {args.mel_hop}: expected a positive number of samples")
        params["hop_samples"] = args.mel_hop
    return params


def _jobs(args) -> list[tuple[str, Path, list[str]]]:
    """(manifest kind, root, extractor names) to run."""
    if args.data == "demo":
        models = ["mel"]
        if args.model_dir is not None:
            models.append(args.model if args.model != "mel" else "xlsr")
        elif args.model != "mel":
            raise ExtractError(f"--model {args.model} needs --model-dir DIR (MODEL_DIR=DIR): a local checkpoint folder")
        from codecfake.corpus.kinds import DEMO_KINDS

        return [(kind, args.demo_dir, models) for kind in DEMO_KINDS]
    if args.root is None:
        raise ExtractError(f"--data {args.data} needs --root (ROOT=): the dataset folder or CSV file on disk")
    return [(args.data, args.root, [args.model])]


def _manifests(kind: str, root: Path, args: argparse.Namespace) -> list[tuple[str, object]]:
    """(part, manifest) to extract: the demo's whole corpora, or the checked parts of a real dataset."""
    from codecfake.corpus import load_manifest
    from codecfake.corpus.kinds import DEMO_KINDS
    from codecfake.corpus.parts import load_parts, parse_parts

    if kind in DEMO_KINDS:
        return [("", load_manifest(kind, root))]
    parts = load_parts(kind, root, parse_parts(getattr(args, "parts", None)),
                       allow_missing=getattr(args, "allow_missing", False))
    for p in parts:
        if p.missing:
            log.warning("%s part %s: %d of %d audio files missing; extracted as rejects (--allow-missing)",
                        kind, p.name or kind, len(p.missing), len(p.manifest))
    return [(p.name, p.manifest) for p in parts]


class TqdmProgress:
    """Progress callback for ``extract_manifest``: a tqdm bar with clips/s and ETA."""

    def __init__(self, desc: str):
        self.desc = desc
        self.bar = None

    def set_total(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=self.desc, unit="clip", dynamic_ncols=True, smoothing=0.1)

    def __call__(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_features(args: argparse.Namespace) -> int:
    from codecfake.extract.extractors import build_extractor
    from codecfake.extract.pipeline import extract_manifest
    from codecfake.store.featurestore import FeatureStore

    layers = parse_layers(args.layers)
    cluster = args.scheduler or args.cluster
    if args.batch < 1:
        raise ExtractError(f"--batch {args.batch}: expected a positive number of clips")
    if args.data == "demo" and getattr(args, "parts", None):
        raise ExtractError("--parts (PARTS=) selects parts of --data codecfake / asvspoof2019; the demo is one "
                           "set per demo corpus: drop PARTS=")
    if args.data == "demo":
        ensure_demo_corpus(args.demo_dir, args.size)
    jobs = _jobs(args)
    built = {}  # extractors first: a missing checkpoint fails before a large corpus is parsed
    for model in dict.fromkeys(m for _, _, models in jobs for m in models):
        params = mel_params(args) if model == "mel" else {}
        built[model] = build_extractor(model, model_dir=args.model_dir, layers=layers, device=args.device, **params)
    store = FeatureStore(args.store)
    todo = [(part, manifest, models) for kind, root, models in jobs for part, manifest in _manifests(kind, root, args)]
    for part, manifest, models in todo:  # every part checked (missing audio …) before the first is extracted
        for model in models:
            progress = TqdmProgress(f"{manifest.name}{'/' + part if part else ''}/{model}")
            try:
                fs = extract_manifest(manifest, built[model], store, batch=args.batch,
                                      mode="overwrite" if args.force else "resume", cluster=cluster,
                                      progress=progress, num_workers=args.num_workers, part=part)
            finally:
                progress.close()
            for name in built[model].arrays():
                n_valid = int(fs.valid(name).sum())
                log.info("%s/%s: %d clips, %d valid, %d rejected", fs.location, name, fs.n_clips, n_valid,
                         len(fs.rejects(name)))
    return 0

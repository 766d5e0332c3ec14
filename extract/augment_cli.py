"""``codecfake augment`` (``make features AUGMENT=…``): the clean feature sets, then V augmented variants of their
training rows beside them.

The recipe text is checked first (an unknown name lists the known ones, a bad parameter names its range); then the
clean sets are extracted or resumed exactly as ``codecfake features`` does; then the variants' disk cost is logged
and checked against the store's free space (``--force`` extracts anyway); then only the variant sets not finished
yet are extracted, resumably. The clean sets are never opened for writing by the variants.
"""

from __future__ import annotations

import argparse
import logging

from codecfake.cliargs import add_command

log = logging.getLogger(__name__)


def register_augment(subparsers: argparse._SubParsersAction) -> None:
    from codecfake.extract.cli_common import add_extraction_options

    p = add_command(
        subparsers,
        "augment",
        help="extract augmented variants of the training clips beside the clean features (make features AUGMENT=)",
        description="Extract (or resume) the clean feature sets as `codecfake features` does, then V augmented "
        "variants of every clip of the chosen splits (default: train) into their own feature sets: RawBoost, real "
        "codecs at random bitrates, resampling, low-pass, noise at a random SNR. Each variant is deterministic "
        "per clip, variant index and seed, and recorded in its set's spec and key. The disk cost (V x the clean "
        "rows) is logged first; a store disk without the room is refused unless --force.",
    )
    add_extraction_options(p)
    p.add_argument(
        "--augment",
        required=True,
        metavar="SPEC",
        help="FAMILY[:COUNT][:KEY=VALUE...][,...] (AUGMENT=), e.g. rawboost:3,codec:2 or noise:1:snr=10..30; "
        "families: rawboost, codec, resample, lowpass, noise (docs/augment.md lists every parameter and range)",
    )
    p.add_argument("--augment-seed", type=int, default=1234, help="seed of every variant (in the key)")
    p.add_argument(
        "--augment-splits",
        default="train",
        help="splits whose clips get variants, comma separated; dev/test only when asked",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="extract the variants even when the store's disk lacks the room (FORCE=1); sets are always resumed, "
        "never rebuilt: `codecfake store rm KEY` removes one",
    )
    p.set_defaults(func=run_augment, prerequisites=checked_then_corpus)


def _splits(text: str) -> tuple[str, ...]:
    from codecfake.augment.errors import BadAugmentParameter

    splits = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    bad = [s for s in splits if s not in ("train", "dev", "test")]
    if bad or not splits:
        raise BadAugmentParameter(
            f"--augment-splits {text!r}: expected train, dev and/or test, found {bad or 'none'}"
        )
    return splits


def checked_then_corpus(args: argparse.Namespace) -> list[list[str]]:
    """The recipe text is checked before anything runs (the demo corpus build included); then what ``features``
    needs first."""
    from codecfake.augment.recipe import parse_augment
    from codecfake.extract.cli_common import demo_corpus_first

    parse_augment(args.augment)
    _splits(args.augment_splits)
    return demo_corpus_first(args)


def run_augment(args: argparse.Namespace) -> int:
    from codecfake.augment.recipe import label_consequence, parse_augment
    from codecfake.extract.cli_common import extract_all, prepare
    from codecfake.extract.variants import disk_plan, extract_variants, missing_jobs, plan_variants
    from codecfake.progress import TqdmProgress

    requests = parse_augment(args.augment)  # bad input fails before anything is read or built
    splits = _splits(args.augment_splits)
    built, store, todo, notes = prepare(args)
    clean = extract_all(args, built, store, todo, "resume", notes)
    for model, extractor in built.items():
        sets = [(part, manifest, fs) for part, manifest, m, fs in clean if m == model]
        jobs = plan_variants(sets, requests, seed=args.augment_seed, splits=splits)
        for req in requests:
            domains = sorted({r.domain for _, manifest, _ in sets for r in manifest if r.split in splits})
            log.info("%s: %s", req.recipe.family, label_consequence(req.recipe, domains))
        todo_jobs = missing_jobs(jobs, extractor, store)
        if not todo_jobs:
            log.info(
                "%s: all %d variant sets of %s are extracted; nothing to do", model, len(jobs), args.augment
            )
            continue
        log.info("%s: %s", model, disk_plan(todo_jobs, extractor, store, force=args.force))
        extract_variants(
            todo_jobs,
            extractor,
            store,
            progress=TqdmProgress,
            batch=args.batch,
            cluster=args.cluster,
            num_workers=args.num_workers,
        )
    return 0

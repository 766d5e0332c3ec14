"""``codecfake corpus demo|ls|info|check|synth``."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from codecfake.cliargs import add_command, add_demo_dir
from codecfake.corpus.kinds import KINDS

if TYPE_CHECKING:
    from codecfake.corpus.rows import Manifest

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers, "corpus", help="datasets: build the demo corpus, list/inspect manifests, synthesise fakes"
    )
    sub = p.add_subparsers(dest="corpus_command", metavar="SUBCOMMAND")

    d = add_command(sub, "demo", help="build the offline mini-Codecfake demo corpus (reused when complete)")
    add_demo_dir(d, flag="--out")
    d.add_argument(
        "--size",
        choices=("small", "default"),
        default="default",
        help="small: 30+20 reals, ~1 min; default: 530+320 reals (150+150 in test), ~5 min on 2 idle cores",
    )
    d.add_argument("--seed", type=int, default=688, help="random seed (plan, pauses, dither)")
    d.add_argument(
        "--real-dir", type=Path, default=None, help="use this folder of your own speech instead of packages"
    )
    d.add_argument("--cache", type=Path, default=Path("cache"), help="download cache for packages")
    d.add_argument("--workers", type=int, default=2, help="worker processes")
    d.add_argument(
        "--force", action="store_true", help="rebuild even if a corpus with other parameters is there"
    )
    d.set_defaults(func=_demo)

    for name, helptext in (
        ("ls", "counts by split x label x condition"),
        ("info", "counts plus speakers, languages, hash and an audio check"),
    ):
        q = add_command(sub, name, help=helptext)
        q.add_argument("kind", choices=KINDS, help="protocol kind")
        q.add_argument("root", type=Path, help="dataset root (the CSV file for kind csv)")
        q.add_argument(
            "--no-check-paths", action="store_true", help="do not require every audio file to exist"
        )
        q.add_argument("--csv", type=Path, default=None, help="also write the manifest as CSV here")
        q.set_defaults(func=_ls if name == "ls" else _info)

    c = add_command(
        sub,
        "check",
        help="ingest check: files listed vs found, unreadable, sample rates, durations, near-silence, duplicate "
        "audio, label balance, train/test leakage (JSON + summary; refuses nothing)",
    )
    c.add_argument("kind", choices=KINDS, help="protocol kind")
    c.add_argument("root", type=Path, help="dataset root (the CSV file for kind csv)")
    c.add_argument("--parts", default=None, help="parts, comma separated [every part found]")
    c.add_argument(
        "--json",
        type=Path,
        default=None,
        help="write the JSON report here [ingest-<kind>.json in this folder]",
    )
    c.add_argument("--quick", action="store_true", help="read header and content of a sample of files only")
    c.add_argument("--sample", type=int, default=2000, help="files per part probed with --quick")
    c.add_argument("--workers", type=int, default=4, help="threads reading audio")
    c.add_argument("--silence-db", type=float, default=-60.0, help="near-silent below this RMS, dBFS")
    c.set_defaults(func=_check)

    s = add_command(sub, "synth", help="write a Codecfake-format set: reals + one fake set per --codec")
    s.add_argument(
        "--real",
        type=Path,
        required=True,
        help="folder of real speech, or a manifest CSV (its bona fide rows)",
    )
    s.add_argument(
        "--codec",
        action="append",
        required=True,
        metavar="NAME[:k=v,...]",
        help="codec spec, repeatable: opus:bitrate=6000, codec2:mode=700, encodec:model_dir=DIR …",
    )
    s.add_argument("--out", type=Path, required=True, help="output folder (Codecfake layout, test sets C1..)")
    s.add_argument(
        "--rate", type=int, default=8000, help="internal chain rate in Hz [8000]; 16000 for wideband codecs"
    )
    s.add_argument("--lowpass", type=float, default=None, help="shared low-pass in Hz [0.425 x rate]")
    s.add_argument("--seed", type=int, default=688)
    s.set_defaults(func=_synth)

    def usage(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=usage)


def _demo(args: argparse.Namespace) -> int:
    from codecfake.corpus.build.mini_codecfake import build_demo
    from codecfake.progress import TqdmProgress

    t0 = time.perf_counter()
    done_before = 0
    total_before: int | None = None

    def progress(done: int, total: int) -> None:  # build_demo reports (done, total) utterances
        nonlocal done_before, total_before
        if total != total_before:
            bar.start("demo corpus", total, "utt", done=done)
            total_before = total
        else:
            bar.advance(done - done_before)
        done_before = done

    with TqdmProgress() as bar:
        build_demo(
            args.out,
            size=args.size,
            seed=args.seed,
            real_dir=args.real_dir,
            cache=args.cache,
            workers=args.workers,
            force=args.force,
            progress=progress,
        )
    log.info(
        "demo corpus ready in %s (%.1f s): codecfake corpus ls demo-codec %s",
        args.out,
        time.perf_counter() - t0,
        args.out,
    )
    return 0


def _load(args: argparse.Namespace) -> Manifest:
    from codecfake.corpus import load_manifest

    m = load_manifest(args.kind, args.root, check_paths=not args.no_check_paths)
    if args.csv:
        m.to_csv(args.csv)
    return m


def _counts_table(m: Manifest) -> str:
    lines = [f"{'split':<6} {'label':<9} {'condition':<10} {'n':>7}"]
    lines += [f"{s:<6} {lab:<9} {c:<10} {n:>7}" for s, lab, c, n in m.counts()]
    lines.append(f"{'total':<27} {len(m):>7}")
    return "\n".join(lines)


def _ls(args: argparse.Namespace) -> int:
    m = _load(args)
    print(f"{m.name}: {len(m)} rows, root {m.root}")
    print(_counts_table(m))
    return 0


def _info(args: argparse.Namespace) -> int:
    from collections import Counter

    from codecfake.corpus import load_clips

    m = _load(args)
    print(f"{m.name}: {len(m)} rows, root {m.root}, sha256 {m.content_hash()}")
    print(_counts_table(m))
    for field in ("domain", "language", "speaker", "method"):
        c = Counter(getattr(r, field) for r in m)
        top = ", ".join(f"{k or '-'}:{v}" for k, v in c.most_common(12))
        print(f"{field}s ({len(c)}): {top}{' …' if len(c) > 12 else ''}")
    from codecfake.corpus.parted_readers import READERS

    reader = READERS.get(args.kind)
    if reader is not None and reader.factors is not None:  # protocol columns the manifest does not carry
        for factor, values in reader.factors(args.root, parts=None).items():
            c = Counter(values.values())
            print(f"{factor} ({len(c)}): " + ", ".join(f"{k}:{v}" for k, v in c.most_common(12)))
    sample = [m.rows[i] for i in range(0, len(m), max(1, len(m) // 20))][:20]
    rep = load_clips(sample, m.root)
    print(f"audio check on {len(sample)} rows: {rep.summary()}")
    for r in rep.rejects:
        print(f"  rejected {r.utt_id}: {r.reason}")
    return 0 if not rep.rejects else 1


def _check(args: argparse.Namespace) -> int:
    import json

    from codecfake.corpus.ingest_check import CheckConfig, check_corpus, render_summary
    from codecfake.corpus.parts import load_parts, parse_parts

    parts = load_parts(args.kind, args.root, parse_parts(args.parts), allow_missing=True)
    cfg = CheckConfig(
        silence_dbfs=args.silence_db, quick=args.quick, sample=args.sample, workers=args.workers
    )
    rep = check_corpus([(p.name, p.manifest) for p in parts], corpus=args.kind, root=args.root, config=cfg)
    out = args.json or Path(f"ingest-{args.kind}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rep.to_dict(), indent=1) + "\n")
    print(render_summary(rep), end="")
    print(f"report: {out}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from codecfake.corpus.build.synth import synth

    out = synth(args.real, args.codec, args.out, rate_hz=args.rate, lowpass_hz=args.lowpass, seed=args.seed)
    print(f"wrote {out}: read it with `codecfake corpus ls codecfake {out}`")
    return 0

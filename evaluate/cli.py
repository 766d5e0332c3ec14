"""``codecfake evaluate | report | score | baselines | compare | eer | import-official``: the evaluate stage's commands
(Makefile: evaluate, report, compare)."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from codecfake.atomic import write_atomic
from codecfake.cliargs import add_command, add_device, add_runs, add_store, positive_int
from codecfake.evaluate.openset_scorers import DEFAULT_K, DEFAULT_SCORER, SCORERS
from codecfake.json_text import write_json_text


def register(sub: Any) -> None:
    p = add_command(sub, "evaluate", help="score a run on every matching test set; write scores/ and report/")
    p.add_argument("--run", type=Path, required=True, help="run directory, e.g. runs/NAME")
    add_store(p)
    add_device(p)
    p.add_argument("--batch", type=positive_int, default=256, help="clips per forward")
    p.add_argument(
        "--paper",
        action="store_true",
        help="report min(EER(s), EER(-s)) as the paper's tables do (inverted cells stay marked)",
    )
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument(
        "--unfinished",
        action="store_true",
        help="evaluate a run whose training has not finished (still training in another process, or stopped "
        "part-way) with its best checkpoint so far [refused]",
    )
    p.add_argument(
        "--no-shard-check",
        action="store_true",
        help="skip comparing the shards read with their commit records' CRC-32 (done once per process before "
        "reading; costs about one sequential read of them) [check]",
    )
    _bootstrap_args(p)
    p.add_argument(
        "--asv-scores",
        default=None,
        help="ASVspoof2019.LA.asv.eval.gi.trl.scores.txt for 19LA's min "
        "t-DCF [found under the LA root recorded at extraction; none: no t-DCF]",
    )
    _openset_args(p)
    p.set_defaults(func=cmd_evaluate)

    from codecfake.evaluate.score_commands import add_metrics_file_args, register_score_commands

    p = add_command(
        sub,
        "eer",
        help="the same as `codecfake metrics` (kept for its old name): EER, minDCF, actDCF, Cllr from score files",
        description="Reads each FILE (our TSV with a header, or the release's `name score label` lines, condition "
        "from the file name: C1_result.txt, C3-1_result.txt, L1_result.txt = A1, 19LA_result.txt …) and prints "
        "EER(s), EER(-s) per condition and the paper-shaped row with CAVG and AVG, then the ASVspoof 5 metrics.",
    )
    add_metrics_file_args(p)
    register_score_commands(sub)

    p = add_command(
        sub, "report", help="one EER table over several evaluated runs (seeds aggregated as mean ± std)"
    )
    p.add_argument("runs", nargs="+", help="run directories (each evaluated with `codecfake evaluate`)")
    p.add_argument("--paper", action="store_true", help="min(EER(s), EER(-s)) per cell")
    p.add_argument("--out", default=None, help="also write the table to this markdown file")
    _bootstrap_args(p)
    p.set_defaults(func=cmd_report)

    p = add_command(
        sub,
        "score",
        help="P(bona fide) of audio files with a trained run (verdict at 0.5; a calibrated or fused run: the LLR and "
        "the decision at its operating point)",
    )
    p.add_argument("files", nargs="+", help="audio files (wav, flac, ogg, mp3 …)")
    p.add_argument("--run", type=Path, required=True, help="run directory")
    p.add_argument(
        "--model-dir", default=None, help="local SSL checkpoint folder (needed for xlsr/wavlm runs)"
    )
    add_device(p)
    p.add_argument("--batch", type=positive_int, default=8, help="files per forward")
    p.add_argument(
        "--top", type=positive_int, default=3, help="source-tracing runs: generators printed per file"
    )
    p.add_argument(
        "--openset",
        default=None,
        choices=SCORERS,
        help="source-tracing runs: the open-set scorer that decides 'unknown generator' [the one the run's "
        "evaluation used: --openset-scorer there]",
    )
    p.set_defaults(func=cmd_score)

    p = add_command(
        sub, "baselines", help="corpus-sanity baselines (HF energy > 3.4 kHz, LR on mean/std log-mel)"
    )
    add_store(p)
    p.add_argument("--features", default=None, help="feature-set keys, comma separated [every mel set]")
    p.add_argument("--array", default="mel", help="feature array")
    p.add_argument(
        "--artefact-eer",
        type=float,
        default=5.0,
        help="flag conditions HF energy separates below this EER %%",
    )
    p.add_argument("--out", default=None, help="write the table here (FILE.md; FILE.json beside it)")
    p.set_defaults(func=cmd_baselines)
    register_compare(sub)
    register_official(sub)
    from codecfake.evaluate.robustness_cli import register_robustness

    register_robustness(sub)


def _openset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--openset-scorer",
        default=DEFAULT_SCORER,
        choices=SCORERS,
        help=f"source-tracing runs: the open-set scorer whose 'unknown generator' verdict the report and "
        f"`codecfake score` use (every scorer is fitted and reported) [{DEFAULT_SCORER}]",
    )
    p.add_argument(
        "--openset-keep",
        type=float,
        default=0.95,
        help="source-tracing runs: share of the known dev clips each open-set threshold keeps [0.95]",
    )
    p.add_argument(
        "--openset-k",
        type=positive_int,
        default=DEFAULT_K,
        help=f"source-tracing runs: neighbours of the kNN scorer (the k-th distance is its score) [{DEFAULT_K}]",
    )


def _bootstrap_args(p: argparse.ArgumentParser) -> None:
    from codecfake.evaluate.score_commands import add_bootstrap_args

    add_bootstrap_args(p, per_condition=True)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from codecfake.evaluate.report import run_cells
    from codecfake.evaluate.run_eval import OpenSetOptions, evaluate_run
    from codecfake.progress import TqdmProgress
    from codecfake.store.verify import skip_shard_checks
    from codecfake.train.run_status import require_finished

    if args.run.is_dir():  # a missing folder gets load_run's own message
        require_finished(args.run, unfinished=args.unfinished)
    if args.no_shard_check:
        skip_shard_checks()

    with TqdmProgress(leave=False) as progress:
        out = evaluate_run(
            args.run,
            args.store,
            device=args.device,
            paper_mode=args.paper,
            batch=args.batch,
            figures=not args.no_figures,
            progress=progress,
            resamples=args.resamples,
            ci_seed=args.ci_seed,
            asv_scores=args.asv_scores,
            openset=OpenSetOptions(keep=args.openset_keep, k=args.openset_k, default=args.openset_scorer),
        )
    from codecfake.evaluate.report import render_table, run_columns

    print(render_table([(out.report["run"], run_cells(out.report, args.paper))], run_columns(out.report)))
    if "trace" in out.report:
        from codecfake.evaluate.trace_report import trace_table

        print("source tracing (closed-set accuracy / macro-F1; open set at the dev threshold):")
        print(trace_table(out.report))
    if out.report["inverted"]:
        print(f"WARNING: inverted (EER(-s) < EER(s)) on {', '.join(out.report['inverted'])}", file=sys.stderr)
    print(f"report: {out.report_dir / 'report.md'}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import logging

    from codecfake.evaluate.errors import RunReportError
    from codecfake.evaluate.intervals import table_with_intervals
    from codecfake.evaluate.report import load_report

    reports = []
    for r in args.runs:
        try:
            reports.append(load_report(r) | {"run_dir": r})  # where the run is now: its score files are there
        except RunReportError as err:  # `make report` globs every run, evaluated or not
            logging.getLogger("codecfake.evaluate").warning("skipped: %s", err)
    if not reports:
        raise RunReportError(
            f"none of {args.runs} has report/report.json; run `codecfake evaluate --run RUN` first"
        )
    text = table_with_intervals(reports, paper_mode=args.paper, resamples=args.resamples, seed=args.ci_seed)
    from codecfake.evaluate.detection_markdown import report_rows_table

    text += report_rows_table(reports)
    print(text, end="")
    if args.out:
        write_atomic(args.out, text)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from codecfake.device import resolve_device
    from codecfake.evaluate.score_audio import build_run_extractor, score_files
    from codecfake.evaluate.score_fusion import is_fused_run
    from codecfake.train.rundir import load_run

    device = resolve_device(args.device)
    if is_fused_run(args.run):  # a score-fusion run: every member scores, the fusion map decides
        from codecfake.evaluate.score_decisions import fused_decisions, operating_threshold, render_decisions

        rows = fused_decisions(
            args.files, args.run, model_dir=args.model_dir, device=device, batch=args.batch
        )
        print(render_decisions(rows, operating_threshold(args.run)), end="")
        return 1 if any(r.error is not None for r in rows) else 0
    run = load_run(args.run, device=device)
    extractor = build_run_extractor(run, model_dir=args.model_dir, device=device)
    if run.classes:  # a source-tracing run: the most probable generators
        from codecfake.evaluate.trace_score_audio import render_trace_scores, trace_score_files

        traced = trace_score_files(
            args.files, run, extractor, device=device, batch=args.batch, top=args.top, scorer=args.openset
        )
        print(render_trace_scores(traced), end="")
        return 1 if any(r.error is not None for r in traced) else 0
    results = score_files(args.files, run, extractor, device=device, batch=args.batch)
    from codecfake.evaluate.run_calibration import load_calibration

    cmap = load_calibration(args.run)
    if cmap is not None:  # a calibrated run: the LLR and the decision at the operating point, not P > 0.5
        from codecfake.evaluate.score_decisions import decide, operating_threshold, render_decisions

        thr = operating_threshold(args.run)
        print(render_decisions(decide(results, cmap, thr), thr), end="")
    else:
        print("file\tP(bonafide)\tverdict")
        for r in results:
            print(f"{r.path}\t{'–' if r.score is None else f'{r.score:.6f}'}\t{r.verdict}")
    n_bad = sum(r.error is not None for r in results)
    if n_bad:
        print(f"{n_bad} of {len(results)} files could not be scored (see the errors above)", file=sys.stderr)
    return 1 if n_bad else 0


def cmd_baselines(args: argparse.Namespace) -> int:
    from codecfake.evaluate.baselines import run_baselines
    from codecfake.store import FeatureStore

    keys = [k for k in (args.features or "").split(",") if k]
    table = run_baselines(
        FeatureStore(args.store), keys or None, array=args.array, artefact_eer=args.artefact_eer
    )
    md = table.to_markdown()
    print(md, end="")
    if args.out:
        write_atomic(args.out, md)
        write_json_text(Path(args.out).with_suffix(".json"), table.to_dict())
    artefacts = [r.condition for r in table.rows if r.artefact]
    if artefacts:
        print(f"WARNING: HF energy alone separates {', '.join(artefacts)}: corpus artefacts", file=sys.stderr)
    return 0


def register_compare(sub: Any) -> None:
    p = add_command(
        sub, "compare", help="paired bootstrap interval of ΔEER = EER(B) − EER(A) per condition and CAVG/AVG"
    )
    p.add_argument(
        "run_a", metavar="RUN_A", help="run directory (several seeds of one config: comma separated)"
    )
    p.add_argument(
        "run_b", metavar="RUN_B", help="run directory (or comma separated runs), scored on the same trials"
    )
    p.add_argument("--paper", action="store_true", help="compare min(EER(s), EER(-s)) per condition")
    p.add_argument("--json", default=None, help="also write the comparison to this JSON file")
    p.add_argument("--out", default=None, help="also write the markdown table to this file")
    _bootstrap_args(p)
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    from codecfake.evaluate.compare import compare_runs, render_comparison

    side = lambda s: [x for x in s.split(",") if x]  # noqa: E731
    cmp = compare_runs(
        side(args.run_a), side(args.run_b), resamples=args.resamples, seed=args.ci_seed, paper=args.paper
    )
    md = render_comparison(cmp)
    payload = cmp.to_dict()
    if args.resamples > 0:  # minDCF / actDCF / Cllr / minCllr deltas on the same resamples
        from codecfake.evaluate.compare_metrics import compare_metrics, render_metric_deltas

        deltas = compare_metrics(
            side(args.run_a), side(args.run_b), resamples=args.resamples, seed=args.ci_seed
        )
        md += render_metric_deltas(deltas)
        payload["metric_deltas"] = {m: {k: d.to_dict() for k, d in v.items()} for m, v in deltas.items()}
    print(md, end="")
    if args.out:
        write_atomic(args.out, md)
    if args.json:
        write_json_text(args.json, payload)
    return 0


def register_official(subparsers: Any) -> None:
    """``codecfake import-official FILE.pt --backend aasist|lcnn --name NAME`` (evaluate/official_import.py)."""
    p = add_command(
        subparsers,
        "import-official",
        help="import a released Codecfake back-end (.pt) as a run, safely",
        description="Import the paper's released back-ends (whole pickled torch.nn.Module files) as ordinary runs, "
        "read by a restricted unpickler that calls nothing outside its allow-list.",
    )
    p.add_argument("file", type=Path, help="the release's anti-spoofing_feat_model.pt")
    p.add_argument(
        "--backend", required=True, choices=("aasist", "lcnn"), help="aasist (W2V2-AASIST) or lcnn (Mel-LCNN)"
    )
    p.add_argument("--name", required=True, help="run folder name under --runs")
    add_runs(p)
    p.add_argument(
        "--features-hint",
        default=None,
        metavar="KEY|DIR",
        help="feature-set key in --store whose extractor spec the run records, or (aasist) the local "
        "XLS-R model folder; evaluate/score then find and rebuild the matching features",
    )
    add_store(p, help="feature store for --features-hint")
    p.add_argument("--force", action="store_true", help="replace an existing run folder of that name")
    p.set_defaults(
        func=lambda args: importlib.import_module("codecfake.evaluate.official_import").run_import(args)
    )

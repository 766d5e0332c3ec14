"""The score-file commands: ``codecfake metrics`` (alias ``eer``), ``calibrate``, ``fuse`` and ``export``.

They read a run's score files (or any score files), never a model or the feature store, so they run in seconds on
any machine that holds the run folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from codecfake.cliargs import add_command

__all__ = ["register_score_commands", "add_metric_args", "add_bootstrap_args", "metric_config", "cmd_metrics"]


def add_metric_args(p: argparse.ArgumentParser, *, intervals: bool = True) -> None:
    """The cost model of minDCF / actDCF (ASVspoof 5 Track 1 by default) and, optionally, the bootstrap options."""
    p.add_argument(
        "--p-spoof", type=float, default=0.05, help="spoof prior of the DCF [0.05: ASVspoof 5 Track 1]"
    )
    p.add_argument("--c-miss", type=float, default=1.0, help="cost of rejecting a bona fide trial [1]")
    p.add_argument("--c-fa", type=float, default=10.0, help="cost of accepting a spoof [10]")
    if intervals:
        add_bootstrap_args(p)


def add_bootstrap_args(p: argparse.ArgumentParser, *, per_condition: bool = False) -> None:
    """``--resamples`` and ``--ci-seed`` of the bootstrap intervals (``per_condition``: the help says the resamples
    are drawn per condition, as the run-level commands draw them)."""
    from codecfake.evaluate.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED

    per = " per condition" if per_condition else ""
    p.add_argument(
        "--resamples",
        type=int,
        default=DEFAULT_RESAMPLES,
        help=f"bootstrap resamples{per} for the 95 %% intervals, 0 = none [{DEFAULT_RESAMPLES}]",
    )
    p.add_argument(
        "--ci-seed", type=int, default=DEFAULT_SEED, help=f"seed of the bootstrap draws [{DEFAULT_SEED}]"
    )


def metric_config(args: argparse.Namespace) -> Any:
    from codecfake.evaluate.detection_cost import DcfParams
    from codecfake.evaluate.detection_report import MetricConfig

    params = DcfParams(p_spoof=args.p_spoof, c_miss=args.c_miss, c_fa=args.c_fa)
    return MetricConfig(
        params=params, resamples=getattr(args, "resamples", 0), seed=getattr(args, "ci_seed", 0)
    )


def add_metrics_file_args(p: argparse.ArgumentParser) -> None:
    """What ``metrics`` and ``eer`` share: files, orientation, t-DCF, protocol check, cost model, intervals."""
    p.add_argument(
        "files",
        nargs="+",
        help="score files: ours (scores/*.tsv), the release's result/*.txt, or "
        "'<utt_id> <score>' lines with --protocol",
    )
    p.add_argument(
        "--paper", action="store_true", help="report min(EER(s), EER(-s)) as the paper's tables do"
    )
    p.add_argument(
        "--asv-scores",
        default=None,
        help="ASVspoof2019.LA.asv.eval.gi.trl.scores.txt: also the min t-DCF of the 19LA file (as the release's "
        "evaluate_tDCF_asvspoof19.py)",
    )
    p.add_argument(
        "--protocol",
        nargs=2,
        metavar=("KIND", "ROOT"),
        default=None,
        help="check every file against this dataset's test rows (missing / unknown trials, labels) and label bare "
        "'<utt_id> <score>' files from it, e.g. --protocol asvspoof5 /data/ASVspoof5",
    )
    add_metric_args(p)
    p.set_defaults(func=cmd_metrics)


def register_score_commands(sub: Any) -> None:
    p = add_command(
        sub,
        "metrics",
        help="EER, minDCF, actDCF, Cllr, minCllr per condition, averaged and pooled, from score files (`eer` too)",
        description="Reads each FILE (our TSV, the release's `name score label` lines — condition from the file name "
        "— or, with --protocol, bare `utt_id score` lines) and prints the EER table and the ASVspoof 5 metrics.",
    )
    add_metrics_file_args(p)

    p = add_command(
        sub, "calibrate", help="fit a run's score calibration on its dev scores; LLRs beside the scores"
    )
    p.add_argument("run", type=Path, help="an evaluated run directory (it holds dev_scores.tsv)")
    p.add_argument(
        "--prior",
        type=float,
        default=None,
        help="bona fide prior the fit is weighted to "
        "[the operating point's effective prior: 0.655 for Track 1]",
    )
    p.add_argument("--no-figures", action="store_true", help="skip the reliability plot")
    add_metric_args(p)
    p.set_defaults(func=cmd_calibrate)

    p = add_command(
        sub, "fuse", help="score fusion of runs (logistic regression on their dev scores) into a new run"
    )
    p.add_argument("runs", nargs="+", type=Path, help="evaluated run directories scored on the same trials")
    p.add_argument("--name", required=True, help="name of the fused run (written to RUNS/NAME)")
    p.add_argument("--runs-dir", type=Path, default=Path("runs"), help="where the fused run goes [runs]")
    p.add_argument(
        "--prior", type=float, default=None, help="bona fide prior of the fit [the effective prior, 0.655]"
    )
    p.add_argument("--force", action="store_true", help="overwrite a folder that is not a fused run")
    add_metric_args(p)
    p.set_defaults(func=cmd_fuse)

    p = add_command(
        sub,
        "export",
        help="a run's scores for the Speech Anti-Spoofing Arena and Speech-DF-Arena, with checksums",
    )
    p.add_argument("run", type=Path, help="an evaluated run directory")
    p.add_argument("--out", type=Path, default=None, help="output folder [RUN/export]")
    p.add_argument("--system", default=None, help="system name in the submission files [the run's name]")
    p.set_defaults(func=cmd_export)


def cmd_metrics(args: argparse.Namespace) -> int:
    from codecfake.evaluate.metrics_files import metrics_for_files

    text = metrics_for_files(
        args.files,
        paper_mode=args.paper,
        asv_scores=args.asv_scores,
        protocol=tuple(args.protocol) if args.protocol else None,
        config=metric_config(args),
    )
    print(text, end="")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from codecfake.evaluate.run_calibration import calibrate_run
    from codecfake.evaluate.score_file_report import refresh_report

    cfg = metric_config(args)
    rec = calibrate_run(args.run, prior=args.prior, params=cfg.params, figures=not args.no_figures)
    cmap = rec["map"]
    print(
        f"{args.run}: LLR = {cmap['slopes'][0]:.4g} * logit(P(bona fide)) + {cmap['offset']:.4g}, fitted on "
        f"{cmap['n_bonafide']} + {cmap['n_spoof']} dev trials (prior {cmap['prior']:.3f}); decision: {rec['decision']}"
    )
    for stage in ("dev_before", "dev_after"):
        d = rec[stage]
        print(
            f"  {stage.replace('_', ' ')}: minDCF {d['min_dcf']:.4f}, actDCF {d['act_dcf']:.4f}, "
            f"Cllr {d['cllr']:.4f}, minCllr {d['min_cllr']:.4f}"
        )
    report = refresh_report(args.run, cfg)
    if report is not None:
        print(f"report: {Path(args.run) / 'report' / 'report.md'}")
    return 0


def cmd_fuse(args: argparse.Namespace) -> int:
    from codecfake.evaluate.score_file_report import refresh_report
    from codecfake.evaluate.score_fusion import fuse_runs

    cfg = metric_config(args)
    out = args.runs_dir / args.name
    rec = fuse_runs(
        args.runs,
        out,
        prior=cfg.params.effective_prior if args.prior is None else args.prior,
        force=args.force,
    )
    weights = ", ".join(
        f"{n} {w:.4g}" for n, w in zip(rec["member_names"], rec["map"]["slopes"], strict=True)
    )
    print(f"{out}: LLR = Σ w · logit(P) + {rec['map']['offset']:.4g} with w: {weights} (fitted on dev)")
    refresh_report(out, cfg)
    print(f"report: {out / 'report' / 'report.md'}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from codecfake.evaluate.leaderboard_export import export_run

    out = args.out or (args.run / "export")
    sums = export_run(args.run, out, system=args.system)
    for rel, digest in sums.items():
        print(f"{digest}  {rel}")
    print(f"written to {out} (checksums in {out / 'SHA256SUMS'}); fill artifact.scores_url after uploading")
    return 0

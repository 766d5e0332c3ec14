"""``codecfake experiments MATRIX`` (``make experiments MATRIX=… STORE=… SEEDS=… CLUSTER=…``): plan the matrix,
check the store, run what is not finished, print progress, write the paper-layout tables."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from codecfake.cliargs import add_command, add_device, add_runs, add_store, positive_int

log = logging.getLogger(__name__)

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = add_command(
        subparsers,
        "experiments",
        help="run an experiment matrix (the paper's Tables III, IV, VIII, or any configs/<name>.toml) and "
        "write its tables",
        description="Plan the matrix's runs (cells x seeds), check that the store holds every feature set they "
        "need (naming the `make features` command for each one missing) before training anything, run the runs "
        "not finished yet — here one after another, or over dask with --cluster — each as the ordinary resumable "
        "`codecfake train` + `codecfake evaluate`, and write the results in the paper's table layout with the "
        "paper's numbers beside ours. Killing it and running the same command again skips finished runs and "
        "resumes partial ones. A failed run does not stop the others; the command then exits 1.",
    )
    p.add_argument(
        "matrix",
        nargs="?",
        help="configs/<MATRIX>.toml (paper-table3, paper-table4, paper-table8, paper-all, demo-default, "
        "demo-full) or a path to a matrix .toml file; none: list the matrices",
    )
    add_store(p)
    add_runs(p)
    add_device(p)
    p.add_argument("--seeds", type=positive_int, help="runs per cell, seeds 688, 689, … [the matrix's]")
    p.add_argument(
        "--cluster",
        help="local:N (a dask LocalCluster here: one worker per GPU, or N CPU workers), local (one per GPU) "
        "or tcp://HOST:8786 (a running scheduler) [none: one run after another here]",
    )
    p.add_argument(
        "--protocol",
        choices=("none", "loo", "full+loo"),
        help="loo: one run per training generator left out (the hold-out option); full+loo: those and the full "
        "runs [the matrix's]",
    )
    p.add_argument("--out", type=Path, help="tables, logs and run states [experiments/<MATRIX>]")
    p.add_argument(
        "--report", action="store_true", help="only write the tables from the runs evaluated so far"
    )
    p.add_argument(
        "--plan", action="store_true", help="only print the runs and the store check; train nothing"
    )
    p.add_argument(
        "--share-reads",
        choices=("auto", "on", "off"),
        default="auto",
        help="train runs that draw the same batches (e.g. the Adam, SAM, ASAM cells of one setting and seed) in one "
        "process from one read of each batch, each bit-identical to training it alone; auto: unless that would "
        "leave workers idle",
    )
    p.add_argument("--no-figures", action="store_true", help="evaluate without the PNG figures (faster)")
    p.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads per run, 0 = the process's default [0]"
    )
    p.add_argument(
        "--resamples",
        type=int,
        default=1000,
        help="bootstrap resamples for the tables' 95 %% intervals, 0 = none",
    )
    p.set_defaults(func=run_experiments)


def run_experiments(args: argparse.Namespace) -> int:
    from codecfake.app.experiments.matrix_spec import known_matrices, load_matrix
    from codecfake.app.experiments.needs import StoreIndex, generators_of, require_needs
    from codecfake.app.experiments.plan import plan_matrix, run_state
    from codecfake.app.experiments.runner import experiments_command, run_plan
    from codecfake.app.experiments.tables import write_tables

    if not args.matrix:
        print("matrices: " + ", ".join(known_matrices()) + "\nrun one with `codecfake experiments NAME`")
        return 2
    matrix = load_matrix(args.matrix)
    protocol = None if args.protocol is None else ("" if args.protocol == "none" else args.protocol)
    out = args.out or Path("experiments") / matrix.name
    loo = "loo" in (protocol if protocol is not None else matrix.protocol)  # lists generators from the store
    index = None if args.report and not loo else StoreIndex(args.store)
    plan = plan_matrix(
        matrix,
        store=args.store,
        runs=args.runs,
        device=args.device,
        seeds=args.seeds,
        protocol=protocol,
        generators=generators_of(index) if index is not None else None,
        evaluate_options=["--no-figures"] if args.no_figures else [],
        robustness_options=[
            "--resamples",
            str(args.resamples),
            *(["--no-figures"] if args.no_figures else []),
        ],
    )
    command = experiments_command(plan, args.cluster)
    if args.report:
        md, _ = write_tables(plan, out, command, resamples=args.resamples)
        print(md.read_text())
        return 0
    states = {r.name: run_state(r.run_dir) for r in plan.runs}
    print(
        f"matrix {matrix.name}: {len(plan.runs)} runs ({sum(s == 'evaluated' for s in states.values())} finished)"
    )
    if args.plan:
        for r in plan.runs:
            print(f"  {r.name} [{states[r.name]}]\n    {r.command}")
    needs = require_needs(plan, index)
    print(f"store {args.store}: every feature set the runs need is there ({needs.n_sets} sets checked)")
    if args.plan:
        return 0
    outcome = run_plan(plan, out, cluster=args.cluster, threads=args.threads, share_reads=args.share_reads)
    md, js = write_tables(plan, out, command, resamples=args.resamples)
    print(outcome.summary())
    print(f"tables: {md} (and {js.name})" + (f"; page: {matrix.page}" if matrix.page else ""))
    return 1 if outcome.failed else 0

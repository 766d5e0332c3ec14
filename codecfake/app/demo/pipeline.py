"""Run the demo: each stage through the CLI handler a user would type, timing every stage, reusing finished work."""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codecfake.app.demo.matrix import demo_plan, matrix_seeds, run_specs
from codecfake.app.demo.preset import DemoPreset, load_demo_preset
from codecfake.app.dispatch import CommandFailed, run_checked
from codecfake.app.experiments.plan import Plan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    store: Path
    runs: Path
    demo_dir: Path
    size: str = "default"
    full: bool = False
    seeds: int | None = None  # None -> the matrix's (configs/demo-default.toml, demo-full.toml)
    epochs: int | None = None  # None -> the preset's
    batch: int | None = None  # None -> the preset's
    device: str = "auto"
    out: Path = Path("docs/demo-results.md")
    resamples: int = 1000  # paired bootstrap resamples behind every interval and finding
    cluster: str | None = None  # None: runs one after another here; local:N / tcp://…: over dask
    exp_dir: Path = Path("experiments")  # the runner's logs and run states: <exp_dir>/<matrix>/
    preset: DemoPreset = field(
        default_factory=load_demo_preset
    )  # configs/demo.toml: hop, epochs, rho, matrix

    def __post_init__(self) -> None:
        for key in ("epochs", "batch"):
            if getattr(self, key) is None:
                object.__setattr__(self, key, getattr(self.preset, key))
        if self.seeds is None:
            object.__setattr__(self, "seeds", matrix_seeds(self.full))


@dataclass
class StageLog:
    """Wall time and the exact command of every stage, for the results file."""

    stages: list[tuple[str, float, str, bool]] = field(
        default_factory=list
    )  # (name, seconds, command, reused)

    def add(self, name: str, seconds: float, argv: Sequence[str], *, reused: bool = False) -> None:
        self.stages.append((name, seconds, "codecfake " + shlex.join(argv), reused))

    @property
    def total_s(self) -> float:
        return sum(s for _, s, _, _ in self.stages)

    @property
    def computed_anything(self) -> bool:
        """False when every training and evaluation was reused (the results file would not change)."""
        return any(
            not reused for name, _, _, reused in self.stages if name.split()[0] in ("train", "evaluate")
        )


def _timed(slog: StageLog, name: str, argv: list[str], *, reused: bool = False) -> None:
    t0 = time.perf_counter()
    log.info("demo: %s -> codecfake %s", name, shlex.join(argv))
    run_checked(argv, f"demo stage '{name}'")
    slog.add(name, time.perf_counter() - t0, argv, reused=reused)


def features_argv(opts: DemoOptions) -> list[str]:
    """Mel features of both demo corpora at the preset's hop, FFT size and values (the stage's own defaults are the
    paper's: hop 128, FFT 512, power), the sets recording the preset (so `make train` on them takes its values)."""
    return [
        "features",
        "--preset",
        opts.preset.name,
        "--data",
        "demo",
        "--demo-dir",
        str(opts.demo_dir),
        "--size",
        opts.size,
        "--extractor",
        "mel",
        "--mel-hop",
        str(opts.preset.mel_hop),
        "--mel-n-fft",
        str(opts.preset.mel_n_fft),
        "--mel-values",
        opts.preset.mel_values,
        "--store",
        str(opts.store),
        "--device",
        opts.device,
    ]


def _run_matrix(plan: Plan, opts: DemoOptions, slog: StageLog) -> None:
    """The matrix's runs through the experiment runner (train + evaluate each, finished ones reused), timed."""
    from codecfake.app.experiments.needs import require_needs
    from codecfake.app.experiments.runner import run_plan

    require_needs(plan)
    outcome = run_plan(plan, opts.exp_dir / plan.matrix.name, cluster=opts.cluster)
    results = {r.name: r for r in outcome.results}
    for run in plan.runs:
        r = results.get(run.name)
        slog.add(f"train {run.name}", r.train_s if r else 0.0, run.train_argv, reused=not (r and r.trained))
        slog.add(
            f"evaluate {run.name}",
            r.evaluate_s if r else 0.0,
            run.evaluate_argv,
            reused=not (r and r.evaluated),
        )
    if outcome.failed:
        raise CommandFailed(f"demo: {len(outcome.failed)} run(s) failed\n{outcome.summary()}")


def run_demo(opts: DemoOptions) -> int:
    """The whole demo; returns 0 and leaves ``opts.out`` (markdown) with the results."""
    from codecfake.app.demo.results import write_results
    from codecfake.corpus.build.mini_codecfake import DemoParams, is_complete
    from codecfake.evaluate.baselines import run_baselines
    from codecfake.evaluate.intervals import table_with_intervals
    from codecfake.evaluate.report import load_report
    from codecfake.store import FeatureStore

    slog = StageLog()
    _timed(
        slog,
        "corpus",
        ["corpus", "demo", "--out", str(opts.demo_dir), "--size", opts.size],
        reused=is_complete(opts.demo_dir, DemoParams(size=opts.size)),
    )
    _timed(slog, "features", features_argv(opts))
    t0 = time.perf_counter()
    baselines = run_baselines(FeatureStore(opts.store), array="mel")
    slog.add("baselines", time.perf_counter() - t0, ["baselines", "--store", str(opts.store)])

    plan = demo_plan(
        full=opts.full,
        store=opts.store,
        runs=opts.runs,
        device=opts.device,
        seeds=opts.seeds,
        epochs=opts.epochs,
        batch=opts.batch,
        preset=opts.preset,
    )
    _run_matrix(plan, opts, slog)
    specs = run_specs(plan)
    reports = [load_report(opts.runs / s.name) | {"run_dir": str(opts.runs / s.name)} for s in specs]
    table = table_with_intervals(reports, paper_mode=False, resamples=opts.resamples)
    if slog.computed_anything or not opts.out.is_file():
        write_results(opts, specs, reports, baselines, slog)
    else:
        log.info("demo: every run was reused; %s left as written when they were computed", opts.out)
    print("\nmini-Codecfake demo, EER % per condition (test split):\n")
    print(table)
    print(baselines.to_markdown())
    print(f"demo finished in {slog.total_s / 60:.1f} min of stage time; full results: {opts.out}")
    return 0

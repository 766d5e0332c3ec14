"""Leave-one-generator-out open-set evaluation: how well does each scorer call a generator the model never saw
unknown? The protocol that chooses the default scorer, on training generators and dev clips only.

A run trained with ``--hold-out G`` (``task = "trace"``) never saw G's train or dev fakes. Its scorers are fitted on
its training clips and thresholded on its known dev clips as in every evaluation (``openset_fit``); then
- known = the dev clips of the run's classes (bona fide and the other generators), never trained on;
- unknown = G's dev fakes in the run's training sets (the same utterances' other versions are dev clips too, so
  neither side shares a source clip with the training split).
No test row is read: the choice it supports is made before any test set is looked at.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from codecfake.evaluate.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, Interval
from codecfake.evaluate.errors import EvaluationError
from codecfake.evaluate.openset_fit import fit_openset
from codecfake.evaluate.openset_intervals import mean_intervals, open_set_intervals
from codecfake.evaluate.openset_scorers import DEFAULT_K, TraceOutputs
from codecfake.evaluate.trace_metrics import DEFAULT_KEEP
from codecfake.evaluate.trace_outputs import split_outputs, trace_outputs, valid_rows
from codecfake.train.trace_labels import canonical_generator, generator_labels

log = logging.getLogger(__name__)

__all__ = ["HeldOutScores", "held_out_scores", "LooTable", "loo_table"]


@dataclass(frozen=True)
class HeldOutScores:
    """One held-out generator: every scorer's novelty scores of the known dev clips and of its dev fakes."""

    generator: str  # "C3", "A01"
    run: str
    known: dict[str, np.ndarray]
    unknown: dict[str, np.ndarray]


def _cache_key(run: Any, g: str, keep: float, k: int) -> dict:
    from codecfake.evaluate.openset_fit import FORMAT, checkpoint_digest

    return {
        "format": FORMAT,
        "generator": g,
        "keep": keep,
        "k": k,
        "checkpoint_sha256": checkpoint_digest(run.run_dir),
    }


def _cached(run: Any, key: dict) -> HeldOutScores | None:
    """The scores an earlier call stored in the run for the same weights and options (else None)."""
    from codecfake.evaluate.run_outputs import RunOutputs

    path = RunOutputs(run.run_dir).openset_dir / "held_out.json"
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    if doc.get("key") != key:
        return None
    from safetensors.numpy import load_file

    arrays = load_file(str(path.with_suffix(".safetensors")))
    part = lambda side: {n.split(".", 1)[1]: v for n, v in arrays.items() if n.startswith(side + ".")}  # noqa: E731
    return HeldOutScores(key["generator"], str(run.run_dir), part("known"), part("unknown"))


def _store(run: Any, key: dict, result: HeldOutScores) -> None:
    from safetensors.numpy import save

    from codecfake.atomic import write_atomic
    from codecfake.evaluate.run_outputs import RunOutputs

    path = RunOutputs(run.run_dir).openset_dir / "held_out.json"
    arrays = {f"known.{n}": v for n, v in result.known.items()} | {
        f"unknown.{n}": v for n, v in result.unknown.items()
    }
    write_atomic(
        path.with_suffix(".safetensors"), save({n: np.ascontiguousarray(v) for n, v in arrays.items()})
    )
    write_atomic(path, json.dumps({"key": key}, indent=1))


def held_out_scores(
    run: Any, store: Any, *, device: Any, batch: int = 256, keep: float = DEFAULT_KEEP, k: int = DEFAULT_K
) -> HeldOutScores:
    """Scores of a run trained with exactly one held-out generator (see the module doc). Stored in the run
    (``openset/held_out.*``) and reused while its weights and ``keep``, ``k`` are the same."""
    from codecfake.train.data import load_training_data

    held = tuple(getattr(run.config, "hold_out", ()))
    if len(held) != 1:
        raise EvaluationError(
            f"run {run.run_dir}: leave-one-generator-out needs a run trained with one --hold-out generator, "
            f"found {list(held)}"
        )
    g = canonical_generator(held[0])
    key = _cache_key(run, g, keep, k)
    found = _cached(run, key)
    if found is not None:
        return found
    fit = fit_openset(run, store, device=device, batch=batch, keep=keep, k=k)
    data = load_training_data(store, run.config)
    known = split_outputs(run.model, data.sets, data.dev, run.array, device=device, batch=batch)
    parts = []
    for fs in data.sets:
        gens = np.array(
            [canonical_generator(x) for x in generator_labels(fs.meta, source=fs.key)], dtype=object
        )
        rows = valid_rows(
            fs, run.array, np.flatnonzero((np.asarray(fs.meta["split"]) == "dev") & (gens == g))
        )
        if len(rows):
            parts.append(trace_outputs(run.model, fs, run.array, rows, device=device, batch=batch))
    if not parts:
        raise EvaluationError(
            f"run {run.run_dir}: no dev fakes of the held-out generator {g} in its training sets"
        )
    unknown = TraceOutputs.concat(parts)
    log.info(
        "%s: held out %s: %d known dev clips vs %d of its dev fakes", run.run_dir, g, len(known), len(unknown)
    )
    result = HeldOutScores(g, str(run.run_dir), fit.scores(known), fit.scores(unknown))
    _store(run, key, result)
    return result


@dataclass(frozen=True)
class LooTable:
    """Per held-out generator and scorer AUROC / FPR95 intervals, their means over generators, and the scorer with
    the highest mean AUROC (``chosen``) with its paired difference from each other scorer."""

    generators: list[str]
    counts: dict[str, tuple[int, int]]  # generator -> (n known, n unknown)
    per_generator: dict[str, dict[str, dict[str, Interval]]]  # generator -> scorer -> metric
    mean: dict[str, dict[str, Interval]]  # scorer -> metric
    chosen: str
    delta_auroc: dict[str, Interval]  # other scorer -> mean AUROC(chosen) - mean AUROC(other), paired
    resamples: int
    seed: int

    def to_dict(self) -> dict:
        iv = lambda i: {"value": i.value, "ci": [i.lo, i.hi]}  # noqa: E731
        return {
            "generators": self.generators,
            "counts": {g: list(c) for g, c in self.counts.items()},
            "per_generator": {
                g: {s: {m: iv(v) for m, v in ms.items()} for s, ms in d.items()}
                for g, d in self.per_generator.items()
            },
            "mean": {s: {m: iv(v) for m, v in ms.items()} for s, ms in self.mean.items()},
            "chosen": self.chosen,
            "delta_auroc": {s: iv(v) for s, v in self.delta_auroc.items()},
            "bootstrap": {
                "resamples": self.resamples,
                "seed": self.seed,
                "level": 0.95,
                "method": "percentile",
            },
        }


def loo_table(
    results: Sequence[HeldOutScores], *, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
) -> LooTable:
    """Intervals per generator (draws fixed by seed and generator), means over generators, and the choice."""
    from codecfake.evaluate.bootstrap import percentile_interval

    if not results:
        raise EvaluationError("leave-one-generator-out: no held-out runs to tabulate")
    points, samples = [], []
    for r in results:
        p, smp = open_set_intervals(
            r.known, r.unknown, name=f"loo:{r.generator}", resamples=resamples, seed=seed
        )
        points.append(p)
        samples.append(smp)
    mean = mean_intervals(points, samples)
    chosen = max(mean, key=lambda s: mean[s]["auroc"].value)
    boot_mean = {s: np.mean([smp[s]["auroc"] for smp in samples], axis=0) for s in mean}
    delta = {
        s: Interval(
            mean[chosen]["auroc"].value - mean[s]["auroc"].value,
            *percentile_interval(boot_mean[chosen] - boot_mean[s]),
        )
        for s in mean
        if s != chosen
    }
    return LooTable(
        generators=[r.generator for r in results],
        counts={
            r.generator: (len(next(iter(r.known.values()))), len(next(iter(r.unknown.values()))))
            for r in results
        },
        per_generator={r.generator: p for r, p in zip(results, points, strict=True)},
        mean=mean,
        chosen=chosen,
        delta_auroc=delta,
        resamples=resamples,
        seed=seed,
    )

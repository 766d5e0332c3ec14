"""The robustness sweep (``codecfake robustness``, ``make robustness``): how a run's EER moves when its test audio is
re-coded, resampled or noisy — laundered, bona fide and spoof alike.

For each clean test set the run is evaluated on and each degradation (``mp3:32k,opus:12k,amr,resample:8k,noise:20db``)
the test rows are extracted again through the degradation into a *variant* of the test set (its spec records the
degradation, the clean key and the rows; only what is missing is extracted, resumably), in the clean rows' order with
their labels and conditions. Each variant is scored with the run's best checkpoint and reported per condition x
degradation beside the clean EER, with 95 % bootstrap intervals, the mean over degradations and the worst one:
``runs/<name>/robustness/{robustness.md, robustness.json, robustness.png, scores/<degradation>/<condition>.tsv}``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from codecfake.augment.recipe import Recipe, parse_degrade
from codecfake.augment.variant import DEFAULT_SEED, Variant
from codecfake.evaluate.errors import EvaluationError

log = logging.getLogger(__name__)
CLEAN = "clean"


def test_manifest(fs: Any) -> Any:
    """The manifest a clean test set was extracted from (its corpus kind, dataset root and part); refuses one whose
    corpus on disk no longer hashes to the set's manifest."""
    from codecfake.corpus import load_manifest
    from codecfake.corpus.kinds import CORPUS_KINDS, DEMO_KINDS
    from codecfake.corpus.parts import load_parts

    kinds = [k.kind for k in CORPUS_KINDS if k.corpus and k.corpus == fs.spec.corpus]
    root = fs.provenance.get("extra", {}).get("dataset_root") or fs.provenance.get("dataset_root")
    if not kinds or not root:
        raise EvaluationError(
            f"{fs.key}: cannot find the audio of corpus {fs.spec.corpus!r} again (no known corpus kind or dataset "
            "root recorded); the robustness sweep re-extracts test audio, so it needs a corpus codecfake parses"
        )
    kind = kinds[0]
    if kind in DEMO_KINDS or not fs.spec.part:
        manifest = load_manifest(kind, Path(root).parent if kind in DEMO_KINDS else Path(root))
    else:
        manifest = load_parts(kind, Path(root), (fs.spec.part,))[0].manifest
    if manifest.content_hash() != fs.spec.manifest_sha256:
        raise EvaluationError(
            f"{fs.key}: the corpus under {root} no longer matches the set's manifest (hash differs); re-extract the "
            "clean features (`make features`) before the sweep"
        )
    return manifest


def test_extractor(fs: Any, array: str, *, model_dir: str | Path | None, device: str) -> Any:
    """The extractor that made ``fs``, rebuilt from its spec (mel from every recorded parameter; SSL from
    ``model_dir`` or the folder its provenance records), computing the run's arrays; any difference is refused."""
    from codecfake.extract.rebuild import extractor_from_spec
    from codecfake.train.input_arrays import array_names

    folder = model_dir or fs.provenance.get("extra", {}).get("extractor", {}).get("model_dir")
    if fs.spec.extractor != "mel" and not folder:
        raise EvaluationError(f"{fs.key}: pass the SSL checkpoint folder with --model-dir (MODEL_DIR=)")
    return extractor_from_spec(
        fs.spec, arrays=list(array_names(array)), model_dir=folder, device=device, source=fs.location
    )


def plan_degraded(sets: list[Any], recipes: list[Recipe], seed: int) -> list[Any]:
    """One variant job per (clean test set, degradation): the set's test rows through the degradation."""
    from codecfake.extract.variants import VariantJob

    jobs = []
    for fs in sets:
        manifest = test_manifest(fs)
        rows = manifest.select(split="test")
        record = {"splits": ["test"], "on": {d: "all" for d in sorted({r.domain for r in rows})}}
        for recipe in recipes:
            variant = Variant(recipe, 0, seed, "degrade", of=fs.key, rows=record)
            jobs.append(VariantJob(fs.key, rows, variant, fs.spec.part, len(rows)))
    return jobs


def degraded_sets(store: Any, clean: Any, recipes: list[Recipe], seed: int) -> dict[str, Any]:
    """degradation name -> the finished degraded variant set of ``clean`` (absent ones are left out)."""
    out = {}
    for key in store.keys():
        fs = store.open(key)
        aug = dict(fs.spec.augment)
        if aug.get("role") == "degrade" and aug.get("of") == clean.key and aug.get("seed") == seed:
            for r in recipes:
                if aug.get("name") == r.name and {
                    "family": aug.get("family"),
                    "params": aug.get("params"),
                } == _json(r):
                    out[r.name] = fs
    return out


def _json(recipe: Recipe) -> dict:
    import json

    return json.loads(json.dumps(recipe.to_dict()))


def check_aligned(clean: Any, degraded: Any) -> None:
    """A degraded set holds the clean set's test rows in order, with their labels and conditions."""
    meta, dmeta = clean.meta, degraded.meta
    rows = np.flatnonzero(meta["split"] == "test")
    for col in ("utt_id", "label", "condition"):
        if not np.array_equal(np.asarray(meta[col])[rows], np.asarray(dmeta[col])):
            raise EvaluationError(
                f"{degraded.key}: its {col} column differs from the test rows of {clean.key}; remove it "
                f"(`codecfake store rm {degraded.key}`) and rerun the sweep"
            )


def degradation_seed() -> int:
    return DEFAULT_SEED


__all__ = ["CLEAN", "check_aligned", "degraded_sets", "parse_degrade", "plan_degraded", "test_extractor"]

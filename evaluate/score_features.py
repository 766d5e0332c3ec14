"""Score a trained run on feature-store rows: P(bona fide) = softmax(logits)[:, 0], batched, no gradients.

Test sets are the feature sets whose extractor spec (extractor, model id, weights, params and preprocessing — every
field but corpus and manifest) equals that of the run's training sets and that hold the run's array, complete. One
difference is allowed: a test set stored float32 serves a run trained on float16 features (the release scores test
clips from fp32 features computed on the spot); where a part exists in both, the float32 set is used.
Clips rejected at extraction (bad audio) are never scored; a condition left without bona fide or without spoof
clips is skipped with the reason. The dev-EER threshold comes from the run's own training sets' dev rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from codecfake.eer import eer_from_labels
from codecfake.evaluate.conditions import SetCondition
from codecfake.evaluate.errors import EvaluationError, NoTestSets
from codecfake.evaluate.score_tsv import Scores
from codecfake.progress import Progress
from codecfake.store.spec import extractor_fields
from codecfake.store.verify import check_shards
from codecfake.train.input_arrays import array_names, has_arrays, open_reader, valid_mask

log = logging.getLogger(__name__)

__all__ = [
    "find_test_sets",
    "score_rows",
    "valid_indices",
    "row_scores",
    "dev_threshold",
    "ScoredCondition",
    "RunScores",
    "score_conditions",
]


def find_test_sets(store: Any, extractor: Mapping[str, Any], array: str) -> list[Any]:
    """Feature sets in ``store`` whose extractor spec equals ``extractor`` (``LoadedRun.extractor``), holding a
    complete ``array`` (a fused "L00+L05": each of its arrays) and rows with split "test"."""
    wanted = extractor_fields(extractor)
    found, skipped = [], []
    for key in store.keys():
        fs = store.open(key)
        if (
            not _fits(extractor_fields(fs.spec), wanted) or fs.spec.is_variant
        ):  # degraded: `codecfake robustness`
            continue
        if any(a not in fs.arrays or not fs.is_complete(a) for a in array_names(array)):
            skipped.append(f"{key} (array {array} missing or incomplete)")
            continue
        if not np.any(fs.meta["split"] == "test"):
            continue
        found.append(fs)
    found = _prefer_float32(found)
    for s in skipped:
        log.warning("not evaluated: %s; finish it with `codecfake features ...` (it resumes)", s)
    if not found:
        raise NoTestSets(
            f"store {store!r}: no feature set with split 'test' rows matches the run's extractor "
            f"({wanted.get('extractor')}, {wanted.get('model_id')}) and array {array}; extract one with "
            "`codecfake features --data ... --model ...` using the same model and layers"
        )
    return found


def _fits(fields: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Equal extractor fields, or equal but for float32 storage of what the run saw as float16."""
    if fields == wanted:
        return True
    run_dtype = wanted.get("dtype", "float16")
    upgraded = fields.get("dtype") == "float32" and run_dtype == "float16"
    return upgraded and {**fields, "dtype": run_dtype} == {**wanted, "dtype": run_dtype}


def _prefer_float32(sets: list[Any]) -> list[Any]:
    """One set per (corpus, part, manifest): the float32 one where both storages were extracted."""
    chosen: dict[tuple[str, str, str], Any] = {}
    for fs in sets:
        part = (fs.spec.corpus, fs.spec.part, fs.spec.manifest_sha256)
        if part not in chosen or fs.spec.dtype == "float32":
            if part in chosen:
                log.info("%s: scoring the float32 set %s instead of %s", part[0], fs.key, chosen[part].key)
            chosen[part] = fs
    return [fs for fs in sets if chosen[(fs.spec.corpus, fs.spec.part, fs.spec.manifest_sha256)] is fs]


@torch.inference_mode()
def score_rows(
    model: torch.nn.Module,
    fs: Any,
    array: str,
    indices: np.ndarray,
    *,
    device: torch.device,
    batch: int = 256,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """P(bona fide) for the (n,) row ``indices`` of ``fs[array]``: (n,) float64. ``progress(k)`` after k clips.

    A fused ``array`` ("L00+L05") reads its layers together: batches (B, N, T, D) for the run's FusedBackend."""
    for name in array_names(array):  # a shard changed on disk since it was written is refused before scoring
        check_shards(fs, name, indices)
    reader = open_reader(fs, array)
    model.eval()
    out = np.empty(len(indices), dtype=np.float64)
    for start in range(0, len(indices), batch):
        idx = np.asarray(indices[start : start + batch])
        x = torch.from_numpy(np.asarray(reader.batch(idx), dtype=np.float32)).to(
            device
        )  # (B, T, D) | (B, N, T, D)
        _, logits = model(x)  # (B, 2) [bona fide, spoof]
        out[start : start + len(idx)] = torch.softmax(logits.float(), dim=1)[:, 0].cpu().numpy()
        if progress is not None:
            progress(len(idx))
    return out


def valid_indices(fs: Any, array: str, indices: np.ndarray) -> np.ndarray:
    """The rows of ``indices`` whose clips are valid in every array of ``array`` (rejected clips warned)."""
    ok = valid_mask(fs, array)[indices]  # fused layers: valid in every layer
    if not ok.all():
        log.warning(
            "%s: %d clips were rejected at extraction (bad audio) and are not scored",
            fs.key,
            int((~ok).sum()),
        )
    return indices[ok]


def row_scores(
    run: Any,
    fs: Any,
    indices: np.ndarray,
    *,
    device: Any,
    batch: int,
    progress: Callable[[int], None] | None = None,
) -> Scores:
    """The run's :class:`Scores` (utt_id, P(bona fide), label, condition) of the rows ``indices`` of ``fs``."""
    meta = fs.meta
    s = score_rows(run.model, fs, run.array, indices, device=device, batch=batch, progress=progress)
    return Scores(
        utt_id=meta["utt_id"][indices],
        score=s,
        label=np.asarray(meta["label"]).astype(np.int64)[indices],
        condition=meta["condition"][indices],
    )


def dev_scores(run: Any, store: Any, *, device: Any, batch: int = 256) -> Scores | None:
    """The run's scores of its dev split (rows with split "dev" of its training sets); None without dev rows."""
    parts = []
    for key in run.feature_keys:
        fs = store.open(key)
        idx = np.flatnonzero(fs.meta["split"] == "dev")
        if idx.size and has_arrays(fs, run.array):
            parts.append(row_scores(run, fs, valid_indices(fs, run.array, idx), device=device, batch=batch))
    if not parts:
        return None
    return Scores(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in ("utt_id", "score", "label", "condition"))
    )


def threshold_of(dev: Scores | None) -> float | None:
    """EER threshold of dev scores; None without them or without both classes."""
    if dev is None or not ((dev.label == 0).any() and (dev.label == 1).any()):
        return None
    return eer_from_labels(dev.score, dev.label).threshold


def dev_threshold(run: Any, store: Any, *, device: Any, batch: int = 256) -> float | None:
    """EER threshold of the run's dev split (rows with split "dev" of its training sets); None without dev rows."""
    return threshold_of(dev_scores(run, store, device=device, batch=batch))


@dataclass(frozen=True)
class ScoredCondition:
    """One test condition and the run's scores of its valid clips."""

    condition: SetCondition
    scores: Scores
    methods: np.ndarray | None = (
        None  # (N,) the clips' generator (manifest method column), when the set stores it
    )

    @property
    def name(self) -> str:
        return self.condition.name


@dataclass(frozen=True)
class RunScores:
    """The run's scores per test condition (in the order of the sets) and the conditions skipped, with why."""

    scored: tuple[ScoredCondition, ...]
    skipped: dict[str, str]


def refuse_duplicate_conditions(conditions: Sequence[SetCondition]) -> None:
    """Two feature sets giving the same condition (an old whole-corpus set beside its per-part sets) are refused."""
    seen: dict[str, str] = {}
    for c in conditions:
        if c.name in seen and seen[c.name] != c.fs.key:
            raise EvaluationError(
                f"condition {c.name} is in two feature sets with the run's extractor: {seen[c.name]} and "
                f"{c.fs.key} (e.g. a whole-corpus set beside its per-part sets); keep one: "
                f"`codecfake store rm KEY` for the other"
            )
        seen[c.name] = c.fs.key


def _lacking_class(fs: Any, indices: np.ndarray) -> str:
    """ "bona fide" or "spoof" when the valid rows lack that class (e.g. A3's AudioCaps reals kept as rejects)."""
    labels = np.asarray(fs.meta["label"])[indices]
    return "bona fide" if not (labels == 0).any() else "spoof" if not (labels == 1).any() else ""


def score_conditions(
    run: Any,
    conditions: Sequence[SetCondition],
    *,
    device: Any,
    batch: int = 256,
    progress: Progress | None = None,
) -> RunScores:
    """Score the valid clips of every condition; one lacking bona fide or spoof clips is skipped with the reason."""
    scored, skipped = [], {}
    for c in conditions:
        idx = valid_indices(c.fs, run.array, c.rows.indices)
        lacking = _lacking_class(c.fs, idx)
        if lacking:
            skipped[c.name] = (
                f"{c.fs.key}: no valid {lacking} clips ({len(c.rows.indices) - len(idx)} rejected at extraction)"
            )
            log.warning("not evaluated: condition %s — %s", c.name, skipped[c.name])
            continue
        if progress is not None:
            progress.start(f"scoring {c.name}", len(idx), "clip")
        advance = progress.advance if progress is not None else None
        sc = row_scores(run, c.fs, idx, device=device, batch=batch, progress=advance)
        methods = np.asarray(c.fs.meta["method"])[idx].astype(str) if "method" in c.fs.meta else None
        scored.append(ScoredCondition(c, sc, methods))
    return RunScores(tuple(scored), skipped)

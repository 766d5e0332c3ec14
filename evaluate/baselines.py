"""Corpus-sanity baselines, computed from mel feature sets in the store.

(a) **HF energy**: the log energy in the mel bands whose centre lies above 3.4 kHz, used directly as a score (no
    training). Reported in its better orientation; a condition it separates (EER < ``artefact_eer`` %) is flagged as a
    corpus artefact (band limit, resampling chain), not a codec the detectors learned.
(b) **LR mean/std**: logistic regression (scikit-learn, standardised inputs, balanced classes) on per-clip mean and
    std over frames of the log-mel (2 x n_mels values), trained on a feature set's train split: the difficulty floor.
    A set without train rows is scored by the model trained on every selected set's train rows pooled.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from codecfake.common import SAMPLE_RATE_HZ
from codecfake.eer import eer_both
from codecfake.evaluate.conditions import SetCondition, conditions_of, sort_conditions
from codecfake.evaluate.errors import EvaluationError

log = logging.getLogger(__name__)

__all__ = [
    "BaselineRow",
    "BaselineTable",
    "band_centres_hz",
    "clip_statistics",
    "baseline_sets",
    "fit_floor_models",
    "baseline_row",
    "run_baselines",
]

CUTOFF_HZ = 3400.0


@dataclass(frozen=True)
class BaselineRow:
    """One test condition. EERs in %; ``hf_flipped``: HF energy works as "less energy = more bona fide"."""

    condition: str
    corpus: str
    feature_key: str
    n_bonafide: int
    n_spoof: int
    hf_eer: float  # better orientation
    hf_flipped: bool
    artefact: bool
    lr_eer: float  # plain orientation (NaN when no train rows anywhere)
    lr_trained_on: str


@dataclass(frozen=True)
class BaselineTable:
    rows: tuple[BaselineRow, ...]
    artefact_eer: float

    def to_dict(self) -> dict:
        return {
            "artefact_eer": self.artefact_eer,
            "cutoff_hz": CUTOFF_HZ,
            "rows": [asdict(r) for r in self.rows],
        }

    def as_run_rows(self) -> list[tuple[str, dict[str, str]]]:
        """Two table rows shaped like ``report.render_table`` input, to print beside detector runs."""
        hf = {r.condition: f"{r.hf_eer:.3f}" + (" ⚠artefact" if r.artefact else "") for r in self.rows}
        lr = {r.condition: "–" if math.isnan(r.lr_eer) else f"{r.lr_eer:.3f}" for r in self.rows}
        return [("baseline: HF energy > 3.4 kHz", hf), ("baseline: LR mean/std log-mel", lr)]

    def to_markdown(self) -> str:
        head = (
            f"Baselines (EER %). HF energy = log energy of the mel bands above {CUTOFF_HZ / 1000:g} kHz as the score, "
            f"better orientation, ⚠ = separates the condition (EER < {self.artefact_eer:g} %): a corpus artefact. "
            "LR = logistic regression on per-clip mean/std log-mel (difficulty floor).\n\n"
            "| condition | corpus | bona fide | spoof | HF energy | artefact | LR mean/std | LR trained on |\n"
            "|---|---|---|---|---|---|---|---|"
        )
        body = [
            f"| {r.condition} | {r.corpus} | {r.n_bonafide} | {r.n_spoof} | {r.hf_eer:.3f}{' (−)' if r.hf_flipped else ''} "
            f"| {'⚠ yes' if r.artefact else 'no'} | {'–' if math.isnan(r.lr_eer) else f'{r.lr_eer:.3f}'} "
            f"| {r.lr_trained_on} |"
            for r in self.rows
        ]
        return "\n".join([head, *body]) + "\n"


def band_centres_hz(params: dict[str, Any], n_mels: int, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """(n_mels,) centre frequencies in Hz of HTK mel bands from f_min_hz to f_max_hz (the extractor's filterbank)."""
    f_min = float(params.get("f_min_hz", 0.0))
    f_max = float(params.get("f_max_hz") or sample_rate_hz / 2)
    mel = np.linspace(2595 * np.log10(1 + f_min / 700), 2595 * np.log10(1 + f_max / 700), n_mels + 2)
    return (700 * (10 ** (mel / 2595) - 1))[1:-1]


def clip_statistics(
    x: np.ndarray, *, is_log: bool, high: np.ndarray, floor: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """From (B, T, M) mel: HF log energy (B,) and [mean, std] over frames of log-mel (B, 2M)."""
    x = x.astype(np.float32)
    logmel = x if is_log else np.log(np.maximum(x, floor))  # (B, T, M)
    power = np.exp(logmel) if is_log else x
    hf = np.log(np.maximum(power[:, :, high].sum(axis=2).mean(axis=1), 1e-12))  # (B,)
    return hf, np.concatenate([logmel.mean(axis=1), logmel.std(axis=1)], axis=1)


def _set_statistics(fs: Any, array: str, indices: np.ndarray, batch: int) -> tuple[np.ndarray, np.ndarray]:
    params = dict(fs.spec.params)
    t, m = fs.frame_shape(array)
    high = band_centres_hz(params, m, fs.spec.sample_rate_hz) > CUTOFF_HZ
    reader = fs.reader(array)
    hf, stats = [], []
    for start in range(0, len(indices), batch):
        h, s = clip_statistics(
            reader.batch(indices[start : start + batch]), is_log=bool(params.get("log")), high=high
        )
        hf.append(h)
        stats.append(s)
    if not hf:
        return np.zeros(0), np.zeros((0, 2 * m))
    return np.concatenate(hf), np.concatenate(stats)


def _fit_lr(x: np.ndarray, y: np.ndarray, seed: int) -> Any:
    model = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced", random_state=seed)
    )
    return model.fit(x, y)


def baseline_sets(store: Any, feature_sets: Sequence[str] | None, array: str) -> list[Any]:
    """The feature sets ``feature_sets`` (keys; default: every clean mel set with ``array``: augmented or degraded
    variants are not the corpus the baselines describe), each checked to be mel."""
    keys = list(feature_sets) if feature_sets else store.find(extractor="mel", array=array, augment={})
    if not keys:
        raise EvaluationError(
            f"store {store!r}: no mel feature set with array {array!r}; make one with "
            "`codecfake features --model mel`"
        )
    sets = [store.open(k) for k in keys]
    for fs in sets:
        if fs.spec.extractor != "mel" or array not in fs.arrays:
            raise EvaluationError(
                f"{fs.key}: baselines need a mel feature set with array {array!r}, found "
                f"extractor {fs.spec.extractor!r} with arrays {fs.arrays}"
            )
    return sets


def fit_floor_models(sets: Sequence[Any], array: str, *, batch: int, seed: int) -> dict[str, Any]:
    """The LR mean/std model of each set with both classes among its valid train rows (by key), and "*" trained on
    all of those rows pooled (for sets without train rows); empty when no set has any."""
    models: dict[str, Any] = {}
    pooled_x, pooled_y = [], []
    for fs in sets:
        idx = np.flatnonzero((fs.meta["split"] == "train") & fs.valid(array))
        y = np.asarray(fs.meta["label"]).astype(np.int64)[idx]
        if idx.size and (y == 0).any() and (y == 1).any():
            _, x = _set_statistics(fs, array, idx, batch)
            models[fs.key] = _fit_lr(x, y, seed)
            pooled_x.append(x)
            pooled_y.append(y)
    if pooled_x:
        models["*"] = _fit_lr(np.concatenate(pooled_x), np.concatenate(pooled_y), seed)
    return models


def baseline_row(
    c: SetCondition, models: dict[str, Any], array: str, *, batch: int, artefact_eer: float
) -> BaselineRow:
    """Both baselines on the valid clips of one test condition; an HF-energy EER below ``artefact_eer`` % is
    warned about as a corpus artefact."""
    fs = c.fs
    idx = c.rows.indices[fs.valid(array)[c.rows.indices]]
    y = np.asarray(fs.meta["label"]).astype(np.int64)[idx]
    hf, x = _set_statistics(fs, array, idx, batch)
    hf_both = eer_both(hf, y)
    lr_key = fs.key if fs.key in models else ("*" if "*" in models else None)
    lr = (
        float("nan") if lr_key is None else 100 * eer_both(models[lr_key].predict_proba(x)[:, 0], y).plain.eer
    )
    best = 100 * hf_both.paper
    if best < artefact_eer:
        log.warning(
            "baseline HF energy separates %s (%s) at EER %.2f %%: a corpus artefact, not a codec; "
            "fix the corpus (same processing chain for bona fide and spoof)",
            c.name,
            fs.key,
            best,
        )
    return BaselineRow(
        condition=c.name,
        corpus=c.rows.corpus,
        feature_key=fs.key,
        n_bonafide=int((y == 0).sum()),
        n_spoof=int((y == 1).sum()),
        hf_eer=best,
        hf_flipped=hf_both.inverted,
        artefact=best < artefact_eer,
        lr_eer=lr,
        lr_trained_on={None: "–", "*": "all train splits"}.get(lr_key, f"{fs.spec.corpus} train"),
    )


def run_baselines(
    store: Any,
    feature_sets: Sequence[str] | None = None,
    *,
    array: str = "mel",
    artefact_eer: float = 5.0,
    batch: int = 256,
    seed: int = 0,
) -> BaselineTable:
    """Both baselines on every test condition of ``feature_sets`` (keys; default: every mel set with ``array``)."""
    sets = baseline_sets(store, feature_sets, array)
    models = fit_floor_models(sets, array, batch=batch, seed=seed)
    rows = [
        baseline_row(c, models, array, batch=batch, artefact_eer=artefact_eer) for c in conditions_of(sets)
    ]
    order = {n: k for k, n in enumerate(sort_conditions([r.condition for r in rows]))}
    rows.sort(key=lambda r: order[r.condition])
    return BaselineTable(rows=tuple(rows), artefact_eer=artefact_eer)

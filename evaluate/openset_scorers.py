"""Open-set scorers over a trace model's outputs: how far a clip lies from every generator seen in training.

Every scorer returns a **novelty score, higher = more likely a generator never seen** (the trace report calls a
clip "unknown generator" above its threshold). Inputs are the model's penultimate embedding ``emb`` (N, D) (the
back-end's first output, the classifier's input) and its logits (N, K).

- ``msp``: 1 - max softmax probability (the baseline of Hendrycks & Gimpel; nothing fitted).
- ``energy``: -logsumexp(logits), the free energy at temperature 1 (Liu et al. 2020; nothing fitted).
- ``mahalanobis``: min over classes of the squared Mahalanobis distance to the class mean, one covariance shared by
  the classes (Lee et al. 2018): fitted on the training embeddings. The covariance is inverted on its range only
  (eigenvalues below ``rtol`` x the largest are dropped): an LCNN's 256-d embedding is a linear map of 80 values, so
  its covariance has rank 80 and a ridge would weigh directions no clip can move in.
- ``knn``: Euclidean distance to the k-th nearest training embedding after L2 normalisation (Sun et al. 2022),
  through an exact library index: scikit-learn's brute-force ``NearestNeighbors`` (a dependency already), or
  faiss-cpu's ``IndexFlatL2`` when asked (``index="faiss"``); ``make bench-openset`` measures both.

A fitted scorer is a few arrays (``arrays()``) plus parameters (``params()``); ``scorer_from_arrays`` rebuilds it, so
a run stores its scorers without pickling anything.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from codecfake.evaluate.errors import EvaluationError

log = logging.getLogger(__name__)

__all__ = [
    "SCORERS",
    "DEFAULT_SCORER",
    "DEFAULT_K",
    "TraceOutputs",
    "MaxSoftmax",
    "Energy",
    "Mahalanobis",
    "KNearest",
    "new_scorer",
    "fit_scorers",
    "scorer_from_arrays",
]

SCORERS = ("msp", "energy", "mahalanobis", "knn")
# Chosen by the leave-one-generator-out mean AUROC over the demo's training generators (docs/openset-results.md,
# written by `codecfake openset-loo`); never by C7 or a test set.
DEFAULT_SCORER = "knn"
_CHUNK_ROWS = 65_536  # rows per float64 block of the covariance (128 MB at D = 256)
DEFAULT_K = 10  # neighbours of the kNN scorer (the k-th distance is the score)


@dataclass(frozen=True)
class TraceOutputs:
    """A trace model's outputs for N clips: ``emb`` (N, D) float32 penultimate embeddings, ``logits`` (N, K)."""

    emb: np.ndarray
    logits: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "emb", np.asarray(self.emb, dtype=np.float32))
        object.__setattr__(self, "logits", np.asarray(self.logits, dtype=np.float64))
        if self.emb.ndim != 2 or self.logits.ndim != 2 or len(self.emb) != len(self.logits):
            raise EvaluationError(
                f"trace outputs: expected emb (N, D) and logits (N, K) with one N, found {self.emb.shape} and "
                f"{self.logits.shape}"
            )

    def __len__(self) -> int:
        return len(self.emb)

    def take(self, idx: np.ndarray) -> TraceOutputs:
        return TraceOutputs(self.emb[idx], self.logits[idx])

    @staticmethod
    def concat(parts: list[TraceOutputs]) -> TraceOutputs:
        return TraceOutputs(np.concatenate([p.emb for p in parts]), np.concatenate([p.logits for p in parts]))


def _logsumexp(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]


class MaxSoftmax:
    """1 - max softmax probability (N,)."""

    name = "msp"

    def fit(self, train: TraceOutputs, class_ids: np.ndarray) -> MaxSoftmax:
        return self

    def score(self, out: TraceOutputs) -> np.ndarray:
        z = out.logits
        return 1.0 - np.exp(z.max(axis=1) - _logsumexp(z))

    def arrays(self) -> dict[str, np.ndarray]:
        return {}

    def params(self) -> dict[str, Any]:
        return {}


class Energy:
    """The free energy -logsumexp(logits) (N,): low on clips the head is confident about."""

    name = "energy"

    def fit(self, train: TraceOutputs, class_ids: np.ndarray) -> Energy:
        return self

    def score(self, out: TraceOutputs) -> np.ndarray:
        return -_logsumexp(out.logits)

    def arrays(self) -> dict[str, np.ndarray]:
        return {}

    def params(self) -> dict[str, Any]:
        return {}


class Mahalanobis:
    """min_c (x - mu_c)^T S^+ (x - mu_c) (N,), S the covariance of the training embeddings around their class mean."""

    name = "mahalanobis"

    def __init__(self, rtol: float = 1e-6) -> None:
        self.rtol = float(rtol)
        self.means: np.ndarray | None = None  # (K, D) class means
        self.whiten: np.ndarray | None = (
            None  # (r, D): |W (x - mu)|^2 is the Mahalanobis distance on S's range
        )

    def fit(self, train: TraceOutputs, class_ids: np.ndarray) -> Mahalanobis:
        x = train.emb  # (N, D) float32; sums and products in float64, a chunk of rows at a time
        classes, y = np.unique(np.asarray(class_ids, dtype=np.int64), return_inverse=True)
        means = np.stack(
            [x[y == c].sum(axis=0, dtype=np.float64) / (y == c).sum() for c in range(len(classes))]
        )
        cov = np.zeros((x.shape[1], x.shape[1]))
        for a in range(0, len(x), _CHUNK_ROWS):
            centred = x[a : a + _CHUNK_ROWS].astype(np.float64) - means[y[a : a + _CHUNK_ROWS]]
            cov += centred.T @ centred
        lam, vec = np.linalg.eigh(cov / len(x))  # the covariance shared by the classes
        keep = lam > self.rtol * max(float(lam.max()), np.finfo(np.float64).tiny)
        self.whiten = (vec[:, keep] / np.sqrt(lam[keep])).T  # (r, D)
        self.means = means
        return self

    def score(self, out: TraceOutputs) -> np.ndarray:
        if self.means is None or self.whiten is None:
            raise EvaluationError("mahalanobis scorer: fit it on training embeddings first")
        z = out.emb.astype(np.float64) @ self.whiten.T  # (N, r)
        m = self.means @ self.whiten.T  # (K, r)
        d2 = (z * z).sum(1)[:, None] - 2.0 * z @ m.T + (m * m).sum(1)[None, :]  # (N, K)
        return np.maximum(d2.min(axis=1), 0.0)

    def arrays(self) -> dict[str, np.ndarray]:
        assert self.means is not None and self.whiten is not None
        return {"means": self.means, "whiten": self.whiten}

    def params(self) -> dict[str, Any]:
        return {"rtol": self.rtol}

    def load(self, arrays: Mapping[str, np.ndarray]) -> Mahalanobis:
        self.means, self.whiten = np.asarray(arrays["means"]), np.asarray(arrays["whiten"])
        return self


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _exact_index(bank: np.ndarray, backend: str) -> Any:
    """An exact Euclidean nearest-neighbour index over ``bank`` (N, D) float32: scikit-learn's brute-force
    ``NearestNeighbors`` (``sklearn``), or faiss-cpu's flat index (``faiss``, when installed); same distances."""
    if backend == "faiss":
        try:
            import faiss
        except ImportError:
            raise EvaluationError("knn scorer: faiss is not installed; `pip install faiss-cpu`") from None
        index = faiss.IndexFlatL2(bank.shape[1])
        index.add(bank)
        return ("faiss", index)
    from sklearn.neighbors import NearestNeighbors

    return ("sklearn", NearestNeighbors(algorithm="brute").fit(bank))


class KNearest:
    """Distance to the k-th nearest L2-normalised training embedding (N,), exact (scikit-learn, or faiss-cpu)."""

    name = "knn"

    def __init__(self, k: int = DEFAULT_K, index: str = "sklearn") -> None:
        if k < 1:
            raise EvaluationError(f"knn scorer: k must be >= 1, found {k}")
        if index not in ("faiss", "sklearn"):
            raise EvaluationError(f"knn scorer: index {index!r} is not sklearn or faiss")
        self.k, self.index = int(k), index
        self.bank: np.ndarray | None = None  # (N, D) float32 unit vectors
        self._index: Any = None

    def fit(self, train: TraceOutputs, class_ids: np.ndarray) -> KNearest:
        if 0 < len(train) < self.k:
            log.warning(
                "knn scorer: %d training embeddings, fewer than k = %d; k set to %d",
                len(train),
                self.k,
                len(train),
            )
            self.k = len(train)
        return self.load({"bank": _unit(train.emb)})

    def load(self, arrays: Mapping[str, np.ndarray]) -> KNearest:
        self.bank = np.ascontiguousarray(arrays["bank"], dtype=np.float32)
        if len(self.bank) < self.k:
            raise EvaluationError(
                f"knn scorer: k = {self.k} neighbours but only {len(self.bank)} training embeddings"
            )
        self._index = _exact_index(self.bank, self.index)
        return self

    def score(self, out: TraceOutputs) -> np.ndarray:
        if self._index is None:
            raise EvaluationError("knn scorer: fit it on training embeddings first")
        kind, index = self._index
        q = np.ascontiguousarray(_unit(out.emb))
        if kind == "faiss":
            d2, _ = index.search(q, self.k)  # (N, k) squared distances, ascending
            return np.sqrt(np.maximum(d2[:, -1].astype(np.float64), 0.0))
        dist, _ = index.kneighbors(q, n_neighbors=self.k)  # (N, k), ascending
        return dist[:, -1].astype(np.float64)

    def arrays(self) -> dict[str, np.ndarray]:
        assert self.bank is not None
        return {"bank": self.bank}

    def params(self) -> dict[str, Any]:
        return {"k": self.k}


def new_scorer(name: str, params: Mapping[str, Any] | None = None) -> Any:
    """An unfitted scorer by name (``SCORERS``) with its parameters (``{"k": 10}`` for knn)."""
    params = dict(params or {})
    makers = {"msp": MaxSoftmax, "energy": Energy, "mahalanobis": Mahalanobis, "knn": KNearest}
    if name not in makers:
        raise EvaluationError(f"open-set scorer {name!r} is not one of {', '.join(SCORERS)}")
    return makers[name](**params)


def fit_scorers(
    train: TraceOutputs, class_ids: np.ndarray, names: tuple[str, ...] = SCORERS, *, k: int = DEFAULT_K
) -> dict[str, Any]:
    """Each named scorer fitted on the training clips' outputs and class ids (N,)."""
    return {n: new_scorer(n, {"k": k} if n == "knn" else None).fit(train, class_ids) for n in names}


def scorer_from_arrays(name: str, params: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Any:
    """The fitted scorer that ``arrays()`` / ``params()`` describe."""
    scorer = new_scorer(name, params)
    return scorer.load(arrays) if hasattr(scorer, "load") else scorer

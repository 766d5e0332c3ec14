"""Open-set scorer benchmark: fit and per-clip scoring time of the Mahalanobis and kNN scorers at the demo's size and
at a Codecfake-sized training set (740,000 x 256 float32 embeddings), ours vs a straightforward implementation,
measured in one run on the same synthetic embeddings.

Embeddings: 11 Gaussian classes (a trace head's bona fide + 10 generators) with random means in 256 dimensions, unit
noise; queries drawn the same way (half of them from an 12th, unseen class). Scores must agree before any time is
written (Mahalanobis to 1e-6 relative, the kNN k-th distance to 1e-4).

- Mahalanobis, ours (``openset_scorers.Mahalanobis``): one centred (N, D) matmul for the shared covariance, its
  eigendecomposition, then scoring = one whitening matmul and a (Q, K) distance expansion.
  Baseline: the textbook formula, ``np.cov`` pooled over a loop of classes, ``np.linalg.inv``, and per class
  ``einsum('nd,de,ne->n')`` on the differences (K times the scoring work).
- kNN, ours (``openset_scorers.KNearest``): scikit-learn's exact ``NearestNeighbors`` (brute force) on unit vectors;
  faiss-cpu's exact ``IndexFlatL2`` beside it when installed (``pip install faiss-cpu``; not a dependency).
  Baseline: a per-query loop over the bank with ``np.linalg.norm`` and ``np.partition`` (timed on fewer queries;
  linear in them).

Each library is called once on a small input before timing (thread pools and lazy imports start outside the clock).

    python bench/openset.py [--sizes demo,codecfake] [--queries 256] [--baseline-queries 16] [--out bench/results/openset.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from codecfake.evaluate.openset_scorers import KNearest, Mahalanobis, TraceOutputs

HERE = Path(__file__).resolve().parent
SIZES = {
    "demo": 2_956,
    "codecfake": 740_000,
}  # demo: the trace run's training clips (codec 2,380 + vocoder 576)
D, K, KNN = 256, 11, 10


def embeddings(n: int, rng: np.random.Generator, unseen: bool = False) -> tuple[np.ndarray, np.ndarray]:
    means = np.random.default_rng(7).normal(scale=0.6, size=(K + 1, D)).astype(np.float32)
    y = rng.integers(0, K, size=n)
    if unseen:
        y[: n // 2] = K
    x = rng.standard_normal((n, D), dtype=np.float32)
    x += means[y]
    return x, y


def baseline_mahalanobis_fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    classes = np.unique(y)
    means = np.stack([x[y == c].mean(axis=0) for c in classes])
    cov = sum(np.cov(x[y == c].T, bias=True) * (y == c).sum() for c in classes) / len(x)
    return means, np.linalg.inv(cov)


def baseline_mahalanobis_score(q: np.ndarray, means: np.ndarray, prec: np.ndarray) -> np.ndarray:
    d2 = [np.einsum("nd,de,ne->n", q - m, prec, q - m) for m in means]
    return np.min(d2, axis=0)


def baseline_knn(q: np.ndarray, bank_unit: np.ndarray, k: int) -> np.ndarray:
    out = np.empty(len(q))
    for i, v in enumerate(q / np.linalg.norm(q, axis=1, keepdims=True)):
        dist = np.linalg.norm(bank_unit - v, axis=1)
        out[i] = np.partition(dist, k - 1)[k - 1]
    return out


def _timed(fn, *a):
    t0 = time.perf_counter()
    out = fn(*a)
    return out, time.perf_counter() - t0


def _latency_ms(fn, q: np.ndarray, repeats: int = 5) -> float:
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(q[i : i + 1])
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def warm_up() -> None:
    """Start BLAS / OpenMP thread pools and the lazy imports before anything is timed."""
    rng = np.random.default_rng(1)
    x, y = embeddings(300, rng)
    out = TraceOutputs(x, np.zeros((300, 1)))
    Mahalanobis().fit(out, y).score(out)
    KNearest(KNN).fit(out, y).score(out)
    baseline_mahalanobis_score(x[:4].astype(np.float64), *baseline_mahalanobis_fit(x.astype(np.float64), y))


def bench_size(name: str, n: int, queries: int, base_queries: int) -> dict:
    rng = np.random.default_rng(0)
    x, y = embeddings(n, rng)
    q, _ = embeddings(queries, rng, unseen=True)
    zeros = np.zeros((n, 1))
    train, out = TraceOutputs(x, zeros), TraceOutputs(q, np.zeros((queries, 1)))
    row: dict = {"n_train": n, "dim": D, "classes": K, "queries": queries}
    maha, fit_s = _timed(lambda: Mahalanobis().fit(train, y))
    ours, score_s = _timed(maha.score, out)
    (means, prec), base_fit_s = _timed(lambda: baseline_mahalanobis_fit(x.astype(np.float64), y))
    base, base_score_s = _timed(baseline_mahalanobis_score, q.astype(np.float64), means, prec)
    if not np.allclose(ours, base, rtol=1e-6):
        raise SystemExit(
            f"{name}: Mahalanobis disagrees with the textbook formula; not timing a wrong answer"
        )
    row["mahalanobis"] = {
        "ours": {"fit_s": fit_s, "per_clip_ms": 1e3 * score_s / queries,
                 "one_clip_ms": _latency_ms(lambda v: maha.score(TraceOutputs(v, np.zeros((1, 1)))), q)},
        "baseline_textbook": {"fit_s": base_fit_s, "per_clip_ms": 1e3 * base_score_s / queries},
        "ratio_fit_speedup": base_fit_s / fit_s,
        "ratio_score_speedup": base_score_s / score_s,
    }  # fmt: skip
    knn, knn_fit_s = _timed(lambda: KNearest(KNN).fit(train, y))  # scikit-learn's exact brute-force index
    ours_k, knn_s = _timed(knn.score, out)
    sub = q[:base_queries]
    base_k, base_k_s = _timed(baseline_knn, sub, knn.bank, KNN)
    if not np.allclose(ours_k[:base_queries], base_k, rtol=1e-4, atol=1e-4):
        raise SystemExit(f"{name}: kNN disagrees with the loop; not timing a wrong answer")
    one = lambda s: _latency_ms(lambda v: s.score(TraceOutputs(v, np.zeros((1, 1)))), q)  # noqa: E731
    row["knn"] = {
        "ours_sklearn_brute": {"fit_s": knn_fit_s, "per_clip_ms": 1e3 * knn_s / queries, "one_clip_ms": one(knn)},
        "baseline_loop": {"queries_timed": base_queries, "per_clip_ms": 1e3 * base_k_s / base_queries},
        "ratio_score_speedup_vs_loop": (base_k_s / base_queries) / (knn_s / queries),
        "bank_mb": knn.bank.nbytes / 2**20,
        "faiss_flat": None,
    }  # fmt: skip
    try:
        import faiss  # noqa: F401
    except ImportError:
        return row
    alt, alt_fit_s = _timed(lambda: KNearest(KNN, index="faiss").fit(train, y))
    alt_k, alt_s = _timed(alt.score, out)
    if not np.allclose(ours_k, alt_k, rtol=1e-4, atol=1e-4):
        raise SystemExit(f"{name}: faiss and scikit-learn disagree; not timing a wrong answer")
    row["knn"]["faiss_flat"] = {
        "fit_s": alt_fit_s,
        "per_clip_ms": 1e3 * alt_s / queries,
        "one_clip_ms": one(alt),
    }
    row["knn"]["ratio_faiss_vs_sklearn_per_clip"] = knn_s / alt_s
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="demo,codecfake", help="demo, codecfake or both [both]")
    ap.add_argument("--queries", type=int, default=256, help="clips scored per timing [256]")
    ap.add_argument("--baseline-queries", type=int, default=16, help="clips the kNN loop scores [16]")
    ap.add_argument("--load-note", default="", help="what else was running (stated in the JSON)")
    ap.add_argument("--out", default=str(HERE / "results" / "openset.json"))
    args = ap.parse_args()
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    warm_up()
    sizes = {s: bench_size(s, SIZES[s], args.queries, args.baseline_queries) for s in args.sizes.split(",")}
    import sklearn
    import torch

    try:
        import faiss

        faiss_version = faiss.__version__
    except ImportError:
        faiss_version = None

    result = {
        "what": "open-set scorers: fit and per-clip scoring time, ours vs a straightforward implementation, "
        "same synthetic embeddings, agreement checked before timing is written; seconds / milliseconds",
        "sizes": sizes,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "sklearn": sklearn.__version__,
            "faiss": faiss_version,
            "torch_threads": torch.get_num_threads(),
            "load_avg_1m_start": load0[0],
            "load_avg_1m_end": os.getloadavg()[0],
            "load_note": args.load_note,
        },
        "wall_s": time.perf_counter() - t0,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

"""Open-set scorers on synthetic embeddings with a known out-of-distribution cluster; Mahalanobis and kNN against
hand computations; fitted scorers survive the run folder."""

from __future__ import annotations

import numpy as np
import pytest

D, K = 16, 4


def _synthetic(seed: int, n: int = 120):
    """K Gaussian classes at 6 e_c (unit noise), a linear head scoring class c by e_c, and an out-of-distribution
    cluster at 6 e_{D-1}: a direction no class uses. Returns (train outputs, class ids, known test, unknown test)."""
    from codecfake.evaluate.openset_scorers import TraceOutputs

    rng = np.random.default_rng(seed)
    means = 6.0 * np.eye(D)[:K]
    head = np.eye(D)[:K]  # (K, D): logits = emb @ head.T

    def outputs(centres: np.ndarray) -> TraceOutputs:
        emb = centres + rng.normal(size=centres.shape)
        return TraceOutputs(emb, emb @ head.T)

    y = np.repeat(np.arange(K), n)
    train = outputs(means[y])
    known = outputs(means[rng.integers(0, K, size=n)])
    unknown = outputs(np.tile(6.0 * np.eye(D)[D - 1], (n, 1)))
    return train, y, known, unknown


class FlippedEnergy:
    """A deliberately broken scorer: the energy with its sign flipped (higher = *more* familiar)."""

    name = "broken"

    def fit(self, train, class_ids):
        return self

    def score(self, out):
        from codecfake.evaluate.openset_scorers import Energy

        return -Energy().score(out)


def test_every_scorer_separates_the_unknown_cluster_and_a_broken_one_does_not():
    from codecfake.evaluate.openset_scorers import SCORERS, fit_scorers
    from codecfake.evaluate.trace_metrics import auroc, fpr_at_tpr

    train, y, known, unknown = _synthetic(0)
    scorers = fit_scorers(train, y) | {"broken": FlippedEnergy().fit(train, y)}
    result = {n: auroc(s.score(known), s.score(unknown)) for n, s in scorers.items()}
    for name in SCORERS:
        assert result[name] > 0.99, (name, result)
        assert fpr_at_tpr(scorers[name].score(known), scorers[name].score(unknown)) < 0.05, name
    assert result["broken"] < 0.5  # the test can fail: a scorer that does not separate is caught


def test_mahalanobis_matches_a_hand_computation():
    from codecfake.evaluate.openset_scorers import Mahalanobis, TraceOutputs

    x = np.array([[0.0, 0.0], [2.0, 1.0], [1.0, 3.0], [5.0, 5.0], [6.0, 4.0], [7.0, 7.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    mu = np.array([[1.0, 4 / 3], [6.0, 16 / 3]])  # class means
    dev = x - mu[y]
    cov = dev.T @ dev / 6  # shared covariance, divided by N
    q = np.array([[1.0, 1.0], [6.0, 2.0], [20.0, -3.0]])
    inv = np.linalg.inv(cov)
    want = [min(float((v - m) @ inv @ (v - m)) for m in mu) for v in q]
    fitted = Mahalanobis().fit(TraceOutputs(x, np.zeros((6, 2))), y)
    assert fitted.score(TraceOutputs(q, np.zeros((3, 2)))) == pytest.approx(want, rel=1e-9)
    np.testing.assert_allclose(fitted.means, mu)


def test_mahalanobis_of_rank_deficient_embeddings_is_that_of_their_source():
    """An embedding A z (D > rank) has the Mahalanobis distance of z: the inverse acts on the covariance's range."""
    from codecfake.evaluate.openset_scorers import Mahalanobis, TraceOutputs

    rng = np.random.default_rng(1)
    z = rng.normal(size=(300, 3)) + np.repeat(np.eye(3) * 4, 100, axis=0)
    y = np.repeat(np.arange(3), 100)
    a = rng.normal(size=(8, 3))  # 3 values spread over 8 dimensions: the covariance has rank 3
    q = rng.normal(size=(5, 3)) * 3
    zero = np.zeros((300, 3))
    in_z = Mahalanobis().fit(TraceOutputs(z, zero), y).score(TraceOutputs(q, zero[:5]))
    in_emb = Mahalanobis().fit(TraceOutputs(z @ a.T, zero), y).score(TraceOutputs(q @ a.T, zero[:5]))
    assert np.isfinite(in_emb).all()
    assert in_emb == pytest.approx(in_z, rel=1e-3)


@pytest.mark.parametrize("index", ["faiss", "sklearn"])
def test_knn_is_the_kth_distance_between_unit_vectors(index):
    from codecfake.evaluate.openset_scorers import KNearest, TraceOutputs

    if index == "faiss":
        pytest.importorskip("faiss")

    rng = np.random.default_rng(2)
    bank, q = rng.normal(size=(50, 6)), rng.normal(size=(7, 6))
    unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
    want = np.sort(np.linalg.norm(unit(q)[:, None] - unit(bank)[None], axis=2), axis=1)[:, 4]
    got = (
        KNearest(k=5)
        .fit(TraceOutputs(bank * 3.0, np.zeros((50, 2))), np.zeros(50))
        .score(TraceOutputs(q, np.zeros((7, 2))))
    )
    assert got == pytest.approx(want, rel=1e-4)


def test_msp_and_energy_by_hand():
    from codecfake.evaluate.openset_scorers import Energy, MaxSoftmax, TraceOutputs

    logits = np.array([[0.0, 0.0], [np.log(3.0), 0.0]])
    out = TraceOutputs(np.zeros((2, 1)), logits)
    assert MaxSoftmax().score(out) == pytest.approx([0.5, 0.25])
    assert Energy().score(out) == pytest.approx([-np.log(2.0), -np.log(4.0)])


def test_fitted_scorers_round_trip_through_the_run_folder(tmp_path):
    from codecfake.evaluate.openset_fit import OpenSetFit
    from codecfake.evaluate.openset_scorers import fit_scorers
    from codecfake.evaluate.run_outputs import RunOutputs

    train, y, known, unknown = _synthetic(3, n=30)
    scorers = fit_scorers(train, y, k=3)
    fit = OpenSetFit(
        scorers=scorers,
        thresholds={n: float(i) for i, n in enumerate(scorers)},
        classes=("bonafide", "1", "2", "3"),
        keep=0.9,
        default="mahalanobis",
        checkpoint="ab" * 32,
        n_train=len(train),
        n_dev_known=7,
        hold_out=("C3",),
        train_speakers=frozenset({"p1", "p2"}),
    )
    outputs = RunOutputs(tmp_path / "run")
    outputs.write_openset(*fit.to_files())
    back = OpenSetFit.from_files(*outputs.read_openset(), source="test")
    assert (back.thresholds, back.keep, back.default, back.hold_out) == (
        fit.thresholds,
        0.9,
        "mahalanobis",
        ("C3",),
    )
    assert back.scorers["knn"].k == 3 and back.train_speakers == fit.train_speakers
    for name in scorers:
        np.testing.assert_array_equal(back.scorers[name].score(unknown), scorers[name].score(unknown))
    (outputs.openset_dir / "scorers.safetensors").write_bytes(b"truncated")
    from codecfake.evaluate.errors import EvaluationError

    with pytest.raises(EvaluationError, match="do not match"):
        outputs.read_openset()


def test_unseen_speaker_bona_fide_counts_each_real_once():
    from codecfake.evaluate.trace_clips import TraceClips
    from codecfake.evaluate.trace_speakers import bona_fide_by_speaker

    classes = ("bonafide", "1", "2")

    def clips(
        name,
    ):  # reals r0 (speaker s9, unseen) and r1, r2 (s1) listed in both parts, a fake of generator 7
        probs = np.array([[0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [0.2, 0.1, 0.7], [0.3, 0.6, 0.1]])
        return TraceClips(
            name, "set", np.array([0, 1, 2, 3]), np.array([f"{name}/{u}" for u in ("r0", "r1", "r2", "f")]),
            np.array(["bonafide", "bonafide", "bonafide", "7"], dtype=object),
            np.array(["s9", "s1", "s1", "s1"], dtype=object), probs,
            {"msp": np.array([0.5, 0.1, 0.3, 0.4]), "knn": np.array([2.0, 0.1, 0.2, 3.0])},
        )  # fmt: skip

    got = bona_fide_by_speaker(
        [clips("C1"), clips("C7")], frozenset({"s1"}), {"msp": 0.2, "knn": 1.0}, classes
    )
    assert got["recorded"] and got["unseen_speakers"] == ["s9"]
    assert got["unseen"] == {
        "n": 1, "traced_bonafide": 0.0, "traced_generator": 1.0, "generators": {"1": 1},
        "called_unknown": {"msp": 1.0, "knn": 1.0},
    }  # fmt: skip
    seen = got["seen"]
    assert seen["n"] == 2 and seen["traced_bonafide"] == 0.5 and seen["generators"] == {"2": 1}
    assert seen["called_unknown"] == {"msp": 0.5, "knn": 0.0}

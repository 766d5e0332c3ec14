"""The paper's claims, checked on the demo's runs with a paired bootstrap interval and across training seeds.

Each claim names the setting the paper finds *lower* (better) on one column and the setting it beats. The check is
``compare_runs(higher seeds, lower seeds)`` on the same test trials: Δ = EER(lower) − EER(higher), seed means, with
its 95 % paired interval; the paper's direction is Δ < 0. The verdict is computed, never written by hand:

- "reproduced": the interval lies wholly below 0 and every seed pair (same seed number) has Δ < 0;
- "contradicted": the interval lies wholly above 0 and every seed pair has Δ > 0;
- "not resolved here": anything else (the interval holds 0, or the seeds disagree on the sign).

The interval is over test-trial resampling (what another draw of test clips would do to the seed means); the seed
pairs carry the training-seed spread, which the interval does not (``evaluate/compare.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

Cell = tuple[str, str, str]  # (task, back-end, optimiser)
REPRODUCED, CONTRADICTED, UNRESOLVED = "reproduced", "contradicted", "not resolved here"


@dataclass(frozen=True)
class Claim:
    title: str
    paper: str  # what the paper reports (Mel-LCNN unless said)
    column: str  # condition or average compared
    lower: Cell  # the setting the paper finds lower EER on `column`
    higher: Cell  # the setting it beats


@dataclass(frozen=True)
class Finding:
    claim: Claim
    eer_lower: float  # seed-mean EER %
    eer_higher: float
    delta: float  # eer_lower - eer_higher, points
    lo: float
    hi: float
    seed_deltas: tuple[float, ...]  # per seed pair, points
    verdict: str


def verdict(lo: float, hi: float, seed_deltas: Sequence[float]) -> str:
    """The three-way verdict of the module doc; the paper's direction is Δ < 0."""
    if hi < 0 and all(d < 0 for d in seed_deltas):
        return REPRODUCED
    if lo > 0 and all(d > 0 for d in seed_deltas):
        return CONTRADICTED
    return UNRESOLVED


def claims(backend: str, avg: Mapping[Cell, float]) -> list[Claim]:
    """The claims checkable with the cells present in ``avg`` ({cell: seed-mean AVG}) for one back-end."""
    voc, cod = ("vocoder", backend, "adam"), ("codec", backend, "adam")
    co, csam = ("cotrain", backend, "adam"), ("cotrain", backend, "csam")
    out = []
    if voc in avg and cod in avg:
        out += [
            Claim(
                "Codec-trained beats vocoder-trained on codec fakes",
                "Tables III vs IV: CAVG 13.2 vs 43.9 %",
                "CAVG",
                cod,
                voc,
            ),
            Claim("The unseen codec C7 (Codec 2, never in training)", "C7 30.9 vs 49.6 %", "C7", cod, voc),
            Claim(
                "Codec-trained models lose the vocoder domain",
                "19LA 5.1 (vocoder-trained) vs 26.8 %",
                "19LA",
                voc,
                cod,
            ),
        ]
        if co in avg:
            best = cod if avg[cod] <= avg[voc] else voc
            out.append(
                Claim(
                    f"Co-training beats the best single-domain run ({best[0]}-trained)",
                    "Table VIII: AVG 16.4 vs 18.0 % (codec-trained)",
                    "AVG",
                    co,
                    best,
                )
            )
    if co in avg and csam in avg:
        out.append(
            Claim("CSAM beats Adam, co-trained", "AVG 0.616 vs 0.963 % (W2V2-AASIST)", "AVG", csam, co)
        )
    return out


def check(
    claim: Claim,
    runs: Mapping[Cell, Sequence[tuple[int, Path, Mapping[str, float]]]],
    *,
    resamples: int,
    seed: int,
) -> Finding:
    """One claim from ``runs`` ({cell: [(seed, run dir, {column: EER %})]}, evaluated runs)."""
    from codecfake.evaluate.compare import compare_runs

    low, high = runs[claim.lower], runs[claim.higher]
    cmp = compare_runs([d for _, d, _ in high], [d for _, d, _ in low], resamples=resamples, seed=seed)
    d = cmp.deltas.get(claim.column)
    by_seed = {s: v for s, _, v in high}
    seed_deltas = tuple(
        v[claim.column] - by_seed[s][claim.column]
        for s, _, v in low
        if s in by_seed and claim.column in v and claim.column in by_seed[s]
    )
    if d is None:
        nan = float("nan")
        return Finding(claim, nan, nan, nan, nan, nan, seed_deltas, UNRESOLVED)
    return Finding(
        claim, d.eer_b, d.eer_a, d.delta, d.lo, d.hi, seed_deltas, verdict(d.lo, d.hi, seed_deltas)
    )


def sentence(f: Finding) -> str:
    """One markdown bullet's text: the measured numbers, the interval, the seeds and the verdict."""
    c = f.claim
    if math.isnan(f.delta):
        return f"**{c.title}** (paper: {c.paper}): {c.column} not measured by both settings — {f.verdict}."
    seeds = ", ".join(f"{d:+.1f}" for d in f.seed_deltas) or "none paired"
    why = {
        REPRODUCED: "the interval excludes 0 in the paper's direction and every seed agrees",
        CONTRADICTED: "the interval excludes 0 against the paper and every seed agrees",
        UNRESOLVED: "the interval holds 0" if f.lo <= 0 <= f.hi else "the seeds disagree on the sign",
    }[f.verdict]
    return (
        f"**{c.title}** (paper: {c.paper}): {c.column} {c.lower[0]}-{c.lower[2]} {f.eer_lower:.1f} vs "
        f"{c.higher[0]}-{c.higher[2]} {f.eer_higher:.1f} %, Δ {f.delta:+.1f} points, 95 % paired interval "
        f"[{f.lo:+.1f}, {f.hi:+.1f}]; per seed Δ {seeds} — **{f.verdict}** ({why})."
    )


def floor_check(
    detector: Mapping[str, Sequence[float]],
    floor: Mapping[str, float],
    intervals: Mapping[str, Sequence[float]],
    *,
    above: float = 5.0,
) -> tuple[list[str], list[str]]:
    """Table rows and a summary: the codec-trained detector (EER % per seed, per condition) against the LR
    mean/std floor on every condition where the floor is above ``above`` %. "beats" needs the seed mean below
    the floor; "resolved" needs the detector's interval wholly below it too."""
    rows, lost = [], []
    for cond, fl in floor.items():
        xs = detector.get(cond)
        if not xs or math.isnan(fl) or fl <= above:
            continue
        mean = sum(xs) / len(xs)
        ci = intervals.get(cond)
        beats = mean < fl
        resolved = ci[1] < fl if ci else False
        rows.append(
            f"| {cond} | {fl:.1f} | {mean:.1f}"
            + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else "")
            + f" | {'yes' if beats else '**no**'}{' (interval below the floor)' if resolved else ''} |"
        )
        if not beats:
            lost.append(cond)
    return rows, lost

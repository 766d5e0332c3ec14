"""The results page of ``codecfake openset-loo``: the leave-one-generator-out table that chose the default scorer,
then the unseen test generators and unseen-speaker bona fide of the all-generator run, reported once."""

from __future__ import annotations

import shlex
from typing import Any

__all__ = ["render_page", "page_json"]


def _ci(v: Any, digits: int = 3) -> str:
    value, lo, hi = (v.value, v.lo, v.hi) if hasattr(v, "lo") else v
    return "–" if value != value else f"{value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f}"


def _loo_lines(loo: Any, seconds: dict[str, float]) -> list[str]:
    scorers = list(loo.mean)
    head = (
        "| held out | known / unseen dev clips | "
        + " | ".join(f"{s} AUROC" for s in scorers)
        + " | training s |"
    )
    lines = [head, "|" + "---|" * (len(scorers) + 3)]
    for g in loo.generators:
        k, u = loo.counts[g]
        cells = " | ".join(_ci(loo.per_generator[g][s]["auroc"]) for s in scorers)
        lines.append(f"| {g} | {k} / {u} | {cells} | {seconds.get(g, 0):.0f} |")
    lines.append("| **mean** | | " + " | ".join(f"**{_ci(loo.mean[s]['auroc'])}**" for s in scorers) + " | |")
    lines += [
        "",
        "FPR at 95 % TPR (unseen dev fakes accepted when 95 % of the known dev clips are kept; lower is better):",
        "",
        "| held out | " + " | ".join(scorers) + " |",
        "|" + "---|" * (len(scorers) + 1),
    ]
    for g in loo.generators:
        lines.append(f"| {g} | " + " | ".join(_ci(loo.per_generator[g][s]["fpr95"]) for s in scorers) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{_ci(loo.mean[s]['fpr95'])}**" for s in scorers) + " |")
    return lines


def _test_lines(test: dict[str, Any]) -> list[str]:
    scorers = test["scorers"]
    lines = [
        "| condition | known / unseen | " + " | ".join(f"{s} AUROC" for s in scorers) + " |",
        "|" + "---|" * (len(scorers) + 2),
    ]
    for r in test["rows"]:
        cells = " | ".join(_ci(r["scorers"][s]["auroc"]) for s in scorers)
        lines.append(f"| {r['name']} | {r['n_known']} / {r['n_unknown']} | {cells} |")
    d = test["default"]
    lines += [
        "",
        f"At the default scorer's dev threshold ({d}, {test['thresholds'][d]:.4g}, keeping "
        f"{100 * test['keep']:g} % of the known dev clips):",
        "",
        "| condition | unseen → unknown % | known → unknown % | FPR at 95 % TPR |",
        "|---|---|---|---|",
    ]
    for r in test["rows"]:
        s = r["scorers"][d]
        lines.append(
            f"| {r['name']} | {_pct(s['detection_rate'])} | {_pct(s['false_unknown_rate'])} | {_ci(s['fpr95'])} |"
        )
    return lines


def _speaker_lines(test: dict[str, Any]) -> list[str]:
    from codecfake.evaluate.trace_report import speaker_lines

    lines = speaker_lines({"bona_fide_speakers": test.get("bona_fide_speakers")})
    b = test.get("bona_fide_speakers") or {}
    n = (b.get("unseen") or {}).get("n", 0)
    if b.get("recorded") and n < 30:
        lines.insert(
            -1,
            f"On this corpus only {n} test bona fide clip{'s come' if n != 1 else ' comes'} from speakers no "
            "training clip has (the demo's "
            "speakers straddle its splits), so these shares are anecdotes, not estimates; the same report on a "
            "corpus with disjoint test speakers (Codecfake's, ITW) measures them.",
        )
    return lines


def render_page(result: dict[str, Any]) -> str:
    loo, test = result["loo"], result["test"]
    others = ", ".join(f"{s} {_ci(d)}" for s, d in loo.delta_auroc.items())
    lines = [
        '# Open-set source tracing: which scorer says "unknown generator" best',
        "",
        "Written by `" + shlex.join(result["argv"]) + "` (`make openset-loo`); do not edit by hand. "
        f"Wall time of this command {result['wall_s'] / 60:.1f} min on this machine (2 shared CPU cores; it reuses "
        "finished runs). Training time of each run (its steps, from metrics.jsonl; dev scoring excluded): in the "
        f"table; the all-generator run {result['seconds'].get('all', 0):.0f} s.",
        "",
        "## 1. Choice: leave one training generator out (dev clips only)",
        "",
        "Each row is a trace model trained without one generator's fakes (`--hold-out`); every scorer is fitted on "
        "that model's training clips and measured on its dev clips: the known ones (bona fide and the other "
        "generators) against the held-out generator's dev fakes. AUROC with 95 % bootstrap intervals "
        f"({loo.resamples} stratified resamples, seed {loo.seed}; the mean's interval resamples every generator).",
        "",
        *_loo_lines(loo, result["seconds"]),
        "",
        f"**Default scorer: {loo.chosen}** (highest mean AUROC over the held-out training generators). Its mean "
        f"AUROC minus each other scorer's, paired over the same resamples: {others}.",
        "",
        "## 2. Reported once, after choosing: the all-generator run's unseen test generators",
        "",
        f"`{result['full_run']}` (every training generator), evaluated with `--openset-scorer {loo.chosen}`. "
        "Known = the condition's clips of generators seen in training; unseen = the others.",
        "",
        *_test_lines(test),
        "",
        *(
            [f"![score distributions of known and unseen test clips, every scorer]({result['figure']})", ""]
            if result.get("figure")
            else []
        ),
        "## 3. Bona fide of new speakers",
        "",
        *_speaker_lines(test),
        "## Commands",
        "",
        "```",
        *[shlex.join(c) for c in result["commands"]],
        "```",
        "",
    ]
    return "\n".join(lines)


def page_json(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "argv": result["argv"],
        "wall_s": result["wall_s"],
        "train_seconds": result["seconds"],
        "loo": result["loo"].to_dict(),
        "test": result["test"],
        "full_run": result["full_run"],
        "commands": result["commands"],
    }

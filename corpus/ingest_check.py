"""The ingest check: what a dataset on disk really holds, against what its protocol says — before any GPU time.

Per part (a label file / protocol): files listed vs found (missing, extra audio beside them, unreadable), sample
rates, a duration histogram (with the share shorter than the 4.04 s the models see, which get repeat-padded), the
share of near-silent clips, and bona fide / spoof counts per condition. Over the whole corpus: duplicate audio (the
same decoded samples under several ids) and leakage — the same audio, or the same speaker, in a training part
(split train or dev) and a test part. It refuses nothing: extraction keeps its own rules; this says what to expect.

``quick`` (what ``codecfake features`` runs before extracting) checks presence, labels and speakers of every row but
reads headers and content of a sample of ``sample`` files only.
"""

from __future__ import annotations

import logging
import math
import os
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from codecfake.corpus.audio_probe import Probe, probe_audio
from codecfake.corpus.rows import Manifest

log = logging.getLogger(__name__)

__all__ = ["CheckConfig", "IngestReport", "check_corpus", "DURATION_EDGES_S"]

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac"})
DURATION_EDGES_S = (0.5, 1.0, 2.0, 4.0375, 8.0, 16.0, 32.0)  # 4.0375 s = the 64,600 samples a model sees
EXAMPLES = 5


@dataclass(frozen=True)
class CheckConfig:
    silence_dbfs: float = -60.0  # RMS below this: near-silent
    quick: bool = False  # header/content of a sample only (presence, labels, speakers: every row)
    sample: int = 2000  # files probed in quick mode
    workers: int = 4  # threads reading audio (libsndfile releases the GIL)
    seed: int = 0  # which files the quick sample takes


@dataclass
class IngestReport:
    corpus: str
    root: str
    config: dict
    parts: dict[str, dict] = field(default_factory=dict)
    duplicates: dict = field(default_factory=dict)
    leakage: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            k: getattr(self, k)
            for k in ("corpus", "root", "config", "parts", "duplicates", "leakage", "warnings")
        }


def _extra_files(manifest: Manifest, listed: set[str]) -> list[str]:
    """Audio files in the folders the protocol points into that no row lists."""
    folders = {os.path.dirname(p) for p in listed}
    extra = []
    for d in sorted(folders):
        if not os.path.isdir(d):
            continue
        with os.scandir(d) as it:
            extra += [
                e.path
                for e in it
                if e.is_file() and Path(e.name).suffix.lower() in AUDIO_SUFFIXES and e.path not in listed
            ]
    return sorted(extra)


def _histogram(seconds: Sequence[float]) -> dict[str, int]:
    edges = (0.0, *DURATION_EDGES_S, math.inf)
    out = {}
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        out[f"[{lo:g}, {hi:g}) s"] = sum(lo <= s < hi for s in seconds)
    return out


def _check_part(
    name: str, m: Manifest, cfg: CheckConfig, rng: random.Random
) -> tuple[dict, dict[str, Probe]]:
    paths = [str(m.resolve(r)) for r in m]
    present = [os.path.isfile(p) for p in paths]
    missing = [p for p, ok in zip(paths, present, strict=True) if not ok]
    found = [p for p, ok in zip(paths, present, strict=True) if ok]
    extra = _extra_files(m, set(paths))
    probe_set = found if not cfg.quick or len(found) <= cfg.sample else rng.sample(found, cfg.sample)
    with ThreadPoolExecutor(max_workers=max(1, cfg.workers)) as pool:
        probes = dict(zip(probe_set, pool.map(probe_audio, probe_set), strict=True))
    ok = [pr for pr in probes.values() if not pr.error]
    bad = [pr for pr in probes.values() if pr.error]
    balance: dict[str, dict[str, int]] = defaultdict(lambda: {"bonafide": 0, "spoof": 0})
    for r in m:
        balance[f"{r.split}/{r.condition}"][r.label] += 1
    silent = [pr.path for pr in ok if pr.rms_dbfs < cfg.silence_dbfs]
    part = {
        "listed": len(paths),
        "found": len(found),
        "missing": {"count": len(missing), "examples": missing[:EXAMPLES]},
        "extra": {"count": len(extra), "examples": extra[:EXAMPLES]},
        "probed": len(probes),
        "unreadable": {"count": len(bad), "examples": [f"{pr.path}: {pr.error}" for pr in bad[:EXAMPLES]]},
        "sample_rates_hz": dict(sorted(Counter(pr.rate_hz for pr in ok).items())),
        "channels": dict(sorted(Counter(pr.channels for pr in ok).items())),
        "durations": _histogram([pr.seconds for pr in ok]),
        "shorter_than_model_input": sum(pr.seconds < DURATION_EDGES_S[3] for pr in ok),
        "near_silent": {
            "count": len(silent),
            "share": len(silent) / max(1, len(ok)),
            "examples": silent[:EXAMPLES],
        },
        "label_balance": dict(sorted(balance.items())),
    }
    return part, probes


def _leakage(parts: dict[str, Manifest], probes: dict[str, Probe]) -> tuple[dict, dict]:
    """Duplicate audio (same content hash) and train/dev-vs-test leakage of audio and speakers."""
    by_hash: dict[str, list[tuple[str, str]]] = defaultdict(list)  # hash -> [(utt_id, split)]
    speakers: dict[str, set[str]] = defaultdict(set)  # split side -> speakers
    for m in parts.values():
        for r in m:
            side = "test" if r.split == "test" else "train"
            if r.speaker:
                speakers[side].add(r.speaker)
            pr = probes.get(str(m.resolve(r)))
            if pr is not None and pr.sha256:
                by_hash[pr.sha256].append((r.utt_id, side))
    groups = [g for g in by_hash.values() if len(g) > 1]
    leaks = [g for g in groups if {s for _, s in g} == {"train", "test"}]
    shared = sorted(speakers["train"] & speakers["test"])
    dupes = {
        "groups": len(groups),
        "clips": sum(len(g) for g in groups),
        "examples": [[u for u, _ in g][:4] for g in groups[:EXAMPLES]],
    }
    leakage = {
        "audio": {
            "groups": len(leaks),
            "examples": [[f"{u} ({s})" for u, s in g][:4] for g in leaks[:EXAMPLES]],
        },
        "speakers": {
            "train_dev": len(speakers["train"]),
            "test": len(speakers["test"]),
            "shared": len(shared),
            "examples": shared[:EXAMPLES],
        },
    }
    return dupes, leakage


def check_corpus(
    parts: Sequence[tuple[str, Manifest]],
    *,
    corpus: str,
    root: str | Path,
    config: CheckConfig = CheckConfig(),
) -> IngestReport:
    """The ingest check over a dataset's parts ((part name, its manifest) pairs)."""
    rng = random.Random(config.seed)
    report = IngestReport(corpus, str(root), config.__dict__.copy())
    probes: dict[str, Probe] = {}
    for name, m in parts:
        report.parts[name or corpus], part_probes = _check_part(name, m, config, rng)
        probes |= part_probes
    report.duplicates, report.leakage = _leakage({n: m for n, m in parts}, probes)
    report.warnings = _warnings(report)
    for w in report.warnings:
        log.warning("ingest check %s: %s", corpus, w)
    return report


def _warnings(rep: IngestReport) -> list[str]:
    out = []
    for name, p in rep.parts.items():
        if p["missing"]["count"]:
            out.append(f"part {name}: {p['missing']['count']} of {p['listed']} listed files are missing")
        if p["unreadable"]["count"]:
            out.append(
                f"part {name}: {p['unreadable']['count']} of {p['probed']} files probed are unreadable"
            )
        if p["extra"]["count"]:
            out.append(
                f"part {name}: {p['extra']['count']} audio files beside the listed ones are in no protocol row"
            )
        if len(p["sample_rates_hz"]) > 1:
            out.append(
                f"part {name}: mixed sample rates {sorted(p['sample_rates_hz'])} Hz (all resampled to 16 kHz)"
            )
        if p["near_silent"]["share"] > 0.01:
            out.append(f"part {name}: {100 * p['near_silent']['share']:.1f} % of clips are near-silent")
        one_class = [c for c, b in p["label_balance"].items() if c.startswith("test/") and 0 in b.values()]
        if one_class:
            out.append(
                f"part {name}: test conditions with one class only (no EER): {', '.join(one_class[:6])}"
            )
    if rep.leakage["audio"]["groups"]:
        out.append(f"{rep.leakage['audio']['groups']} audio clips appear in a training part and a test part")
    if rep.leakage["speakers"]["shared"]:
        out.append(f"{rep.leakage['speakers']['shared']} speakers appear in train/dev and in test")
    if rep.duplicates["groups"]:
        out.append(f"{rep.duplicates['groups']} groups of identical audio under different ids")
    return out


def render_summary(rep: IngestReport) -> str:
    """The readable form of the report: one block per part, then duplicates, leakage and warnings."""
    mode = (
        f"quick: headers and content of a sample of {rep.config['sample']} files per part"
        if rep.config["quick"]
        else "every file"
    )
    lines = [f"ingest check of {rep.corpus} at {rep.root} ({mode})", ""]
    for name, p in rep.parts.items():
        rates = ", ".join(f"{r} Hz: {n}" for r, n in p["sample_rates_hz"].items()) or "–"
        lines += [
            f"part {name}: listed {p['listed']}, found {p['found']}, missing {p['missing']['count']}, "
            f"extra {p['extra']['count']}, unreadable {p['unreadable']['count']} of {p['probed']} probed",
            f"  sample rates: {rates}",
            "  durations: " + ", ".join(f"{k} {v}" for k, v in p["durations"].items() if v),
            f"  shorter than the 4.04 s model input (repeat-padded): {p['shorter_than_model_input']}; near-silent "
            f"(RMS < {rep.config['silence_dbfs']:g} dBFS): {p['near_silent']['count']} "
            f"({100 * p['near_silent']['share']:.1f} %)",
            "  bona fide / spoof per split/condition: "
            + ", ".join(f"{c} {b['bonafide']}/{b['spoof']}" for c, b in list(p["label_balance"].items())[:16])
            + (" …" if len(p["label_balance"]) > 16 else ""),
        ]
        for key in ("missing", "extra"):
            if p[key]["examples"]:
                lines.append(f"  {key}, e.g. {p[key]['examples'][:3]}")
        lines += [f"  unreadable: {e}" for e in p["unreadable"]["examples"][:3]]
    d, leak = rep.duplicates, rep.leakage
    lines += [
        "",
        f"duplicate audio: {d['groups']} groups ({d['clips']} clips)"
        + (f", e.g. {d['examples'][:2]}" if d["groups"] else ""),
        f"leakage, same audio in train/dev and test: {leak['audio']['groups']}"
        + (f", e.g. {leak['audio']['examples'][:2]}" if leak["audio"]["groups"] else ""),
        f"leakage, speakers in train/dev and test: {leak['speakers']['shared']} of {leak['speakers']['test']} test "
        f"speakers" + (f", e.g. {leak['speakers']['examples']}" if leak["speakers"]["shared"] else ""),
    ]
    if rep.warnings:
        lines += ["", "warnings (nothing refused):"] + [f"  - {w}" for w in rep.warnings]
    return "\n".join(lines) + "\n"

"""Build the mini-Codecfake demo corpus: ``DIR/codec`` (Codecfake layout) and ``DIR/vocoder`` (ASVspoof 2019 LA layout).

``build_demo(out, size=..., seed=...)`` fetches real speech (``sources``), plans utterances and splits (``plan``),
renders them through the shared chain in worker processes (``render``; every output is a function of its
utterance and seed alone, so the audio is bit-identical whatever the worker count or scheduling) and writes label/protocol files, a
``speakers.tsv``, ``README.md``, ``SHA256SUMS`` (every audio file; ``sha256sum -c SHA256SUMS`` in ``DIR`` checks a copy)
and, last, a completion marker holding the parameters: a rerun with the same
parameters returns at once; different parameters over a complete corpus need ``force=True``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import multiprocessing as mp
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from codecfake.corpus.build.chain import ChainConfig
from codecfake.corpus.build.codecs import DEFAULT_TABLE
from codecfake.corpus.build.plan import Utterance, plan
from codecfake.corpus.build.readme import write_readme
from codecfake.corpus.build.render import render_codec_item, render_vocoder_item
from codecfake.corpus.build.sources import fetch, list_clips, list_real_dir
from codecfake.corpus.build.vocoders import available_attacks
from codecfake.corpus.manifest import ManifestError

log = logging.getLogger(__name__)
MARKER = ".complete.json"
VERSION = 2  # 2: pinned sources, split counts, order-free Codec 2 and WORLD
SUMS = "SHA256SUMS"


def _write_audio(path: Path, x: np.ndarray, fmt: str, base: Path) -> tuple[str, str]:
    """Write 16-bit audio; returns (path relative to the corpus folder, sha256 of the file's bytes)."""
    buf = io.BytesIO()
    sf.write(buf, x, 16000, subtype="PCM_16", format=fmt)
    data = buf.getvalue()
    path.write_bytes(data)
    return str(path.relative_to(base)), hashlib.sha256(data).hexdigest()


_LA = {"train": ("train", "trn", "T"), "dev": ("dev", "trl", "D"), "test": ("eval", "trl", "E")}
TRAIN_ATTACKS = (
    "A01",
    "A02",
    "A03",
    "A04",
)  # A05 (festival) appears only in the test split, like ASVspoof's eval


@dataclass(frozen=True)
class DemoParams:
    """Everything that changes the corpus; stored in the completion marker."""

    size: str = "default"
    seed: int = 688
    real_dir: str = ""
    table: dict = field(default_factory=lambda: dict(DEFAULT_TABLE))
    chain: ChainConfig = field(default_factory=ChainConfig)
    version: int = VERSION

    def as_json(self) -> dict:
        return asdict(self)


def is_complete(out: Path, params: DemoParams) -> bool:
    """True when ``out`` holds a finished corpus built with exactly ``params``."""
    marker = out / MARKER
    return marker.is_file() and json.loads(marker.read_text()).get("params") == json.loads(
        json.dumps(params.as_json())
    )


def _codec_job(args: tuple) -> tuple[Utterance, dict[str, np.ndarray]]:
    utt, table, cfg, seed = args
    conds = {c: s for c, s in table.items() if utt.split == "test" or c != "C7"}
    return utt, render_codec_item(utt, conds, cfg, seed)


def _vocoder_job(args: tuple) -> tuple[Utterance, dict[str, np.ndarray]]:
    utt, attacks, cfg, seed = args
    return utt, render_vocoder_item(utt, attacks, cfg, seed)


def _vocoder_attacks(index: int, split: str, available: list[str]) -> list[str]:
    """Copy-synthesis attacks always, plus one TTS engine in rotation (festival only in test)."""
    copy = [a for a in ("A01", "A02") if a in available]
    tts = [a for a in ("A05", "A03", "A04") if a in available and (split == "test" or a in TRAIN_ATTACKS)]
    return copy + ([tts[index % len(tts)]] if tts else [])


def build_demo(
    out: str | Path,
    *,
    size: str = "default",
    seed: int = 688,
    real_dir: str | Path | None = None,
    cache: str | Path = "cache",
    workers: int = 2,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Build (or reuse) the demo corpus in ``out``; ``progress(done, total)`` is called after each utterance."""
    out = Path(out)
    params = DemoParams(size=size, seed=seed, real_dir=str(real_dir or ""))
    if is_complete(out, params) and not force:
        log.info("demo corpus in %s is complete for these parameters; reusing it", out)
        return out
    if (out / MARKER).is_file() and not force and not _older_version(out / MARKER):
        raise ManifestError(
            f"{out} holds a demo corpus built with other parameters ({(out / MARKER).read_text()[:200]}…); "
            f"rerun with --force to replace it, or choose another --out"
        )
    for sub in ("codec", "vocoder", SUMS, MARKER):
        p = out / sub
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    clips = list_real_dir(Path(real_dir)) if real_dir else list_clips(fetch(Path(cache)))
    codec_utts, voc_utts = plan(clips, size, seed)
    attacks = available_attacks()
    avail = sorted(attacks)
    cfg = params.chain
    jobs_c = [(u, params.table, cfg, seed * 100003 + i) for i, u in enumerate(codec_utts)]
    per_split: dict[str, int] = {}
    jobs_v = []
    for i, u in enumerate(voc_utts):
        k = per_split[u.split] = per_split.get(u.split, -1) + 1
        jobs_v.append((u, _vocoder_attacks(k, u.split, avail), cfg, seed * 100003 + 50000 + i))
    total, done = len(jobs_c) + len(jobs_v), 0
    log.info(
        "rendering %d codec-domain and %d vocoder-domain utterances (%s) with %d worker(s)",
        len(jobs_c),
        len(jobs_v),
        ", ".join(sorted(attacks)),
        workers,
    )
    codec_w, voc_w = _CodecWriter(out / "codec"), _LAWriter(out / "vocoder")
    # forkserver: no fork() of a possibly multi-threaded parent (torch, BLAS); workers import only the corpus modules
    ctx = mp.get_context("forkserver") if workers > 1 else None
    pool = ctx.Pool(workers) if ctx else None
    try:
        mapper = pool.imap if pool else map
        for utt, audio in mapper(_codec_job, jobs_c):
            codec_w.add(utt, audio)
            done += 1
            if progress:
                progress(done, total)
        for utt, audio in mapper(_vocoder_job, jobs_v):
            voc_w.add(utt, audio)
            done += 1
            if progress:
                progress(done, total)
    finally:
        if pool:
            pool.close()
            pool.join()
    codec_w.close(params.table)
    voc_w.close()
    all_utts = codec_utts + voc_utts
    (out / "codec" / "speakers.tsv").write_text(_speakers_tsv(all_utts))
    (out / "vocoder" / "speakers.tsv").write_text(_speakers_tsv(all_utts))
    write_readme(out, params, codec_utts, voc_utts, attacks, clips)
    sums = {**codec_w.sums, **voc_w.sums}
    (out / SUMS).write_text("".join(f"{h}  {p}\n" for p, h in sorted(sums.items())))
    (out / MARKER).write_text(
        json.dumps(
            {"params": params.as_json(), "n_codec_reals": len(codec_utts), "n_vocoder_reals": len(voc_utts)},
            indent=1,
        )
    )
    return out


def _older_version(marker: Path) -> bool:
    """A corpus of an older builder version is rebuilt without --force (it is derived data; the parameters agree)."""
    version = json.loads(marker.read_text()).get("params", {}).get("version", 0)
    if version < VERSION:
        log.warning(
            "%s was built by corpus builder version %s (now %d: order-free Codec 2 and WORLD, new split "
            "sizes); rebuilding it",
            marker.parent,
            version,
            VERSION,
        )
    return version < VERSION


def _speakers_tsv(utts: list[Utterance]) -> str:
    rows = sorted({(u.speaker, u.language or "unknown", u.source) for u in utts})
    return "speaker\tlanguage\tsource\n" + "".join(f"{s}\t{lang}\t{src}\n" for s, lang, src in rows)


class _CodecWriter:
    """Codecfake layout: ``train/``, ``dev/`` with reals and ``F0k_`` fakes; ``test/Ck/`` per condition."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lines: dict[str, list[str]] = {}
        self.sums: dict[str, str] = {}  # path relative to the corpus folder -> sha256

    def _write(self, part: str, fname: str, x: np.ndarray, label: str, method: str) -> None:
        d = self.root / (part if part in ("train", "dev") else f"test/{part}")
        d.mkdir(parents=True, exist_ok=True)
        rel, digest = _write_audio(d / fname, x, "WAV", self.root.parent)
        self.sums[rel] = digest
        self.lines.setdefault(part, []).append(f"{fname} {label} {method}")

    def add(self, utt: Utterance, audio: dict[str, np.ndarray]) -> None:
        conds = [c for c in audio if c != "real"]
        if utt.split in ("train", "dev"):
            self._write(utt.split, f"{utt.name}.wav", audio["real"], "real", "0")
            for c in conds:
                self._write(utt.split, f"F0{c[1:]}_{utt.name}.wav", audio[c], "fake", c[1:])
        else:
            for c in conds:
                self._write(c, f"{utt.name}.wav", audio["real"], "real", "0")
                self._write(c, f"F0{c[1:]}_{utt.name}.wav", audio[c], "fake", c[1:])

    def close(self, table: dict) -> None:
        (self.root / "label").mkdir(parents=True, exist_ok=True)
        for part in ("train", "dev", *sorted(table)):
            (self.root / "label" / f"{part}.txt").write_text(
                "".join(f"{ln}\n" for ln in self.lines.get(part, []))
            )


class _LAWriter:
    """ASVspoof 2019 LA layout: ``ASVspoof2019_LA_<part>/flac/LA_<T|D|E>_<7 digits>.flac`` + CM protocols."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lines: dict[str, list[str]] = {s: [] for s in _LA}
        self.counter = 1000001
        self.sums: dict[str, str] = {}

    def add(self, utt: Utterance, audio: dict[str, np.ndarray]) -> None:
        part, _, letter = _LA[utt.split]
        d = self.root / f"ASVspoof2019_LA_{part}" / "flac"
        d.mkdir(parents=True, exist_ok=True)
        for key, x in audio.items():
            fid = f"LA_{letter}_{self.counter}"
            self.counter += 1
            rel, digest = _write_audio(d / f"{fid}.flac", x, "FLAC", self.root.parent)
            self.sums[rel] = digest
            attack, label = ("-", "bonafide") if key == "real" else (key, "spoof")
            self.lines[utt.split].append(f"{utt.speaker} {fid} - {attack} {label}")

    def close(self) -> None:
        proto = self.root / "ASVspoof2019_LA_cm_protocols"
        proto.mkdir(parents=True, exist_ok=True)
        for split, (part, ext, _) in _LA.items():
            (proto / f"ASVspoof2019.LA.cm.{part}.{ext}.txt").write_text(
                "".join(f"{ln}\n" for ln in self.lines[split])
            )

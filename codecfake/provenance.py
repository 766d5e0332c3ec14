"""What made a piece of data: package version, git commit, library versions, command line, time, host.

One builder for every artefact that records its origin (feature sets' attributes, runs' ``provenance.json``); each
adds its own fields (the spec, the training sets) beside ``environment()``. A leaf module: imports nothing of ours.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["dist_version", "package_version", "git_commit", "library_versions", "cpu", "environment"]

# environment variables that choose the CPU code paths of torch's kernels, oneDNN and MKL, and their thread count:
# results are bit-reproducible only where these (and the CPU model) agree (docs/paper-fidelity.md, Reproducibility)
NUMERICS_ENV = (
    "ATEN_CPU_CAPABILITY",
    "ONEDNN_MAX_CPU_ISA",
    "MKL_CBWR",
    "MKL_ENABLE_INSTRUCTIONS",
    "OMP_NUM_THREADS",
)

_REPO = Path(__file__).resolve().parent.parent  # the checkout holding codecfake/ (editable install)


def dist_version(dist: str) -> str | None:
    """Installed version of distribution ``dist``, None when it is not installed."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def package_version() -> str:
    """Installed version of codecfake ("" when run from a bare checkout)."""
    return dist_version("codecfake") or ""


def git_commit(repo: Path | None = None) -> str:
    """The checkout's HEAD commit (``+dirty`` when tracked files changed), or "" outside git."""
    repo = repo or _REPO
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("+dirty" if dirty else "")


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries that shape stored features and trained weights (None: not installed)."""
    return {
        "python": platform.python_version(),
        "numpy": dist_version("numpy"),
        "zarr": dist_version("zarr"),
        "numcodecs": dist_version("numcodecs"),
        "torch": dist_version("torch"),
        "transformers": dist_version("transformers"),
        "codecfake": dist_version("codecfake"),
    }


def cpu() -> dict[str, Any]:
    """The CPU model (Linux: /proc/cpuinfo), logical cores, and the numerics variables that are set."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env = {k: os.environ[k] for k in NUMERICS_ENV if k in os.environ}
    return {"model": model, "cores": os.cpu_count(), "numerics_env": env}


def environment() -> dict[str, Any]:
    """The shared provenance fields: package version, git commit, versions, command, UTC creation time, host."""
    return {
        "package_version": package_version(),
        "git_commit": git_commit(),
        "versions": library_versions(),
        "command": list(sys.argv),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu": cpu(),
    }

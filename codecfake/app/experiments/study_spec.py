"""The study keys of a matrix file (``[matrix]`` beyond the paper layout), checked when the file is read:
held-out runs (``loo_seeds``, ``loo_generators``), the robustness sweep, named groups of conditions and findings.

```toml
[matrix]
groups = { seen = ["C1", "C2", "C3", "C4", "C5", "C6"] }     # named means over conditions
findings = [
  { title = "RawBoost, codec-trained", base = "codec-trained, no augmentation", other = "codec-trained, RawBoost",
    measures = ["C7", "loo-mean", "robust-mean", "robust-worst", "seen"] },
]
```

What the findings measure and how their verdicts are reached: ``matrix_findings.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from codecfake.app.experiments.errors import MatrixError

__all__ = ["FindingSpec", "MEASURES", "parse_findings", "parse_groups", "study_keys"]

MEASURES = ("loo-mean", "robust-mean", "robust-worst")
_FINDING_KEYS = {"title": str, "base": str, "other": str, "measures": list, "note": str}


@dataclass(frozen=True)
class FindingSpec:
    title: str
    base: str  # row name
    other: str
    measures: tuple[str, ...]
    note: str = ""


def parse_groups(raw: Mapping[str, Any], path: Path) -> dict[str, tuple[str, ...]]:
    out = {}
    for name, members in raw.items():
        if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
            raise MatrixError(
                f"{path}: [matrix] groups.{name} must be a list of condition names, found {members!r}"
            )
        if name in MEASURES:
            raise MatrixError(f"{path}: [matrix] groups.{name}: the name is a built-in measure")
        out[name] = tuple(members)
    return out


def parse_findings(
    raw: Sequence[Any], rows: Sequence[str], groups: Mapping[str, Any], sweep: bool, path: Path
) -> tuple[FindingSpec, ...]:
    out = []
    for k, f in enumerate(raw):
        where = f"[matrix] findings #{k + 1}"
        if not isinstance(f, Mapping):
            raise MatrixError(f"{path}: {where} must be a table, found {f!r}")
        unknown = sorted(set(f) - set(_FINDING_KEYS))
        missing = [key for key in ("title", "base", "other", "measures") if key not in f]
        if unknown or missing:
            raise MatrixError(f"{path}: {where}: unknown keys {unknown}, missing {missing}")
        for key, kind in _FINDING_KEYS.items():
            if key in f and not isinstance(f[key], kind):
                raise MatrixError(f"{path}: {where} {key} = {f[key]!r} must be {kind.__name__}")
        for key in ("base", "other"):
            if f[key] not in rows:
                raise MatrixError(
                    f"{path}: {where} {key} = {f[key]!r} is no row of the matrix; rows: {list(rows)}"
                )
        for m in f["measures"]:
            if m in ("robust-mean", "robust-worst") and not sweep:
                raise MatrixError(f'{path}: {where} measure {m!r} needs [matrix] robustness = "…"')
            if not isinstance(m, str) or not m:
                raise MatrixError(f"{path}: {where} measures must be names, found {m!r}")
        out.append(FindingSpec(f["title"], f["base"], f["other"], tuple(f["measures"]), f.get("note", "")))
    return tuple(out)


def study_keys(top: Mapping[str, Any], tables: Sequence[Any], path: Path) -> dict[str, Any]:
    """The leave-one-out, robustness, findings and page keys of ``[matrix]``, checked."""
    gens = top.get("loo_generators", [])
    if not all(isinstance(g, str) and g for g in gens):
        raise MatrixError(
            f"{path}: [matrix] loo_generators must be generator names (C1, A01 …), found {gens!r}"
        )
    if top.get("loo_seeds", 0) < 0:
        raise MatrixError(f"{path}: [matrix] loo_seeds = {top['loo_seeds']} must be 0 (every seed) or more")
    degrade = top.get("robustness", "")
    if degrade:
        from codecfake.augment.errors import AugmentError
        from codecfake.augment.recipe import parse_degrade

        try:
            parse_degrade(degrade)
        except AugmentError as err:
            raise MatrixError(f"{path}: [matrix] robustness = {degrade!r}: {err}") from None
    groups = parse_groups(top.get("groups", {}), path)
    rows = [c.row for t in tables for c in t.cells]
    return {
        "loo_seeds": top.get("loo_seeds", 0),
        "loo_generators": tuple(f"C{g}" if g.isdigit() else g for g in gens),
        "robustness": degrade,
        "groups": MappingProxyType(groups),
        "findings": parse_findings(top.get("findings", []), rows, groups, bool(degrade), path),
        "page": top.get("page", ""),
        "note": top.get("note", ""),
    }

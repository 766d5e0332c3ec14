"""Leave generators out of training: ``--hold-out C3`` (``HOLD_OUT=C3``) drops that generator's fakes from the train
and dev rows (bona fide kept), so the run can be tested on a generator it never saw.

A generator is named as the manifest names it (the per-clip ``method`` metadata, else the condition of spoof rows):
Codecfake's and the demo's codec fakes carry method ``"1"``..``"7"`` and may be given as ``C1``..``C7`` (or the
digit); ASVspoof 2019 LA's attacks ``A01``..``A06`` (the demo's vocoder domain has ``A01``..``A04``). A name that
matches no training fake is refused with the generators the sets hold. Dev fakes of a held-out generator leave too:
model selection must not see it either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from codecfake.train.errors import HoldOutError


def generators(meta: Mapping[str, np.ndarray]) -> np.ndarray:
    """(N,) generator name per clip: the ``method`` (``C<k>`` for a digit, as Codecfake's conditions are named), else
    the condition; "" for bona fide."""
    label = np.asarray(meta["label"]).astype(np.int64)
    raw = np.asarray(meta["method"] if "method" in meta else meta["condition"]).astype(str)
    named = np.array([f"C{m}" if m.isdigit() else m for m in raw.tolist()], dtype=object)
    return np.where(label == 1, named, "").astype(object)


def _canonical(name: str) -> str:
    return f"C{name}" if name.isdigit() else name


def held_out_mask(meta: Mapping[str, np.ndarray], hold_out: Sequence[str]) -> np.ndarray:
    """(N,) True for the spoof clips of a held-out generator (bona fide never)."""
    if not hold_out:
        return np.zeros(len(meta["label"]), dtype=bool)
    return np.isin(generators(meta), [_canonical(g) for g in hold_out])


def check_hold_out(metas: Sequence[Mapping[str, np.ndarray]], hold_out: Sequence[str], source: str) -> None:
    """Refuse a held-out name that no training fake carries (a typo would silently hold out nothing)."""
    if not hold_out:
        return
    found: set[str] = set()
    for meta in metas:
        train = np.asarray(meta["split"]) == "train"
        found |= set(generators(meta)[train].tolist()) - {""}
    missing = [g for g in hold_out if _canonical(g) not in found]
    if missing:
        raise HoldOutError(
            f"--hold-out {','.join(hold_out)}: no training fakes of {missing} in {source}; the training sets' "
            f"generators are {', '.join(sorted(found)) or 'none'} (HOLD_OUT=C3 or A01 …)"
        )
    if found <= {_canonical(g) for g in hold_out}:
        raise HoldOutError(
            f"--hold-out {','.join(hold_out)} removes every training generator of {source}; keep at least one"
        )


def assert_never_held_out(
    metas: Sequence[Mapping[str, np.ndarray]], rows: Sequence[np.ndarray], hold_out: Sequence[str]
) -> None:
    """Guard after the split is made: no chosen row (``rows[s]``: row indices into set s) is a held-out fake."""
    for meta, idx in zip(metas, rows, strict=True):
        leaked = held_out_mask(meta, hold_out)[idx]
        if leaked.any():
            first = np.asarray(meta["utt_id"])[idx[np.flatnonzero(leaked)[0]]]
            raise HoldOutError(
                f"{int(leaked.sum())} fakes of held-out generators {list(hold_out)} reached the training data "
                f"(first: {first}); this is a bug in the row filter"
            )

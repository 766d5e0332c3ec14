"""Training on stored augmented variants: each epoch, every training clip is read as one of its variants.

``--augment rawboost:3,codec:2`` (the same text ``codecfake augment`` extracted) names K = 5 variant *slots*; for
each clean training set the store holds one variant set per slot (``spec.augment``: recipe, index, seed, the clean
key). The sampler still draws positions 0..n-1 of the clean training clips, so batches stay exact-uniform and
CSAM's per-domain counts hold; what changes is which stored copy a position is read from in a given epoch:

- ``clean_prob < 0`` (default): uniform over the clip's copies, clean included (1 + the slots that hold it);
- ``0 <= clean_prob <= 1``: clean with that probability, else uniform over the variants it has.

The draw is a pure function of (seed, epoch, the copies each clip has), so a resumed run reads the same copies. A
slot lacks a clip where its recipe does not apply (codec on Codecfake bona fide: ``on=auto``) or where the variant
was rejected at extraction; that clip then draws among the copies it has.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from codecfake.augment.recipe import AugmentRequest, applies_to, parse_augment
from codecfake.train.errors import VariantsMissing
from codecfake.train.input_arrays import has_arrays, valid_mask

log = logging.getLogger(__name__)


@dataclass
class VariantTable:
    """Where each training position's variants live: ``(n, K)`` arrays over the K slots."""

    sets: list[Any]  # variant feature sets; their readers follow the clean sets' in TrainingData.readers()
    set_index: np.ndarray  # (n, K) int64: index into `sets`, -1 where the slot lacks the clip
    local: np.ndarray  # (n, K) int64: row in that variant set
    slots: list[str]  # "rawboost#0", "codec#1", …
    clean_prob: float
    seed: int
    x: np.ndarray | None = None  # memory mode: (n + variant rows, *input shape), clean train rows first
    rows: np.ndarray | None = None  # memory mode: (n, K) row of each variant in `x`

    @property
    def n_variant_clips(self) -> int:
        return int((self.set_index >= 0).sum())

    def draw(self, epoch: int) -> np.ndarray:
        """(n,) slot read by each position in ``epoch``: -1 = clean, else 0..K-1."""
        have = self.set_index >= 0  # (n, K)
        n_var = have.sum(axis=1)
        rng = np.random.default_rng([self.seed, epoch, 0xA06])
        u, v = rng.random(len(have)), rng.random(len(have))
        if self.clean_prob < 0:
            pick = np.floor(u * (n_var + 1)).astype(np.int64) - 1  # -1 = clean, else the pick-th copy it has
        else:
            pick = np.where((u < self.clean_prob) | (n_var == 0), -1, np.floor(v * n_var).astype(np.int64))
        order = np.cumsum(have, axis=1)  # (n, K): the j-th available slot is the first k with order == j + 1
        slot = np.argmax(order > pick[:, None].clip(min=0), axis=1)
        return np.where(pick < 0, -1, slot)

    def describe(self) -> dict[str, Any]:
        return {"slots": self.slots, "clean_prob": self.clean_prob, "variant_clips": self.n_variant_clips}


def _matches(fs: Any, clean_key: str, req: AugmentRequest, index: int, seed: int) -> bool:
    aug = dict(fs.spec.augment)
    return (
        aug.get("role") == "augment"
        and aug.get("of") == clean_key
        and aug.get("index") == index
        and aug.get("seed") == seed
        and {"family": aug.get("family"), "params": aug.get("params")} == _json(req.recipe.to_dict())
        and "train" in aug.get("rows", {}).get("splits", [])
    )


def _json(d: dict) -> dict:
    """The recipe as the store gives it back (tuples as lists)."""
    import json

    return json.loads(json.dumps(d))


def _applies(fs: Any, req: AugmentRequest) -> bool:
    meta = fs.meta
    train = np.flatnonzero(meta["split"] == "train")
    labels = np.asarray(meta["label"])[train]
    return any(applies_to(req.recipe, str(d), int(y)) for d, y in zip(meta["domain"][train], labels))


def find_variants(store: Any, data: Any, augment: str, seed: int, clean_prob: float) -> VariantTable:
    """The variant sets of ``data``'s training sets for ``augment``; refuses a missing or incomplete one."""
    requests = parse_augment(augment)
    slots = [(req, i) for req in requests for i in range(req.count)]
    variants = [fs for fs in (store.open(k) for k in store.keys()) if fs.spec.is_variant]
    n, k = len(data.train), len(slots)
    set_index = np.full((n, k), -1, dtype=np.int64)
    local = np.full((n, k), -1, dtype=np.int64)
    chosen: list[Any] = []
    for s, clean in enumerate(data.sets):
        pos = np.flatnonzero(data.train.set_index == s)
        if not pos.size:
            continue
        row_of = {u: i for i, u in enumerate(clean.meta["utt_id"].tolist())}
        pos_of = dict(zip(data.train.local[pos].tolist(), pos.tolist()))
        for j, (req, index) in enumerate(slots):
            found = [fs for fs in variants if _matches(fs, clean.key, req, index, seed)]
            if not found:
                if not _applies(clean, req):
                    continue
                raise VariantsMissing(
                    f"{store.root_str}: training set {clean.key} has no variant {req.recipe.family}#{index} (seed "
                    f"{seed}); extract it with `make features AUGMENT={augment}` (codecfake augment --augment "
                    f"{augment} … --augment-seed {seed}, the same data options as its features)"
                )
            fs = found[0]
            if not has_arrays(fs, data.array):
                raise VariantsMissing(
                    f"variant set {fs.key} lacks array {data.array}; extract it with the same LAYERS="
                )
            for name in data.array.split("+"):
                fs.require_complete(name)
            ok = valid_mask(fs, data.array)
            chosen.append(fs)
            for r, utt in enumerate(fs.meta["utt_id"].tolist()):
                p = pos_of.get(row_of.get(utt, -1))
                if p is not None and ok[r]:
                    set_index[p, j], local[p, j] = len(chosen) - 1, r
    table = VariantTable(
        chosen, set_index, local, [f"{r.recipe.family}#{i}" for r, i in slots], clean_prob, seed
    )
    log.info(
        "augmented training: %d variant sets, %d variant clips over %d training clips (slots %s; %s)",
        len(chosen),
        table.n_variant_clips,
        n,
        ", ".join(table.slots),
        "uniform over each clip's copies, clean included" if clean_prob < 0 else f"clean with p={clean_prob}",
    )
    return table


def missing_variants(store_sets: Any, clean_sets: Any, augment: str, seed: int) -> list[str]:
    """The variant slots ``augment`` needs of ``clean_sets`` that ``store_sets`` lack ("KEY: rawboost#2"); the
    check :func:`find_variants` makes, without reading a variant (an experiment matrix asks it before training)."""
    variants = [fs for fs in store_sets if fs.spec.is_variant]
    return [
        f"{clean.key}: {req.recipe.family}#{i}"
        for clean in clean_sets
        for req in parse_augment(augment)
        for i in range(req.count)
        if _applies(clean, req) and not any(_matches(fs, clean.key, req, i, seed) for fs in variants)
    ]


def epoch_split(data: Any, epoch: int) -> Any:
    """``data.train`` as read in ``epoch``: each position pointed at the copy drawn for it (same labels, domains)."""
    table = data.variants
    if table is None:
        return data.train
    slot = table.draw(epoch)
    picked = np.flatnonzero(slot >= 0)
    split = replace(data.train)
    if table.x is not None:  # memory: rows into one array holding the clean rows and every variant row
        rows = np.arange(len(split), dtype=np.int64)
        rows[picked] = table.rows[picked, slot[picked]]
        return replace(split, x=table.x, rows=rows)
    set_index, local = split.set_index.copy(), split.local.copy()
    set_index[picked] = len(data.sets) + table.set_index[picked, slot[picked]]
    local[picked] = table.local[picked, slot[picked]]
    return replace(split, set_index=set_index, local=local)


def load_variants_into_memory(data: Any, chunk: int = 256) -> None:
    """Memory mode: one array with the clean training rows (already in ``data.train.x``) and every variant row."""
    from codecfake.train.input_arrays import open_reader

    table = data.variants
    n = len(data.train)
    have = np.argwhere(table.set_index >= 0)  # (m, 2): position, slot
    out = np.empty((n + len(have), *data.input_shape), dtype=data.train.x.dtype)
    out[:n] = data.train.x
    rows = np.full(table.set_index.shape, -1, dtype=np.int64)
    rows[have[:, 0], have[:, 1]] = n + np.arange(len(have))
    for s, fs in enumerate(table.sets):
        reader = open_reader(fs, data.array)
        sel = np.flatnonzero(table.set_index[have[:, 0], have[:, 1]] == s)
        sel = sel[np.argsort(table.local[have[sel, 0], have[sel, 1]], kind="stable")]  # sequential reads
        for i in range(0, len(sel), chunk):
            part = sel[i : i + chunk]
            out[n + part] = reader.batch(table.local[have[part, 0], have[part, 1]])
    data.train.x = out[:n]
    table.x, table.rows = out, rows


def label_notes(config: Any, data: Any) -> tuple[str, ...]:
    """config.json's ``augment_labels``: the label consequence of each augmentation on these training domains."""
    from codecfake.augment.recipe import label_consequence

    notes = []
    if config.augment:
        for req in parse_augment(config.augment):
            notes.append(f"{req.recipe.family}: {label_consequence(req.recipe, data.domains)}")
    if config.feataug:
        notes.append(
            "feataug: time/frequency masks preserve the labels; mixup trains on soft labels (lambda of one "
            "clip's class, 1 - lambda of its same-domain partner's)"
        )
    return tuple(notes)

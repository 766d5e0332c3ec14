"""Training data from the feature store: which sets, which clips, and batches of them.

Sets are given by key or found by the task's domains (vocoder / codec / both) through the per-clip ``domain`` metadata.
Clips are the rows with split "train" (training) and "dev" (model selection) whose features are valid (rejected clips
are skipped). Small sets are loaded into memory once as one float16 tensor (``data_mode`` memory/auto); larger ones are
read batch by batch through the store's zero-copy shard reader in a background thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from codecfake.store import FeatureSet, FeatureSetNotFound, FeatureStore
from codecfake.store.spec import EXTRACTOR_FIELDS as _MATCH_FIELDS
from codecfake.store.spec import extractor_fields
from codecfake.store.verify import check_shards
from codecfake.train.config import TrainConfig
from codecfake.train.errors import ExtractionMismatch, TrainDataError
from codecfake.train.holdout import assert_never_held_out, check_hold_out, held_out_mask
from codecfake.train.input_arrays import array_names, has_arrays, input_shape, open_reader, valid_mask

log = logging.getLogger(__name__)

TASK_DOMAINS = {
    "vocoder": ("vocoder",),
    "codec": ("codec",),
    "cotrain": ("codec", "vocoder"),
    "trace": ("codec", "vocoder"),
}


def _build_hint(domain: str) -> str:
    if domain == "codec":
        return "`make features` (DATA=demo builds mini-codecfake) or `make features DATA=codecfake ROOT=…`"
    if domain == "vocoder":
        return "`make features` (DATA=demo builds mini-19la) or `make features DATA=asvspoof2019 ROOT=…`"
    return "`make features DATA=… ROOT=…`"


def _train_domains(fs: FeatureSet) -> set[str]:
    meta = fs.meta
    return set(meta["domain"][meta["split"] == "train"].tolist())


def _fit_domains(fs: FeatureSet) -> set[str]:
    """Domains of the set's train and dev clips (a dataset split into parts has train and dev in different sets)."""
    meta = fs.meta
    return set(meta["domain"][np.isin(meta["split"], ("train", "dev"))].tolist())


def _open_keys(store: FeatureStore, keys: Sequence[str]) -> list[FeatureSet]:
    out = []
    for key in keys:
        try:
            out.append(store.open(key))
        except FeatureSetNotFound:
            raise TrainDataError(
                f"{store.root_str}: no feature set {key!r} (have: {store.keys() or 'none'}); "
                "build it with `make features` (see `make help`) or pick another FEATURES="
            ) from None
    return out


def _group_key(fs: FeatureSet) -> str:
    """Sets of one dataset (its parts) share the corpus and every extraction field (model, parameters, precision…)."""
    fields = extractor_fields(fs.spec)
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{fs.spec.corpus} ({fields.get('extractor')} {fields.get('model_id')}, extraction {digest})"


def find_sets(
    store: FeatureStore, config: TrainConfig, opened: Sequence[Any] | None = None
) -> list[FeatureSet]:
    """The feature sets to train on: ``config.features`` keys, or, per domain of ``config.task``, every set of the one
    corpus (one dataset, maybe split into one set per part) holding that domain's train/dev clips. ``opened``: the
    store's sets already open, or views of them with the same ``key``, ``spec``, ``arrays`` and ``meta`` (a caller
    checking many configurations reads each set's metadata once).

    Two corpora (or two extractions of one) for a domain are refused with the candidates: a demo set is never
    preferred over a real dataset, nor the other way round, without the user saying so (``FEATURES=KEY,KEY``)."""
    if config.features:
        return _open_keys(store, config.features)
    every = list(opened) if opened is not None else [store.open(k) for k in store.keys()]
    opened = [fs for fs in every if not fs.spec.is_variant]  # variants: --augment
    chosen: list[FeatureSet] = []
    for domain in TASK_DOMAINS[config.task]:
        cands = [
            fs
            for fs in opened
            if domain in _fit_domains(fs)
            and (not config.array or has_arrays(fs, config.array))
            and (not config.extractor or fs.spec.extractor == config.extractor)
        ]
        if not any(domain in _train_domains(fs) for fs in cands):
            raise TrainDataError(
                f"{store.root_str}: no feature set with training clips of domain {domain!r}"
                f"{' and extractor ' + repr(config.extractor) if config.extractor else ''}"
                f" (task {config.task}); build one with {_build_hint(domain)}"
            )
        groups: dict[str, list[FeatureSet]] = {}
        for fs in cands:
            groups.setdefault(_group_key(fs), []).append(fs)
        if len(groups) > 1:
            listing = "; ".join(
                f"{g}: {','.join(fs.key for fs in sets)}" for g, sets in sorted(groups.items())
            )
            first = next(iter(sorted(groups.items())))[1]
            other = [fs.key for fs in chosen]
            example = ",".join([*other, *(fs.key for fs in first)])
            raise TrainDataError(
                f"{store.root_str}: domain {domain!r} has training sets from {len(groups)} datasets "
                f"({listing}); say which to train on with FEATURES=KEY,KEY (make) or --features "
                f"KEY,KEY, e.g. FEATURES={example} plus the other domain's sets, or narrow the "
                "search with MODEL=/--extractor"
            )
        chosen.extend(next(iter(groups.values())))
    return list({fs.key: fs for fs in chosen}.values())


def _check_no_duplicates(sets: Sequence[FeatureSet]) -> None:
    """Two sets holding the same train/dev clip (a whole-corpus set beside its per-part sets) would count it twice."""
    seen: dict[str, str] = {}
    for fs in sets:
        meta = fs.meta
        for utt in meta["utt_id"][np.isin(meta["split"], ("train", "dev"))].tolist():
            if utt in seen:
                raise TrainDataError(
                    f"feature sets {seen[utt]} and {fs.key} both hold train/dev clip {utt!r}; "
                    "train on one of them: FEATURES=KEY,KEY (or remove the other with "
                    "`codecfake store rm KEY`)"
                )
            seen[utt] = fs.key


def common_array(sets: Sequence[FeatureSet], array: str) -> tuple[str, tuple[int, int]]:
    """The array name to train on and its (T, D); every set must have it complete with the same shape.

    A fused name ("L00+L05") needs each of its arrays so, all of one (T, D)."""
    if len(names := array_names(array)) > 1:
        shapes = {name: common_array(sets, name)[1] for name in names}
        if len(set(shapes.values())) != 1:
            raise TrainDataError(
                f"feature sets {[fs.key for fs in sets]}: the fused arrays have different frame "
                f"shapes {shapes}; fuse layers of one model"
            )
        return array, shapes[names[0]]
    shared = set.intersection(*(set(fs.arrays) for fs in sets))
    if not array:
        if len(shared) != 1:
            raise TrainDataError(
                f"feature sets {[fs.key for fs in sets]} share arrays {sorted(shared) or 'none'}; "
                "choose one with --array NAME (e.g. L05 or mel)"
            )
        array = next(iter(shared))
    frame_shapes: set[tuple[int, int]] = set()
    for fs in sets:
        if array not in fs.arrays:
            raise TrainDataError(
                f"feature set {fs.key} has no array {array!r} (has {fs.arrays}); extract it with "
                "`make features LAYERS=…` or choose --array"
            )
        fs.require_complete(array)
        frame_shapes.add(fs.frame_shape(array))
    if len(frame_shapes) != 1:
        raise TrainDataError(
            f"feature sets {[fs.key for fs in sets]} have different {array} frame shapes {frame_shapes}"
        )
    base = extractor_fields(sets[0].spec)
    for fs in sets[1:]:
        other = extractor_fields(fs.spec)
        diff = {
            k: v for k, v in sets[0].spec.differences(fs.spec).items() if k.split(".")[0] in _MATCH_FIELDS
        }
        if diff or any(base.get(k) != other.get(k) for k in _MATCH_FIELDS):
            raise ExtractionMismatch(
                f"feature sets {sets[0].key} and {fs.key} were extracted differently ({diff}); "
                "co-training needs the same extractor: re-extract one of them",
                diff,
            )
    return array, frame_shapes.pop()


@dataclass
class Split:
    """The clips of one split across the chosen sets; positions 0..n-1 index these arrays."""

    set_index: np.ndarray  # (n,) which set
    local: np.ndarray  # (n,) clip index within that set
    labels: np.ndarray  # (n,) int64, 0 bona fide / 1 spoof (task trace: class index, bona fide 0)
    domains: np.ndarray  # (n,) int64 into TrainingData.domains
    x: np.ndarray | None = None  # (n, T, D) float16 when loaded into memory (fused: (n, N, T, D))
    rows: np.ndarray | None = (
        None  # (n,) row of x per position when x holds augmented variants too (train/variants.py)
    )

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class TrainingData:
    sets: list[FeatureSet]
    array: str
    frame_shape: tuple[int, int]
    domains: list[str]  # sorted training-domain names
    train: Split
    dev: Split
    extractor: dict
    classes: tuple[
        str, ...
    ] = ()  # task trace: generator classes, "bonafide" first (train/trace_labels.py); () binary
    class_weights: tuple[
        float, ...
    ] = ()  # task trace: balanced CE weights per class; () -> config.class_weights
    variants: Any = None  # train/variants.py VariantTable with --augment: the stored variants of train clips

    def epoch_split(self, epoch: int) -> Split:
        """The training split as read in ``epoch`` (with variants: each clip's drawn copy; else ``train``)."""
        from codecfake.train.variants import epoch_split

        return epoch_split(self, epoch)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One clip as the model takes it: (T, D), or (N, T, D) for N fused layers (train/input_arrays.py)."""
        return input_shape(self.array, self.frame_shape)

    def readers(self) -> list:
        variant_sets = self.variants.sets if self.variants is not None else []
        return [
            open_reader(fs, self.array) for fs in [*self.sets, *variant_sets]
        ]  # fused: a StackedReader each


def _split(
    sets: Sequence[FeatureSet], array: str, name: str, domains: list[str], hold_out: Sequence[str] = ()
) -> Split:
    parts = []
    for s, fs in enumerate(sets):
        meta = fs.meta
        keep = (meta["split"] == name) & valid_mask(fs, array) & ~held_out_mask(meta, hold_out)
        idx = np.flatnonzero(keep)
        dom = meta["domain"][idx]
        dom_ids = np.array([domains.index(d) if d in domains else -1 for d in dom], dtype=np.int64)
        parts.append((np.full(len(idx), s), idx, np.asarray(meta["label"])[idx].astype(np.int64), dom_ids))
    cat = [np.concatenate(p) for p in zip(*parts)]
    return Split(cat[0].astype(np.int64), cat[1].astype(np.int64), cat[2], cat[3])


def load_training_data(store: FeatureStore, config: TrainConfig) -> TrainingData:
    """Find the sets, check them, and index their train/dev clips (nothing is loaded yet)."""
    sets = find_sets(store, config)
    _check_no_duplicates(sets)
    array, frame_shape = common_array(sets, config.array)
    domains = sorted(set().union(*(_train_domains(fs) for fs in sets)))
    needs_two = config.task == "cotrain" or config.needs_domains
    if needs_two and len(domains) < 2:
        raise TrainDataError(
            f"task {config.task} with optimiser {config.opt} needs two training domains, but "
            f"{[fs.key for fs in sets]} hold only {domains}; add the other domain's set "
            "(--features KEY,KEY; e.g. `make features` builds both demo sets) or use --task/--opt adam"
        )
    check_hold_out([fs.meta for fs in sets], config.hold_out, f"{[fs.key for fs in sets]}")
    train = _split(sets, array, "train", domains, config.hold_out)
    dev = _split(sets, array, "dev", domains, config.hold_out)
    for split in (train, dev):  # the guard is independent of the filter above: a wrong filter fails here
        assert_never_held_out(
            [fs.meta for fs in sets],
            [split.local[split.set_index == s] for s in range(len(sets))],
            config.hold_out,
        )
    for split_name, split in (("train", train), ("dev", dev)):
        if len(split) < 2:
            raise TrainDataError(
                f"feature sets {[fs.key for fs in sets]}: {len(split)} valid {split_name} clips in "
                f"array {array}; the corpus needs train and dev splits"
            )
        if split_name == "train" and len(set(split.labels.tolist())) < 2:
            raise TrainDataError(f"feature sets {[fs.key for fs in sets]}: train split has one class only")
    for s, fs in enumerate(sets):  # a shard changed on disk since it was written is refused before training
        clips = np.concatenate([train.local[train.set_index == s], dev.local[dev.set_index == s]])
        for name in array_names(array):
            check_shards(fs, name, clips)
    classes: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    if config.task == "trace":
        from codecfake.train.trace_labels import relabel_for_trace

        train, dev, classes, weights = relabel_for_trace(sets, train, dev, config.trace_level)
    data = TrainingData(
        list(sets), array, frame_shape, domains, train, dev, extractor_fields(sets[0].spec), classes, weights
    )
    if config.augment:  # stored variants of the training clips (train/variants.py)
        from codecfake.train.variants import find_variants

        data.variants = find_variants(store, data, config.augment, config.augment_seed, config.clean_prob)
        for fs in data.variants.sets:  # read too: checked like the clean sets
            for name in array_names(array):
                check_shards(fs, name)
    return data


def load_into_memory(data: TrainingData, split: Split, chunk: int = 256) -> None:
    """Read every clip of `split` once into one (n, T, D) (fused: (n, N, T, D)) float16 array."""
    readers = data.readers()
    out = np.empty(
        (len(split), *data.input_shape), dtype=data.sets[0].dtype
    )  # float16, or float32 (power mel)
    for s, reader in enumerate(readers):
        pos = np.flatnonzero(split.set_index == s)
        order = pos[np.argsort(split.local[pos], kind="stable")]  # ascending offsets: sequential reads
        for i in range(0, len(order), chunk):
            sel = order[i : i + chunk]
            out[sel] = reader.batch(split.local[sel])
    split.x = out


def fetch(data: TrainingData, split: Split, positions: np.ndarray, readers: list) -> tuple[torch.Tensor, ...]:
    """Clips at `positions`: x (B, T, D) float16 (fused: (B, N, T, D)), labels (B,) int64, domains (B,) int64.

    x stays float16 until it reaches the device (half the bytes to copy; the step casts it to float32 there)."""
    positions = np.asarray(positions, dtype=np.int64)
    if split.x is not None:
        rows = positions if split.rows is None else split.rows[positions]
        x = torch.from_numpy(split.x[rows])  # (B, T, D) fp16; numpy gather beats torch's fp16 index_select
    else:
        buf = np.empty((len(positions), *data.input_shape), dtype=data.sets[0].dtype)
        for s, reader in enumerate(readers):
            sel = np.flatnonzero(split.set_index[positions] == s)
            if len(sel) == len(positions):  # one set: its reads land in the batch buffer (no extra copy)
                reader.batch(split.local[positions], out=buf)
            elif len(sel):
                buf[sel] = reader.batch(split.local[positions[sel]])
        x = torch.from_numpy(buf)
    return x, torch.from_numpy(split.labels[positions]), torch.from_numpy(split.domains[positions])


class Prefetcher:
    """Yields ``fetch`` results for `batches` from a background thread; ``wait_s`` is time spent blocked on it."""

    def __init__(self, data: TrainingData, split: Split, batches: Sequence[np.ndarray], depth: int = 3):
        self.wait_s = 0.0
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        readers = data.readers() if split.x is None else []
        self._thread = threading.Thread(
            target=self._run, args=(data, split, list(batches), readers), daemon=True
        )
        self._thread.start()

    def _run(self, data: TrainingData, split: Split, batches: list[np.ndarray], readers: list) -> None:
        try:
            for b in batches:
                if self._stop.is_set():
                    return
                self._queue.put(fetch(data, split, b, readers))
            self._queue.put(None)
        except BaseException as err:  # hand the error to the consumer
            self._queue.put(err)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        while True:
            t0 = time.perf_counter()
            item = self._queue.get()
            self.wait_s += time.perf_counter() - t0
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get_nowait()
            except queue.Empty:
                self._thread.join(timeout=0.05)

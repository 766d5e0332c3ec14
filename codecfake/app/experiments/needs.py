"""Before any training: is every feature set the matrix's runs read in the store? Which ``make features`` makes each
one that is not?

A run reads the training sets ``codecfake train`` would choose for its task and extractor (the same search,
``train.data.find_sets``, over the store's sets opened once) and is evaluated on every test set of the same
extraction; each column of its table (19LA, ITW, C1…C7) must be among those sets' conditions. Runs that need the
same data are checked once, so planning a 1.1 M-clip store takes seconds. A missing set is named with the command
that makes it (the dataset root taken from a set of the same corpus already in the store, when there is one).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codecfake.app.experiments.plan import Plan, PlannedRun
from codecfake.errors import CodecfakeError

log = logging.getLogger(__name__)

AVERAGES = ("CAVG", "AVG")
# Paper data: which `make features` makes a training domain's or a test column's set (DATA=, PARTS=).
_PAPER_DOMAIN = {"codec": ("codecfake", "train,dev"), "vocoder": ("asvspoof2019", "train,dev")}
_ROOT_HINT = {
    "codecfake": "/path/to/Codecfake",
    "asvspoof2019": "/path/to/LA",
    "itw": "/path/to/release_in_the_wild",
}
_CORPUS_OF_DATA = {"codecfake": "codecfake", "asvspoof2019": "asvspoof2019la", "itw": "itw"}


class MissingFeatureSets(CodecfakeError):
    """Feature sets the matrix's runs need are not in the store (each named with the command that makes it)."""


@dataclass(frozen=True)
class Missing:
    """One thing the store lacks: ``what`` (e.g. "xlsr L05 test sets for C7"), the runs that need it, the fix."""

    what: str
    runs: tuple[str, ...]
    command: str


@dataclass
class NeedsReport:
    missing: list[Missing] = field(default_factory=list)
    problems: list[str] = field(
        default_factory=list
    )  # found, but unusable (ambiguous, incomplete): train's words
    training_sets: dict[str, tuple[str, ...]] = field(default_factory=dict)  # run name -> keys it trains on
    n_sets: int = 0

    @property
    def ok(self) -> bool:
        return not self.missing and not self.problems

    def text(self) -> str:
        lines = []
        for m in self.missing:
            shown = ", ".join(m.runs[:3]) + (f" and {len(m.runs) - 3} more" if len(m.runs) > 3 else "")
            lines.append(f"  missing {m.what} (for {shown}):\n    {m.command}")
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


CHECKED_COLUMNS = ("split", "domain", "label", "condition", "method")  # the metadata the checks read


class LightSet:
    """A feature set whose ``meta`` holds only :data:`CHECKED_COLUMNS`, each read once when first asked for: the
    clip ids and speakers of a 1.1 M-clip set (most of its metadata bytes) are never loaded. Everything else is the
    set's own."""

    def __init__(self, fs: Any) -> None:
        self._fs = fs
        self._meta: dict[str, np.ndarray] | None = None

    @property
    def meta(self) -> dict[str, np.ndarray]:
        if self._meta is None:
            present = self._fs.meta_lengths()
            self._meta = {}
            for name in CHECKED_COLUMNS:
                if name in present:
                    a = np.asarray(self._fs.group[name][:])
                    self._meta[name] = a if a.dtype.kind in "biuf" else a.astype(object)
        return self._meta

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fs, name)


class StoreIndex:
    """The store's feature sets, each opened once (metadata: the checked columns only), with what the checks ask of
    them (cached)."""

    def __init__(self, store: Any) -> None:
        from codecfake.store import FeatureStore

        self.store = store if isinstance(store, FeatureStore) else FeatureStore(store)
        self.sets = [LightSet(self.store.open(k)) for k in self.store.keys()]
        self._arrays: dict[str, frozenset[str]] = {}
        self._conditions: dict[str, tuple[str, ...]] = {}

    def complete_arrays(self, fs: Any) -> frozenset[str]:
        if fs.key not in self._arrays:
            self._arrays[fs.key] = frozenset(a for a in fs.arrays if fs.is_complete(a))
        return self._arrays[fs.key]

    def test_conditions(self, fs: Any) -> tuple[str, ...]:
        """The condition names of the set's test rows as evaluation reports them (C1…, 19LA, ITW)."""
        from codecfake.evaluate.conditions import group_test_rows

        if fs.key not in self._conditions:
            self._conditions[fs.key] = tuple(g.name for g in group_test_rows(fs.spec.corpus, fs.meta))
        return self._conditions[fs.key]

    def training_generators(self, sets: Sequence[Any]) -> list[str]:
        """The generators of the sets' training fakes, named as the hold-out option names them
        (``codecfake.train.holdout.generators``: the per-clip ``method``, ``C<k>`` for a digit, else the spoof rows'
        condition), in the paper's order."""
        from codecfake.evaluate.conditions import sort_conditions
        from codecfake.train.holdout import generators

        found: set[str] = set()
        for fs in sets:
            train = np.asarray(fs.meta["split"]) == "train"
            found |= set(generators(fs.meta)[train].tolist())
        return sort_conditions(sorted(found - {""}))


def _layers(array: str) -> str:
    digits = [a[1:] for a in array.split("+") if a.startswith("L") and a[1:].isdigit()]
    return ",".join(str(int(d)) for d in digits)


def _recorded_root(index: StoreIndex, corpus: str) -> str | None:
    for fs in index.sets:
        if fs.spec.corpus == corpus:
            root = (fs.provenance.get("extra") or {}).get("dataset_root")
            if root:
                return str(root)
    return None


def features_command(
    index: StoreIndex, data: str, run: PlannedRun, store: str, *, dataset: str = "", parts: str = ""
) -> str:
    """The ``make features`` that makes a missing set for ``run`` (demo: the demo corpus; paper: ``dataset``'s
    ``parts``)."""
    cell = run.cell
    words = ["make", "features"]
    if data == "paper":
        root = _recorded_root(index, _CORPUS_OF_DATA.get(dataset, dataset)) or _ROOT_HINT.get(
            dataset, "/path/to/data"
        )
        words += [f"DATA={dataset}", f"ROOT={root}"]
    if cell.extractor != "mel" or data == "paper":
        words.append(f"MODEL={cell.extractor}")
    if cell.extractor != "mel":
        words += [f"MODEL_DIR=/path/to/{'xls-r-300m' if cell.extractor == 'xlsr' else 'wavlm-large'}"]
        words.append(f"LAYERS={_layers(cell.array) or 5}")
    if parts and data == "paper":
        words.append(f"PARTS={parts}")
    if store != "features":
        words.append(f"STORE={store}")
    return " ".join(words)


def _paper_dataset(column: str) -> tuple[str, str]:
    """(DATA, PARTS) of the paper's set holding test column ``column``."""
    if column == "19LA":
        return "asvspoof2019", "eval"
    if column == "ITW":
        return "itw", ""
    return "codecfake", column


def _requirement(run: PlannedRun) -> tuple:
    c = run.cell
    return (c.task, c.extractor, c.array, tuple(run.options.get("features", ())))


def check_needs(plan: Plan, index: StoreIndex | None = None) -> NeedsReport:
    """What ``plan``'s runs lack in the store (module docstring); raises nothing (see :func:`require_needs`)."""
    index = index or StoreIndex(plan.store)
    report = NeedsReport(n_sets=len(index.sets))
    groups: dict[tuple, list[PlannedRun]] = {}
    for run in plan.runs:
        groups.setdefault(_requirement(run), []).append(run)
    missing: dict[tuple[str, str], tuple[list[str], str]] = {}
    columns = {t.source: [c for c in t.columns if c not in AVERAGES] for t in plan.matrix.tables}
    lacking_tests: dict[tuple[str, str], tuple[set[str], list[PlannedRun]]] = {}
    for runs in groups.values():
        sets = _training_sets(index, plan, runs, report, missing)
        if sets is None:
            continue
        for r in runs:
            report.training_sets[r.name] = tuple(fs.key for fs in sets)
        _check_variants(index, plan, runs, sets, missing)
        have = _test_columns(index, sets, runs[0].cell.array or _only_array(index, sets))
        for r in runs:
            for col in columns[r.table]:
                if col not in have:
                    dataset, _ = _paper_dataset(col)
                    cols, needy = lacking_tests.setdefault((r.cell.extractor, dataset), (set(), []))
                    cols.add(col)
                    needy.append(r)
    for (extractor, dataset), (cols, needy) in lacking_tests.items():
        from codecfake.evaluate.conditions import sort_conditions

        ordered = sort_conditions(sorted(cols))
        parts = ",".join(ordered) if dataset == "codecfake" else _paper_dataset(ordered[0])[1]
        cmd = features_command(index, plan.matrix.data, needy[0], plan.store, dataset=dataset, parts=parts)
        what = f"{extractor} test sets of {', '.join(ordered)}"
        missing.setdefault((what, cmd), ([], cmd))[0].extend(r.name for r in needy)
    report.missing = [
        Missing(what, tuple(dict.fromkeys(names)), cmd) for (what, _), (names, cmd) in missing.items()
    ]
    return report


def _only_array(index: StoreIndex, sets: Sequence[Any]) -> str:
    common = frozenset.intersection(*(index.complete_arrays(fs) for fs in sets))
    return next(iter(common)) if len(common) == 1 else ""


def _training_sets(
    index: StoreIndex, plan: Plan, runs: list[PlannedRun], report: NeedsReport, missing: dict
) -> list[Any] | None:
    """The sets ``codecfake train`` would train ``runs`` on; None (and the reason recorded) when it could not."""
    from codecfake.train.config import TrainConfig
    from codecfake.train.data import TASK_DOMAINS, common_array, find_sets

    cell = runs[0].cell
    names = [r.name for r in runs]
    features = tuple(runs[0].options.get("features", ()))
    lacking = [] if features else _lacking_domains(index, cell, TASK_DOMAINS[cell.task])
    for domain in lacking:
        dataset, parts = _PAPER_DOMAIN.get(domain, ("codecfake", "train,dev"))
        what = f"{cell.extractor} training sets of the {domain} domain"
        cmd = features_command(index, plan.matrix.data, runs[0], plan.store, dataset=dataset, parts=parts)
        missing.setdefault((what, cmd), ([], cmd))[0].extend(names)
    if lacking:
        return None
    config = TrainConfig(task=cell.task, extractor=cell.extractor, array=cell.array, features=features)
    try:
        same = [fs for fs in index.sets if fs.spec.extractor == cell.extractor] if not features else None
        sets = find_sets(index.store, config, opened=same)
        common_array(sets, config.array)
    except CodecfakeError as err:
        report.problems.append(f"{', '.join(names[:3])}{' …' if len(names) > 3 else ''}: {err}")
        return None
    return sets


def _check_variants(
    index: StoreIndex, plan: Plan, runs: list[PlannedRun], sets: Sequence[Any], missing: dict
) -> None:
    """Runs trained on stored variants (``augment``) need every variant set ``codecfake train`` would read."""
    from codecfake.train.variants import missing_variants

    by_augment: dict[tuple[str, int], list[PlannedRun]] = {}
    for r in runs:
        if r.options.get("augment"):
            key = (str(r.options["augment"]), int(r.options.get("augment_seed", 1234)))
            by_augment.setdefault(key, []).append(r)
    for (augment, seed), needy in by_augment.items():
        lacking = missing_variants(index.sets, sets, augment, seed)
        if not lacking:
            continue
        corpus = lacking[0].split(".", 1)[0]
        dataset = {v: k for k, v in _CORPUS_OF_DATA.items()}.get(corpus, corpus)
        cmd = features_command(
            index, plan.matrix.data, needy[0], plan.store, dataset=dataset, parts="train,dev"
        )
        cmd += f" AUGMENT={augment}" + (
            f" (codecfake augment … --augment-seed {seed})" if seed != 1234 else ""
        )
        what = f"{len(lacking)} variant set(s) of AUGMENT={augment} (e.g. {lacking[0]})"
        missing.setdefault((what, cmd), ([], cmd))[0].extend(r.name for r in needy)


def _lacking_domains(index: StoreIndex, cell: Any, domains: Sequence[str]) -> list[str]:
    """Domains with no set of the cell's extractor (and array) holding training clips of them."""
    out = []
    for domain in domains:
        found = False
        for fs in index.sets:
            if fs.spec.extractor != cell.extractor or (
                cell.array and cell.array not in index.complete_arrays(fs)
            ):
                continue
            meta = fs.meta
            if np.any((np.asarray(meta["split"]) == "train") & (np.asarray(meta["domain"]) == domain)):
                found = True
                break
        if not found:
            out.append(domain)
    return out


def _test_columns(index: StoreIndex, training: Sequence[Any], array: str) -> set[str]:
    """Condition names of the store's test sets a run on ``training`` is scored on (same extraction, array complete)."""
    from codecfake.store.spec import extractor_fields

    wanted = extractor_fields(training[0].spec)
    have: set[str] = set()
    for fs in index.sets:
        if extractor_fields(fs.spec) == wanted and (not array or array in index.complete_arrays(fs)):
            have |= set(index.test_conditions(fs))
    return have


def require_needs(plan: Plan, index: StoreIndex | None = None) -> NeedsReport:
    """:func:`check_needs`, raising :class:`MissingFeatureSets` with every missing set and its command."""
    report = check_needs(plan, index)
    if not report.ok:
        raise MissingFeatureSets(
            f"matrix {plan.matrix.name}: the store {plan.store} lacks feature sets its runs need; nothing was "
            f"trained. Make them first:\n{report.text()}"
        )
    return report


def generators_of(index: StoreIndex) -> Any:
    """For ``plan_matrix(generators=…)``: a cell -> the generators of the sets ``codecfake train`` picks for it."""
    from codecfake.train.config import TrainConfig
    from codecfake.train.data import find_sets

    def generators(cell: Any) -> list[str]:
        config = TrainConfig(task=cell.task, extractor=cell.extractor, array=cell.array)
        same = [fs for fs in index.sets if fs.spec.extractor == cell.extractor]
        return index.training_generators(find_sets(index.store, config, opened=same))

    return generators


__all__ = [
    "Missing",
    "MissingFeatureSets",
    "NeedsReport",
    "StoreIndex",
    "check_needs",
    "features_command",
    "generators_of",
    "require_needs",
]

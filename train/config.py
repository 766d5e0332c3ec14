"""The training configuration: one frozen, typed dataclass, presets from TOML, and ``--key value`` overrides.

Resolution order (later wins): dataclass defaults (the paper's settings) < ``configs/backend/<backend>.toml`` <
``configs/opt/<opt>.toml`` < explicit overrides (CLI flags). The dataclass is the one home of every default: no
back-end or optimiser preset ships (the paper uses the same settings for all of them); a file there, when present,
holds only what departs from the defaults for that back-end or optimiser. Unknown keys and values of the wrong type raise
:class:`ConfigError` before any work starts; booleans are real booleans (``true``/``false``), never strings.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codecfake.presets import CONFIG_DIR
from codecfake.train.errors import ConfigError

TASKS = ("vocoder", "codec", "cotrain", "trace")  # trace: multi-class source tracing (train/trace_labels.py)
# task trace: a spoof's class is its generator (the manifest's method) or one level of CodecFake+'s codec taxonomy
TRACE_LEVELS = ("generator", "vq", "aux", "dec")
OPTIMISERS = ("adam", "sam", "asam", "csam", "csam-pd")  # the paper's Table III order
DATA_MODES = ("auto", "memory", "stream")
SHUFFLES = ("uniform", "block")
CSAM_EPOCHS = ("release", "pass")
DEV_LOSSES = ("exact", "batch-mean")
CSAM_DRAWS = ("exact", "release")
# LCNN input image: time-first (T, D) as the release's Mel-LCNN, freq-first (D, T) as its W2V2-LCNN (it feeds XLS-R
# features transposed, (1024, 201)); auto picks the release's layout for the run's features
LCNN_LAYOUTS = ("auto", "time-first", "freq-first")
SSL_EXTRACTORS = ("xlsr", "wavlm")
# Keys older runs' config.json may hold that are no settings any more: read and ignored. `from_demo_preset` listed
# the values `codecfake train` took from the demo preset, which `sources` now records for every key.
RETIRED_KEYS = ("from_demo_preset",)
# Keys that change how a run executes, never what it learns: a resumed run may change them, and runs differing only
# in these (plus seed and name) are one row of a report. `sources` only notes where each value came from.
RUNTIME_KEYS = (
    "device",
    "threads",
    "data_mode",
    "memory_limit_mb",
    "eval_batch",
    "save_every_steps",
    "sources",
    *RETIRED_KEYS,
)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run. Defaults are the paper's training settings."""

    name: str = ""  # run folder name; "" -> "<task>-<backend>-<opt>-s<seed>-<extractor>"
    task: str = "cotrain"  # vocoder | codec | cotrain | trace (generator classes, codec + vocoder domains)
    trace_level: str = "generator"  # task trace: generator | vq | aux | dec (CodecFake+ taxonomy levels)
    backend: str = "aasist"  # aasist | lcnn (train/backends.py)
    # lcnn only: auto -> freq-first on SSL features, time-first on mel (the release's two LCNNs); a run's config.json
    # holds the resolved value (resolve_lcnn_layout); config.json files without it are time-first (legacy_defaults)
    lcnn_layout: str = "auto"
    opt: str = "adam"  # adam | sam | asam | csam | csam-pd
    features: tuple[str, ...] = ()  # feature-set keys; () -> found in the store by the task's domains
    extractor: str = (
        ""  # with features=(): pick the sets of this extractor (mel, xlsr, wavlm) when several exist
    )
    array: str = (
        ""  # array in the feature set ("L05", "mel"); "" -> the sets' only common array; fused: "L00+L05"
    )
    layers: tuple[
        int, ...
    ] = ()  # SSL layers to fuse (learned softmax weights, train/fusion.py); sets `array`
    epochs: int = 10
    batch: int = 128  # clips per optimiser step
    lr: float = 5e-4  # initial learning rate
    lr_decay: float = 0.5  # multiplied in every `lr_step_epochs` epochs
    lr_step_epochs: int = 2
    weight_decay: float = 5e-4  # Adam L2 (torch Adam's weight_decay)
    beta1: float = 0.9
    beta2: float = 0.999
    adam_eps: float = 1e-8
    class_weights: tuple[float, ...] = (10.0, 1.0)  # cross-entropy weights [bona fide, spoof]
    rho: float = 0.05  # SAM neighbourhood radius
    adaptive: bool = False  # ASAM's element-wise |w| scaling of the ascent step
    same_dropout: bool = (
        False  # True: SAM pass two reuses pass one's dropout masks (False: re-drawn, as the release)
    )
    domain_ratio: tuple[
        float, ...
    ] = ()  # csam/csam-pd batch share per domain (sorted names); () -> by domain size
    csam_epoch: str = "release"  # csam/csam-pd epoch: release (K * ceil(largest/batch) steps, carried) | pass
    # csam batches: exact (the same per-domain counts in every batch, streams carried across epochs) | release
    # (the release's CSAMSampler: groups of int(share * batch) per domain cut into batches, fresh samplers each pass)
    csam_draw: str = "exact"
    seed: int = 688
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int = 0  # torch CPU threads; 0 -> all cores of this process
    data_mode: str = (
        "auto"  # memory (load the sets into RAM) | stream (shard reader) | auto (by memory_limit_mb)
    )
    memory_limit_mb: int = 2048  # auto mode loads into memory below this size (fp16 bytes)
    shuffle: str = (
        "uniform"  # adam/sam/asam batches: uniform (exact, the release's) | block (shard windows, skewed)
    )
    shuffle_window_shards: int = 16  # shuffle = "block": shuffle shards, then clips within this many
    eval_batch: int = 256  # clips per forward on the dev set
    dev_loss: str = (
        "exact"  # selection: exact weighted mean over dev | batch-mean (the release's, shuffled batches)
    )
    save_every_steps: int = 0  # also checkpoint "last" every N steps inside an epoch (0: at epoch ends only)
    # Augmentation (docs/augment.md). `augment`: the stored variants to read (the AUGMENT= text `codecfake augment`
    # extracted, e.g. "rawboost:3,codec:2"); each epoch every training clip is read as one of its copies
    augment: str = ""
    augment_seed: int = 1234  # the variants' extraction seed (in their keys)
    clean_prob: float = -1.0  # < 0: uniform over a clip's copies, clean included; else P(clean copy)
    feataug: str = ""  # zero-disk feature-space augmentation: "tmask:8,fmask:10,mixup:0.2" (train/feataug.py)
    # generators whose fakes leave train and dev, bona fide kept (C3, A01, …; train/holdout.py); any task
    hold_out: tuple[str, ...] = ()
    # A note, not a setting: the label consequence of each augmentation on these training domains (set by train())
    augment_labels: tuple[str, ...] = ()
    # A note, not a setting: key -> where its value came from ("default", "command line", "preset demo", a
    # configs/backend|opt file, "run folder"); set by `codecfake train`, never an option, ignored by comparisons
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_choice("task", self.task, TASKS)
        _check_choice("trace_level", self.trace_level, TRACE_LEVELS)
        _check_choice("opt", self.opt, OPTIMISERS)
        _check_choice("data_mode", self.data_mode, DATA_MODES)
        _check_choice("shuffle", self.shuffle, SHUFFLES)
        _check_choice("csam_epoch", self.csam_epoch, CSAM_EPOCHS)
        _check_choice("dev_loss", self.dev_loss, DEV_LOSSES)
        _check_choice("lcnn_layout", self.lcnn_layout, LCNN_LAYOUTS)
        _check_choice("csam_draw", self.csam_draw, CSAM_DRAWS)
        if self.opt == "asam" and not self.adaptive:
            object.__setattr__(self, "adaptive", True)  # asam *is* sam with the adaptive (|w|-scaled) ascent
        positive = {
            "epochs": self.epochs,
            "batch": self.batch,
            "lr": self.lr,
            "lr_step_epochs": self.lr_step_epochs,
            "eval_batch": self.eval_batch,
            "memory_limit_mb": self.memory_limit_mb,
            "shuffle_window_shards": self.shuffle_window_shards,
        }
        for key, value in positive.items():
            if value <= 0:
                raise ConfigError(f"training config: `{key}` must be > 0, found {value}")
        if self.batch < 2:
            raise ConfigError(f"training config: `batch` must be >= 2 (batch norm), found {self.batch}")
        nonneg = {
            "weight_decay": self.weight_decay,
            "rho": self.rho,
            "threads": self.threads,
            "save_every_steps": self.save_every_steps,
            "lr_decay": self.lr_decay,
        }
        for key, value in nonneg.items():
            if value < 0:
                raise ConfigError(f"training config: `{key}` must be >= 0, found {value}")
        if len(self.class_weights) != 2 or min(self.class_weights) <= 0:
            raise ConfigError(
                f"training config: `class_weights` needs 2 positive values [bona fide, spoof], "
                f"found {list(self.class_weights)}"
            )
        if self.task == "trace" and self.class_weights != (10.0, 1.0):
            raise ConfigError(
                f"training config: `class_weights` {list(self.class_weights)} is for the binary tasks; "
                "task trace weighs its generator classes by inverse training frequency (balanced)"
            )
        if self.domain_ratio and (min(self.domain_ratio) < 0 or sum(self.domain_ratio) <= 0):
            raise ConfigError(
                f"training config: `domain_ratio` needs non-negative shares with a positive sum, "
                f"found {list(self.domain_ratio)}"
            )
        if self.csam_draw == "release" and (self.opt != "csam" or self.csam_epoch != "release"):
            raise ConfigError(
                f"training config: `csam_draw` release is the release's CSAMSampler, for --opt csam with its "
                f"epoch (csam_epoch release); found opt {self.opt!r}, csam_epoch {self.csam_epoch!r}"
            )
        if set(self.sources) - {f.name for f in dataclasses.fields(self)}:
            raise ConfigError(
                f"training config: `sources` names keys that are no config keys: "
                f"{sorted(set(self.sources) - {f.name for f in dataclasses.fields(self)})}"
            )
        self._check_augmentation()
        self._resolve_layers()
        if self.name and ("/" in self.name or self.name.startswith(".")):
            raise ConfigError(f"training config: `name` must be a plain folder name, found {self.name!r}")

    def _check_augmentation(self) -> None:
        """Bad AUGMENT / FEATAUG texts fail here, naming the known names or the parameter's range."""
        from codecfake.augment.recipe import parse_augment
        from codecfake.train.feataug import parse_feataug

        if self.augment:
            parse_augment(self.augment)
        if self.feataug:
            parse_feataug(self.feataug)
        if self.clean_prob != -1.0 and not 0.0 <= self.clean_prob <= 1.0:
            raise ConfigError(
                f"training config: `clean_prob` is a probability in [0, 1] (or -1: uniform), found {self.clean_prob}"
            )
        if self.clean_prob != -1.0 and not self.augment:
            raise ConfigError(
                "training config: `clean_prob` needs `augment` (the stored variants to draw from)"
            )

    def _resolve_layers(self) -> None:
        """``layers`` (0, 3, 5) <-> ``array`` "L00+L03+L05": either may be given, they must agree; sorted."""
        from codecfake.train.input_arrays import fused_array_name, layer_indices

        layers = self.layers
        if not layers and "+" in self.array:
            layers = layer_indices(self.array) or ()
            if not layers:
                raise ConfigError(
                    f"training config: array {self.array!r} fuses arrays that are not SSL layers "
                    "(L<k>); fuse layers with --layers 0,3,5"
                )
        if not layers:
            return
        if min(layers) < 0 or len(set(layers)) != len(layers):
            raise ConfigError(
                f"training config: `layers` needs distinct hidden_states indices >= 0, found {list(layers)}"
            )
        layers = tuple(sorted(layers))
        want = fused_array_name(layers)
        if self.array and self.array != want:
            raise ConfigError(
                f"training config: `layers` {list(layers)} reads array(s) {want}, but `array` is "
                f"{self.array!r}; give one of --layers / --array"
            )
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "array", want)

    # ---- (de)serialisation ----
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists, mappings dicts)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, source: str = "config") -> TrainConfig:
        """Strictly typed construction: unknown keys and wrong types raise :class:`ConfigError` (RETIRED_KEYS,
        which older runs' config.json may hold, are dropped); a saved config from before a field existed gets the
        value runs then had (:func:`legacy_defaults`)."""
        kept = {k: v for k, v in legacy_defaults(values).items() if k not in RETIRED_KEYS}
        return cls(**coerce_values(kept, source=source))

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with `changes` applied (type-checked like every other override)."""
        return dataclasses.replace(self, **coerce_values(changes, source="replace()"))

    @property
    def sam_family(self) -> bool:
        """True for the optimisers that take a two-pass (ascent, descent) step."""
        return self.opt != "adam"

    @property
    def backend_options(self) -> dict[str, Any]:
        """Keyword options for ``build_backend`` that the config decides: ``freq_major`` for a freq-first LCNN."""
        if self.backend == "lcnn" and self.lcnn_layout == "freq-first":
            return {"freq_major": True}
        return {}

    @property
    def needs_domains(self) -> bool:
        """True for the optimisers that stratify batches by training domain."""
        return self.opt in ("csam", "csam-pd")


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else dict(value) if isinstance(value, Mapping) else value


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"training config: unknown {key} {value!r}; expected one of {', '.join(choices)}")


def legacy_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    """A saved config dict with the fields it predates filled in as runs of that time behaved: an LCNN run without
    ``lcnn_layout`` fed conv1 time-first (T, D), whatever its features."""
    out = dict(values)
    if out.get("backend") == "lcnn" and "lcnn_layout" not in out:
        out["lcnn_layout"] = "time-first"
    return out


def resolve_lcnn_layout(config: TrainConfig, extractor: str) -> TrainConfig:
    """``lcnn_layout`` "auto" made explicit for the run's features (``extractor``: the sets' extractor name): the
    release's W2V2-LCNN layout, freq-first, on SSL features; its Mel-LCNN layout, time-first, on anything else."""
    if config.backend != "lcnn" or config.lcnn_layout != "auto":
        return config
    return config.replace(lcnn_layout="freq-first" if extractor in SSL_EXTRACTORS else "time-first")


def field_types() -> dict[str, Any]:
    """Field name -> resolved type annotation."""
    hints = typing.get_type_hints(TrainConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(TrainConfig)}


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, found {text!r}")


def parse_text(key: str, text: str) -> Any:
    """Parse one command-line string into the type of field `key` (tuples are comma separated)."""
    types_ = field_types()
    if key not in types_:
        raise ConfigError(
            f"unknown training option --{key.replace('_', '-')}; known: {', '.join(sorted(types_))}"
        )
    kind = types_[key]
    try:
        if kind is bool:
            return _parse_bool(text)
        if kind in (int, float, str):
            return kind(text)
        item = typing.get_args(kind)[0]
        parts = [p.strip() for p in text.split(",") if p.strip()]
        return tuple(float(p) if item is float else int(p) if item is int else p for p in parts)
    except ValueError as err:
        raise ConfigError(
            f"training option --{key.replace('_', '-')}: cannot read {text!r} as {_type_name(kind)} ({err})"
        ) from None


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind)) if not typing.get_args(kind) else str(kind)


def coerce_values(values: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    """Type-check a mapping of field values (from TOML, JSON or code). Ints are accepted for floats only."""
    types_ = field_types()
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in types_:
            raise ConfigError(
                f"{source}: unknown training config key {key!r}; known: {', '.join(sorted(types_))}"
            )
        out[key] = _coerce(key, value, types_[key], source)
    return out


def _coerce(key: str, value: Any, kind: Any, source: str) -> Any:
    def bad() -> ConfigError:
        return ConfigError(
            f"{source}: `{key}` must be {_type_name(kind)}, found {value!r} ({type(value).__name__})"
        )

    if kind is bool:
        if not isinstance(value, bool):
            raise bad()
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad()
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise bad()
        return value
    origin = typing.get_origin(kind)
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise bad()
        item = typing.get_args(kind)[1]
        return {k: _coerce(key, v, item, source) for k, v in value.items()}
    if origin is tuple or isinstance(kind, types.GenericAlias):
        item = typing.get_args(kind)[0]
        if not isinstance(value, list | tuple):
            raise bad()
        return tuple(_coerce(key, v, item, source) for v in value)
    raise bad()  # pragma: no cover - every field type is handled above


def load_preset(kind: str, name: str, *, config_dir: Path | None = None) -> dict[str, Any]:
    """Values of ``configs/<kind>/<name>.toml`` ({} when that preset does not exist)."""
    path = (config_dir or CONFIG_DIR) / kind / f"{name}.toml"
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            values = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err}); fix the file") from None
    return coerce_values(values, source=str(path))


def resolve_config(
    overrides: Mapping[str, Any] | None = None, *, config_dir: Path | None = None
) -> TrainConfig:
    """Defaults < backend preset < optimiser preset < `overrides` (already typed, e.g. from the CLI)."""
    given = coerce_values(dict(overrides or {}), source="overrides")
    backend = given.get("backend", TrainConfig.backend)
    opt = given.get("opt", TrainConfig.opt)
    _check_choice("opt", opt, OPTIMISERS)
    values: dict[str, Any] = {}
    values.update(load_preset("backend", backend, config_dir=config_dir))
    values.update(load_preset("opt", opt, config_dir=config_dir))
    values.update(given)
    return TrainConfig(**values)


def default_run_name(config: TrainConfig, extractor: str = "") -> str:
    """``<task>-<backend>-<opt>-s<seed>`` plus ``-<extractor>`` when known (e.g. ``cotrain-aasist-csam-s688-mel``)."""
    base = f"{config.task}-{config.backend}-{config.opt}-s{config.seed}"
    return f"{base}-{extractor}" if extractor else base


__all__ = [
    "TrainConfig",
    "ConfigError",
    "TASKS",
    "TRACE_LEVELS",
    "OPTIMISERS",
    "RUNTIME_KEYS",
    "RETIRED_KEYS",
    "resolve_config",
    "resolve_lcnn_layout",
    "legacy_defaults",
    "LCNN_LAYOUTS",
    "CSAM_DRAWS",
    "load_preset",
    "parse_text",
    "coerce_values",
    "field_types",
    "default_run_name",
]

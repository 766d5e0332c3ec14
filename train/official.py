"""Import the paper's released back-ends (whole pickled ``torch.nn.Module`` files) as ordinary runs, safely.

The release's ``anti-spoofing_feat_model.pt`` files are torch zip archives whose ``data.pkl`` rebuilds instances of
``model.W2VAASIST`` / ``model.LCNN`` (a script nobody can import cleanly) and of ``torch.nn`` layers. We never run
that pickle through :mod:`pickle`'s defaults: :class:`_ReleaseUnpickler` resolves only the globals in ``ALLOWED``,
every module class to an inert stand-in that just keeps its ``__dict__``, and tensors from the archive's raw storages.
Anything else (``os.system``, ``builtins.eval``, any unknown class) raises :class:`UnsafeCheckpoint` before it can be
called. Parameters and buffers (batch-norm running statistics included) are then collected from the stand-ins and
renamed onto our modules through an explicit table checked complete in both directions.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import re
import shutil
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from codecfake.train.backends import build_backend

from codecfake.errors import CodecfakeError

log = logging.getLogger(__name__)


class OfficialImportError(CodecfakeError):
    """A released checkpoint cannot be read or does not fit our back-end."""


class UnsafeCheckpoint(OfficialImportError):
    """The pickle references something outside the allow-list; nothing it names was called."""


# ---- the allow-list -------------------------------------------------------------------------------------------------
_STANDIN_CLASSES = {  # (module, name) of classes whose instances become inert attribute holders
    ("model", n)
    for n in (
        "W2VAASIST",
        "Residual_block",
        "GraphAttentionLayer",
        "HtrgGraphAttentionLayer",
        "GraphPool",
        "LCNN",
        "MaxFeatureMap2D",
    )
} | {
    ("torch.nn.modules.conv", "Conv2d"),
    ("torch.nn.modules.linear", "Linear"),
    ("torch.nn.modules.batchnorm", "BatchNorm1d"),
    ("torch.nn.modules.batchnorm", "BatchNorm2d"),
    ("torch.nn.modules.activation", "SELU"),
    ("torch.nn.modules.activation", "Sigmoid"),
    ("torch.nn.modules.dropout", "Dropout"),
    ("torch.nn.modules.pooling", "MaxPool2d"),
    ("torch.nn.modules.container", "Sequential"),
    ("torch.nn.parallel.data_parallel", "DataParallel"),
}
_STORAGE_DTYPES = {
    ("torch", "FloatStorage"): torch.float32,
    ("torch", "DoubleStorage"): torch.float64,
    ("torch", "HalfStorage"): torch.float16,
    ("torch", "LongStorage"): torch.int64,
    ("torch", "IntStorage"): torch.int32,
    ("torch", "BoolStorage"): torch.bool,
}
_RELEASE_CLASS = {"aasist": "model.W2VAASIST", "lcnn": "model.LCNN"}


class _StandIn:
    """An inert replacement for a pickled module class: construction and ``BUILD`` only store data."""

    release_class = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> _StandIn:
        return object.__new__(cls)

    def __init__(
        self, *args: Any, **kwargs: Any
    ) -> None:  # REDUCE on the class calls this: store nothing, run nothing
        pass

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise UnsafeCheckpoint(
                f"{self.release_class}: expected a dict state, found {type(state).__name__}"
            )
        self.__dict__["_state"] = state


_STANDINS = {key: type(key[1], (_StandIn,), {"release_class": ".".join(key)}) for key in _STANDIN_CLASSES}


class _Storage:
    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype


def _rebuild_tensor(storage: torch.Tensor, offset: int, size: tuple, stride: tuple, *_: Any) -> torch.Tensor:
    if not isinstance(storage, torch.Tensor):
        raise UnsafeCheckpoint(f"tensor rebuild: expected a storage, found {type(storage).__name__}")
    extent = offset + sum((s - 1) * st for s, st in zip(size, stride, strict=True)) + 1 if all(size) else 0
    if offset < 0 or extent > storage.numel():
        raise OfficialImportError(
            f"tensor of size {tuple(size)} at offset {offset} overruns its storage "
            f"({storage.numel()} elements): the file is corrupt"
        )
    return storage.as_strided(tuple(size), tuple(stride), offset).clone()


def _rebuild_parameter(data: torch.Tensor, *_: Any) -> torch.Tensor:
    if not isinstance(data, torch.Tensor):
        raise UnsafeCheckpoint(f"parameter rebuild: expected a tensor, found {type(data).__name__}")
    return data


_FUNCTIONS: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("__builtin__", "set"): set,
}
ALLOWED: tuple[str, ...] = tuple(
    sorted(".".join(k) for k in (*_STANDIN_CLASSES, *_STORAGE_DTYPES, *_FUNCTIONS))
)


class _ReleaseUnpickler(pickle.Unpickler):
    """Resolves only ``ALLOWED`` globals; storages come from the zip archive, never from code."""

    def __init__(self, fh: Any, archive: zipfile.ZipFile, prefix: str, source: str) -> None:
        super().__init__(fh)
        self.archive, self.prefix, self.source = archive, prefix, source
        self.storages: dict[str, torch.Tensor] = {}

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key in _STANDINS:
            return _STANDINS[key]
        if key in _STORAGE_DTYPES:
            return _Storage(_STORAGE_DTYPES[key])
        if key in _FUNCTIONS:
            return _FUNCTIONS[key]
        raise UnsafeCheckpoint(
            f"{self.source}: refuses global {module}.{name}: not in the allow-list of the "
            f"release's classes and tensor rebuilders ({len(ALLOWED)} names, see "
            "codecfake.train.official.ALLOWED); nothing was executed. Is this really an "
            "official Codecfake back-end?"
        )

    def persistent_load(self, pid: Any) -> torch.Tensor:
        if not (
            isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _Storage)
        ):
            raise UnsafeCheckpoint(f"{self.source}: unexpected persistent id {pid!r:.80}")
        _, kind, key, _location, numel = pid
        if not re.fullmatch(r"\d+", str(key)):
            raise UnsafeCheckpoint(f"{self.source}: storage key {key!r} is not a plain number")
        if key not in self.storages:
            raw = bytearray(self.archive.read(f"{self.prefix}/data/{key}"))
            item = torch.empty(0, dtype=kind.dtype).element_size()
            if len(raw) != int(numel) * item:
                raise OfficialImportError(
                    f"{self.source}: storage {key} holds {len(raw)} bytes, expected "
                    f"{numel} x {item}: the file is corrupt"
                )
            self.storages[key] = (
                torch.frombuffer(raw, dtype=kind.dtype) if raw else torch.empty(0, dtype=kind.dtype)
            )
        return self.storages[key]


def _collect(obj: Any, prefix: str, out: dict[str, torch.Tensor]) -> None:
    state = obj.__dict__.get("_state", {})
    skip = state.get("_non_persistent_buffers_set") or set()
    for group in ("_parameters", "_buffers"):
        for name, tensor in (state.get(group) or {}).items():
            if tensor is not None and name not in skip:
                if not isinstance(tensor, torch.Tensor):
                    raise UnsafeCheckpoint(
                        f"{prefix}{name}: expected a tensor, found {type(tensor).__name__}"
                    )
                out[prefix + name] = tensor
    for name, child in (state.get("_modules") or {}).items():
        if child is not None:
            if not isinstance(child, _StandIn):
                raise UnsafeCheckpoint(f"{prefix}{name}: expected a module, found {type(child).__name__}")
            _collect(child, f"{prefix}{name}.", out)


def read_release_checkpoint(path: str | Path) -> tuple[str, dict[str, torch.Tensor]]:
    """Read a release ``.pt`` without executing it: ``(class name, state dict)``, e.g. ("model.LCNN", {...}).

    The state dict holds every parameter and persistent buffer (running means/vars, num_batches_tracked) under the
    release's names, ``module.`` (DataParallel) prefix removed. Raises UnsafeCheckpoint / OfficialImportError.
    """
    path = Path(path)
    if not path.is_file():
        raise OfficialImportError(
            f"{path}: no such file; expected a release back-end such as "
            "pretrained_model/codec_w2v2aasist/anti-spoofing_feat_model.pt"
        )
    if not zipfile.is_zipfile(path):
        raise OfficialImportError(
            f"{path}: not a torch zip archive (legacy or foreign format); re-save it with "
            "torch >= 1.6 or use the release's file as downloaded"
        )
    with zipfile.ZipFile(path) as archive:
        pkls = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkls) != 1:
            raise OfficialImportError(f"{path}: expected one <name>/data.pkl in the archive, found {pkls}")
        prefix = pkls[0].split("/")[0]
        order = f"{prefix}/byteorder"
        if order in archive.namelist() and archive.read(order).strip() != b"little":
            raise OfficialImportError(f"{path}: big-endian checkpoints are not supported")
        with archive.open(pkls[0]) as fh:
            root = _ReleaseUnpickler(fh, archive, prefix, str(path)).load()
    if not isinstance(root, _StandIn):
        raise OfficialImportError(f"{path}: expected a pickled module, found {type(root).__name__}")
    state: dict[str, torch.Tensor] = {}
    _collect(root, "", state)
    class_name = root.release_class
    if class_name.endswith("DataParallel"):
        inner = root.__dict__["_state"].get("_modules", {}).get("module")
        class_name = inner.release_class if isinstance(inner, _StandIn) else class_name
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return class_name, state


# ---- the name table: release module path -> ours (parameter names below it are kept) ----------------------------------
AASIST_NAME_MAP: tuple[tuple[str, str], ...] = (
    ("LL", "proj"),
    ("first_bn", "stem_bn"),
    ("first_bn1", "encoder_bn"),
    *((f"encoder.{i}.0", f"encoder.{i}") for i in range(6)),
    ("encoder.0.0.conv_downsample", "encoder.0.downsample"),
    ("encoder.2.0.conv_downsample", "encoder.2.downsample"),
    ("attention.0", "attention.conv_in"),
    ("attention.2", "attention.bn"),
    ("attention.3", "attention.conv_out"),
    ("pos_S", "pos_spectral"),
    ("GAT_layer_S", "gat_spectral"),
    ("GAT_layer_T", "gat_temporal"),
    ("pool_S", "pool_spectral"),
    ("pool_T", "pool_temporal"),
    *((f"master{b}", f"branches.{b - 1}.master") for b in (1, 2)),
    *((f"HtrgGAT_layer_ST{b}1", f"branches.{b - 1}.htrg1") for b in (1, 2)),
    *((f"HtrgGAT_layer_ST{b}2", f"branches.{b - 1}.htrg2") for b in (1, 2)),
    *((f"pool_hS{b}", f"branches.{b - 1}.pool_s") for b in (1, 2)),
    *((f"pool_hT{b}", f"branches.{b - 1}.pool_t") for b in (1, 2)),
    ("out_layer", "classifier"),
)
LCNN_NAME_MAP: tuple[tuple[str, str], ...] = (
    *((f"conv{i}.0", f"conv{i}") for i in range(1, 10)),
    ("conv2.2", "bn2"),
    ("conv3.3", "bn3"),
    ("conv4.2", "bn4"),
    ("conv6.2", "bn6"),
    ("conv7.2", "bn7"),
    ("conv8.2", "bn8"),
    ("out.1", "fc1"),
    ("out.3", "fc2"),
    ("fc_mu", "classifier"),
)
NAME_MAPS = {"aasist": AASIST_NAME_MAP, "lcnn": LCNN_NAME_MAP}


def our_name(release_name: str, table: tuple[tuple[str, str], ...]) -> str | None:
    """Our state-dict key for a release key (longest matching module path in `table`), or None."""
    hits = [(a, b) for a, b in table if release_name == a or release_name.startswith(a + ".")]
    if not hits:
        return None
    src, dst = max(hits, key=lambda ab: len(ab[0]))
    return dst + release_name[len(src) :]


def map_release_state(
    release: Mapping[str, torch.Tensor], backend: str, model: torch.nn.Module, *, source: str = "checkpoint"
) -> dict[str, torch.Tensor]:
    """Rename a release state dict onto `model`'s keys; every key on both sides must pair up with equal shapes."""
    table = NAME_MAPS[backend]
    own = model.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    unmapped, clashes = [], []
    for key, tensor in release.items():
        ours = our_name(key, table)
        if ours is None or ours not in own:
            unmapped.append(key if ours is None else f"{key} -> {ours}")
        elif ours in mapped:
            clashes.append(ours)
        else:
            mapped[ours] = tensor
    missing = sorted(set(own) - set(mapped))
    shapes = [
        f"{k}: {tuple(mapped[k].shape)} vs {tuple(own[k].shape)}"
        for k in mapped
        if tuple(mapped[k].shape) != tuple(own[k].shape)
    ]
    if unmapped or missing or clashes or shapes:
        raise OfficialImportError(
            f"{source}: does not map onto our {backend} ({model.__class__.__name__}): release keys without a "
            f"place {unmapped[:6]}, our keys left empty {missing[:6]}, duplicates {clashes[:3]}, shape mismatches "
            f"{shapes[:3]}; is it the right --backend, and the input shape the paper's?"
        )
    return {k: v.to(own[k].dtype) for k, v in mapped.items()}


def frame_shape_for(backend: str, release: Mapping[str, torch.Tensor]) -> tuple[int, int]:
    """The input (T, D) the released weights imply: AASIST (201, D from ``LL``), Mel-LCNN (505, 80)."""
    if backend == "aasist":
        return (201, int(release["LL.weight"].shape[1]))
    flat = int(release["out.1.weight"].shape[1])
    for shape in ((505, 80), (201, 1024)):
        if build_backend("lcnn", shape).flat_dim == flat:
            return shape
    raise OfficialImportError(
        f"LCNN checkpoint: flattened size {flat} fits neither (505, 80) mel (4,960) nor "
        "(201, 1024) XLS-R (24,576) input"
    )


def load_official(path: str | Path, backend: str) -> torch.nn.Module:
    """Our back-end with a release checkpoint's weights, in eval mode (CPU)."""
    class_name, release = read_release_checkpoint(path)
    if class_name != _RELEASE_CLASS[backend]:
        raise OfficialImportError(
            f"{path}: holds {class_name}, but --backend {backend} expects "
            f"{_RELEASE_CLASS[backend]}; use --backend "
            f"{next((b for b, c in _RELEASE_CLASS.items() if c == class_name), '?')}"
        )
    model = build_backend(backend, frame_shape_for(backend, release))
    model.load_state_dict(map_release_state(release, backend, model, source=str(path)), strict=True)
    return model.eval()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---- import as a run directory -----------------------------------------------------------------------------------
_PREPROCESS = {
    "dtype": "float16",
    "sample_rate_hz": 16000,
    "n_samples": 64600,
    "pad_rule": "repeat",
    "crop_rule": "first",
}
_ARRAY = {"aasist": "L05", "lcnn": "mel"}
_EXTRACTOR_KIND = {"aasist": "xlsr", "lcnn": "mel"}


def default_extractor(backend: str) -> dict[str, Any]:
    """The features the release expects: XLS-R layer 5 (AASIST) or mel power without log (Mel-LCNN).

    For XLS-R the local weights' sha256 and the extractor's params are unknown here (""/{}): pin them with
    ``--features-hint KEY`` (a feature set) or ``--features-hint DIR`` (the local XLS-R folder).
    """
    if backend == "lcnn":
        from codecfake.extract.extractors import build_extractor

        fields = build_extractor("mel", log=False).spec_fields()
        return {"extractor": "mel", **fields, **_PREPROCESS}
    return {
        "extractor": "xlsr",
        "model_id": "facebook/wav2vec2-xls-r-300m",
        "weights_sha256": "",
        "params": {},
        **_PREPROCESS,
    }


def hinted_extractor(
    backend: str, store_root: str | Path, key: str, frame_shape: tuple[int, int]
) -> dict[str, Any]:
    """Extractor fields copied from feature set `key`, checked to be the kind and shape the release expects."""
    from codecfake.store import FeatureStore

    fs = FeatureStore(store_root).open(key)
    spec = fs.spec.to_dict()
    array = _ARRAY[backend]
    want = _EXTRACTOR_KIND[backend]
    problems = []
    if spec.get("extractor") != want:
        problems.append(f"extractor {spec.get('extractor')!r} (want {want!r})")
    if array not in fs.arrays or tuple(fs.frame_shape(array)) != tuple(frame_shape):
        found = tuple(fs.frame_shape(array)) if array in fs.arrays else f"arrays {fs.arrays}"
        problems.append(f"array {array} {found} (want {frame_shape})")
    if backend == "lcnn" and (spec.get("params") or {}).get("log"):
        problems.append("log-mel (the release's Mel-LCNN takes mel power without log)")
    if problems:
        wants = "xlsr --layers 5" if backend == "aasist" else "mel --no-log"
        raise OfficialImportError(
            f"feature set {key} in {store_root}: {'; '.join(problems)}; extract the "
            f"features the release expects (`codecfake features` with {wants})"
        )
    return {
        k: spec[k] for k in ("extractor", "model_id", "weights_sha256", "params", *_PREPROCESS) if k in spec
    }


def model_dir_extractor(model_dir: str | Path) -> dict[str, Any]:
    """Extractor fields of the local XLS-R folder `model_dir` at layer 5, checked to give (201, 1024) frames."""
    from codecfake.extract.extractors import build_extractor

    ext = build_extractor("xlsr", model_dir=model_dir, layers=(5,))
    if ext.arrays().get("L05") != (201, 1024):
        raise OfficialImportError(
            f"{model_dir}: layer 5 gives frames {ext.arrays().get('L05')}, the release's AASIST takes "
            "(201, 1024) from facebook/wav2vec2-xls-r-300m; point --features-hint at that model's local folder"
        )
    return {"extractor": "xlsr", **ext.spec_fields(), **_PREPROCESS}


def _infer_training(path: Path) -> tuple[str, str]:
    """(task, opt) from the release's folder/file naming ("cotrain_w2v2aasist_CSAM" -> cotrain, csam)."""
    text = f"{path.parent.name}_{path.stem}".lower()
    task = (
        "cotrain" if "cotrain" in text or "co-train" in text else "vocoder" if "vocoder" in text else "codec"
    )
    opt = next((o for o in ("csam", "asam", "sam") if re.search(rf"(^|[_\-]){o}($|[_\-])", text)), "adam")
    return task, opt


def import_official(
    path: str | Path,
    backend: str,
    name: str,
    *,
    runs: str | Path = "runs",
    features_hint: str | None = None,
    store: str | Path = "features",
    force: bool = False,
) -> Path:
    """Write runs/<name>/ from a release checkpoint: weights (safetensors), config, provenance. Returns the folder."""
    from codecfake.train.config import TrainConfig
    from codecfake.train.rundir import make_provenance, write_run

    path = Path(path)
    if backend not in _RELEASE_CLASS:
        raise OfficialImportError(f"--backend {backend!r}: expected one of {', '.join(_RELEASE_CLASS)}")
    run_dir = Path(runs) / name
    if run_dir.exists() and any(run_dir.iterdir()):
        if not force:
            raise OfficialImportError(
                f"{run_dir} already exists; choose another --name or --force to replace it"
            )
        if not (run_dir / "config.json").is_file():
            raise OfficialImportError(f"{run_dir} exists and is not a run directory; refusing to replace it")
        shutil.rmtree(run_dir)
    model = load_official(path, backend)
    frame_shape = model.frame_shape
    if backend == "lcnn" and frame_shape != (505, 80):
        raise OfficialImportError(
            f"{path}: a W2V2-LCNN (input {frame_shape}) is not supported: its release feeds "
            "conv1 (D, T), which a run directory cannot record yet; only Mel-LCNN imports"
        )
    if not features_hint:
        extractor = default_extractor(backend)
    elif backend == "aasist" and Path(features_hint).is_dir():
        extractor = model_dir_extractor(features_hint)
    else:
        extractor = hinted_extractor(backend, store, features_hint, frame_shape)
    task, opt = _infer_training(path)
    config = TrainConfig(name=name, task=task, backend=backend, opt=opt, array=_ARRAY[backend])
    source = {
        "kind": "official-release",
        "file": str(path.resolve()),
        "sha256": file_sha256(path),
        "release_class": _RELEASE_CLASS[backend],
        "task_opt_inferred_from": "file name",
        "features_hint": features_hint or "",
    }
    prov = make_provenance([], _ARRAY[backend], frame_shape, extractor, source=source)
    write_run(run_dir, model, config, prov)
    log.info("imported %s (%s, input %s) into %s", path, _RELEASE_CLASS[backend], frame_shape, run_dir)
    return run_dir


def _cmd_import(args: Any) -> int:
    run_dir = import_official(
        args.file,
        args.backend,
        args.name,
        runs=args.runs,
        features_hint=args.features_hint,
        store=args.store,
        force=args.force,
    )
    print(f"imported {args.file} -> {run_dir} (evaluate with `codecfake evaluate --run {run_dir}`)")
    return 0


def register(subparsers: Any) -> None:
    """Add ``codecfake import-official FILE.pt --backend aasist|lcnn --name NAME``."""
    p = subparsers.add_parser(
        "import-official",
        help="import a released Codecfake back-end (.pt) as a run, safely",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("file", type=Path, help="the release's anti-spoofing_feat_model.pt")
    p.add_argument(
        "--backend",
        required=True,
        choices=sorted(_RELEASE_CLASS),
        help="aasist (W2V2-AASIST) or lcnn (Mel-LCNN)",
    )
    p.add_argument("--name", required=True, help="run folder name under --runs")
    p.add_argument("--runs", type=Path, default=Path("runs"), help="runs folder [runs]")
    p.add_argument(
        "--features-hint",
        default=None,
        metavar="KEY|DIR",
        help="feature-set key in --store whose extractor spec the run records, or (aasist) the local "
        "XLS-R model folder; evaluate/score then find and rebuild the matching features",
    )
    p.add_argument(
        "--store", type=Path, default=Path("features"), help="feature store for --features-hint [features]"
    )
    p.add_argument("--force", action="store_true", help="replace an existing run folder of that name")
    p.set_defaults(func=_cmd_import)

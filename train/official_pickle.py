"""Read a released back-end (a whole pickled ``torch.nn.Module``) without executing anything it asks for.

The release's ``anti-spoofing_feat_model.pt`` files are torch zip archives whose ``data.pkl`` rebuilds instances of
``model.W2VAASIST`` / ``model.LCNN`` (a script nobody can import cleanly) and of ``torch.nn`` layers. We never run
that pickle through :mod:`pickle`'s defaults: :class:`_ReleaseUnpickler` resolves only the globals in ``ALLOWED``,
every module class to an inert stand-in that just keeps its ``__dict__``, and tensors from the archive's raw storages.
Anything else (``os.system``, ``builtins.eval``, any unknown class) raises :class:`UnsafeCheckpoint` before it can be
called. Some release files wrap the model in ``torch.nn.DataParallel`` (``module.`` names; its pickle also holds a
``torch.device`` for ``src_device_obj``, read here as a plain string). :func:`read_release_checkpoint` then collects parameters and buffers (batch-norm running statistics
included) from the stand-ins under the release's names; ``codecfake.train.official`` maps them onto our back-ends
and re-exports the names here.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from codecfake.train.errors import OfficialImportError, UnsafeCheckpoint

__all__ = ["ALLOWED", "OfficialImportError", "UnsafeCheckpoint", "read_release_checkpoint"]


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


def _device(kind: Any, index: Any = None) -> str:
    """``torch.device(...)`` as a DataParallel pickles it (``src_device_obj``): kept as a plain string, never built."""
    if kind not in ("cpu", "cuda") or not (index is None or (type(index) is int and 0 <= index < 1024)):
        raise UnsafeCheckpoint(
            f"torch.device: expected ('cpu'|'cuda', index), found ({kind!r:.40}, {index!r:.40})"
        )
    return kind if index is None else f"{kind}:{index}"


_FUNCTIONS: dict[tuple[str, str], Any] = {
    ("torch", "device"): _device,
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

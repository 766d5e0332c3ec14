"""The release importer never executes what a pickle asks for unless it is on the allow-list."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from codecfake.errors import CodecfakeError
from codecfake.train.official import ALLOWED, OfficialImportError, UnsafeCheckpoint, read_release_checkpoint

torch.set_num_threads(1)


class _Touch:
    """Unpickling this calls os.system('touch <marker>')."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Eval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('false')",))


def _torch_zip(path: Path, pkl: bytes, storages: dict[str, bytes] | None = None) -> Path:
    """A torch-style zip archive: <name>/data.pkl, <name>/byteorder, <name>/data/<key>."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pkl)
        zf.writestr("archive/byteorder", "little")
        for key, raw in (storages or {}).items():
            zf.writestr(f"archive/data/{key}", raw)
    return path


class _PlainUnpickler(pickle.Unpickler):
    """An unrestricted unpickler (every global is resolved and called); tensors are skipped, as they need the archive."""

    def persistent_load(self, pid: object) -> None:
        return None

    def find_class(self, module: str, name: str) -> object:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda *args, **kwargs: None
        return super().find_class(module, name)


def test_torch_saved_payload_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"weights": torch.ones(3), "payload": _Touch(marker)}, path)  # a real torch zip archive
    assert zipfile.is_zipfile(path)
    with pytest.raises(UnsafeCheckpoint, match=r"refuses global (posix|os|nt)\.system.*nothing was executed"):
        read_release_checkpoint(path)
    assert not marker.exists()
    # the same file *would* run the command through plain pickle semantics (what a default unpickler does with
    # the archive's data.pkl): the test payload is real
    with zipfile.ZipFile(path) as zf:
        data = zf.read(next(n for n in zf.namelist() if n.endswith("data.pkl")))
    _PlainUnpickler(io.BytesIO(data)).load()
    assert marker.exists()


def test_payload_hidden_inside_a_module_state_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Inner:  # pickled as the release's class name, with a payload in its __dict__
        pass

    Inner.__module__, Inner.__qualname__ = "model", "LCNN"
    obj = Inner.__new__(Inner)
    obj.__dict__.update({"_parameters": OrderedDict(), "_modules": OrderedDict(), "payload": _Touch(marker)})
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=2)
    with pytest.MonkeyPatch.context() as mp:  # let the pickler find "model.LCNN" while writing the file
        import sys
        import types

        fake = types.ModuleType("model")
        fake.LCNN = Inner
        mp.setitem(sys.modules, "model", fake)
        pickler.dump(obj)
    path = _torch_zip(tmp_path / "evil.pt", buf.getvalue())
    with pytest.raises(UnsafeCheckpoint, match="system"):
        read_release_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("payload", [_Eval(), torch.nn.Linear(2, 2), print])
def test_other_globals_are_refused(tmp_path: Path, payload: object) -> None:
    path = _torch_zip(tmp_path / "evil.pt", pickle.dumps(payload, protocol=2))
    with pytest.raises(UnsafeCheckpoint, match="allow-list") as err:
        read_release_checkpoint(path)
    assert isinstance(err.value, CodecfakeError)


def test_allow_list_is_small_and_holds_nothing_callable_at_large() -> None:
    dangerous = (
        "os.",
        "posix.",
        "nt.",
        "subprocess.",
        "builtins.eval",
        "builtins.exec",
        "builtins.getattr",
        "builtins.__import__",
        "torch.load",
        "importlib.",
        "pickle.",
        "runpy.",
        "sys.",
    )
    assert not [a for a in ALLOWED if a.startswith(dangerous)]
    assert len(ALLOWED) < 32
    assert {"model.W2VAASIST", "model.LCNN", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"} <= set(
        ALLOWED
    )


def test_malformed_storage_references_are_refused(tmp_path: Path) -> None:
    class Ref:  # a persistent id pointing outside the archive's data/ folder
        pass

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", None, "../../etc/passwd", "cpu", 4) if isinstance(obj, Ref) else None

    buf = io.BytesIO()
    P(buf, protocol=2).dump({"x": Ref()})
    with pytest.raises(UnsafeCheckpoint, match="persistent id"):
        read_release_checkpoint(_torch_zip(tmp_path / "bad.pt", buf.getvalue()))


def test_not_a_zip_and_missing_file(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.pt"
    legacy.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(OfficialImportError, match="not a torch zip archive"):
        read_release_checkpoint(legacy)
    with pytest.raises(OfficialImportError, match="no such file"):
        read_release_checkpoint(tmp_path / "absent.pt")


def test_a_plain_tensor_archive_is_not_a_module(tmp_path: Path) -> None:
    path = tmp_path / "tensor.pt"
    torch.save(OrderedDict(w=torch.ones(2)), path)  # allowed globals only, but not a pickled module
    with pytest.raises(OfficialImportError, match="expected a pickled module, found OrderedDict"):
        read_release_checkpoint(path)


@pytest.mark.parametrize("args", [("cuda", "0; rm -rf /"), ("/etc/passwd",), ("cuda", -1)])
def test_a_pickled_torch_device_with_odd_arguments_is_refused(tmp_path: Path, args: tuple) -> None:
    class _Device:  # pickles as torch.device(*args), the way DataParallel's src_device_obj does
        def __reduce__(self):
            return (torch.device, args)

    path = _torch_zip(tmp_path / "dp.pt", pickle.dumps(_Device(), protocol=2))
    with pytest.raises(UnsafeCheckpoint, match="torch.device"):
        read_release_checkpoint(path)

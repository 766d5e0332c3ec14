"""Codec 2 whose output depends on its input alone: a private copy of pycodec2's libcodec2 for every clip.

libcodec2's synthesis draws noise from ``codec2_rand()``, a linear congruential generator whose state is a static
variable of the library (``next``, starting at 1) that no API resets: through pycodec2, a clip's decoded audio depends
on everything the process decoded before it (measured: two builds differed in 41 of 42 C7 fakes). Here each round
trip loads a fresh copy of the same shared library (new file, so the dynamic loader maps new data pages with
``next`` = 1), calls the C API through ctypes and unloads it again; libc's ``rand()``, which the library also imports,
is reset with ``srand(1)``. Cost: ~1-2 ms per clip for the copy and load.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import shutil
import tempfile
from pathlib import Path

import numpy as np

from codecfake.errors import CodecfakeError

# codec2.h mode numbers, keyed by bit rate (pycodec2 uses the same keys)
MODES = {3200: 0, 2400: 1, 1600: 2, 1400: 3, 1300: 4, 1200: 5, 700: 8}


def library_path() -> Path:
    """The libcodec2 shared library bundled in the pycodec2 wheel (``site-packages/pycodec2.libs``)."""
    spec = importlib.util.find_spec("pycodec2")
    if spec is None or spec.origin is None:
        raise CodecfakeError("Codec 2 needs pycodec2, which is not installed: pip install pycodec2")
    site = Path(spec.origin).resolve().parent.parent
    found = sorted(site.glob("pycodec2.libs/libcodec2*.so*")) or sorted(
        Path(spec.origin).parent.glob("libcodec2*.so*")
    )
    if not found:
        raise CodecfakeError(
            f"pycodec2 is installed at {spec.origin} but no libcodec2*.so was found beside it "
            f"(looked in {site / 'pycodec2.libs'}); reinstall the wheel: pip install --force-reinstall pycodec2"
        )
    return found[-1]


def _bind(lib: ctypes.CDLL) -> None:
    lib.codec2_create.restype = ctypes.c_void_p
    lib.codec2_create.argtypes = [ctypes.c_int]
    lib.codec2_destroy.argtypes = [ctypes.c_void_p]
    for fn in ("codec2_samples_per_frame", "codec2_bytes_per_frame"):
        getattr(lib, fn).argtypes = [ctypes.c_void_p]
        getattr(lib, fn).restype = ctypes.c_int
    lib.codec2_encode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    lib.codec2_decode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p]


def round_trip(pcm: np.ndarray, mode: int) -> np.ndarray:
    """Encode and decode (n,) int16 at 8 kHz (n a multiple of the frame size) with a freshly loaded libcodec2."""
    if mode not in MODES:
        raise CodecfakeError(f"Codec 2 mode {mode} is not one of {sorted(MODES)} (bit/s)")
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    with tempfile.TemporaryDirectory(prefix="codec2-") as tmp:
        copy = Path(tmp) / "libcodec2-private.so"
        shutil.copyfile(library_path(), copy)
        lib = ctypes.CDLL(str(copy), mode=ctypes.RTLD_LOCAL)
        try:
            _bind(lib)
            libc.srand(1)
            state = lib.codec2_create(MODES[mode])
            if not state:
                raise CodecfakeError(f"codec2_create({mode}) failed")
            try:
                spf, bpf = lib.codec2_samples_per_frame(state), lib.codec2_bytes_per_frame(state)
                if len(pcm) % spf:
                    raise CodecfakeError(f"Codec 2 round trip: {len(pcm)} samples is not a multiple of {spf}")
                src = np.ascontiguousarray(pcm, dtype=np.int16)
                out = np.zeros_like(src)
                bits = ctypes.create_string_buffer(bpf)
                for i in range(0, len(src), spf):
                    lib.codec2_encode(state, bits, src[i:].ctypes.data)
                    lib.codec2_decode(state, out[i:].ctypes.data, bits)
                return out
            finally:
                lib.codec2_destroy(state)
        finally:
            import _ctypes

            _ctypes.dlclose(lib._handle)

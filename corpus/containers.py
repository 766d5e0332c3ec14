"""Is a decoded file whole? What each container says about its own length, and how a truncated file shows.

libsndfile decodes whatever bytes a file has left without a word, and for most formats derives the length it reports
from those same bytes, so a file cut short looks like a shorter file. Each container keeps some record of its end:

- WAV: the ``data`` chunk's byte size. Uncompressed (PCM, float, A-law, µ-law): frames = size // block align,
  compared with the decoded length. Any codec (IMA / MS ADPCM, GSM 6.10, G.72x): fewer bytes left in the file than the
  chunk declares means the file was cut.
- FLAC: STREAMINFO's total samples (0 = unknown).
- MP3: a Xing/Info tag (LAME writes one) holds the frame count, from which libsndfile reports the exact (gapless)
  length: compared with the decoded length. Without one, the MPEG frames are walked from the start: a last frame
  running past the end of the file is a cut one.
- Ogg (Vorbis, Opus): the last page must be whole (header, segment table and the bytes it declares) and carry the
  end-of-stream flag; a cut file ends mid-page or on a page without it.

:func:`truncation` returns a description of what is missing, or None for a whole file (or one whose container
records nothing to compare).
"""

from __future__ import annotations

from pathlib import Path

_WAV_EXACT_TAGS = (1, 3, 6, 7)  # PCM, IEEE float, A-law, mu-law: frames = data bytes // block align
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # streaming writers leave the data size unset


def _wav_data(path: Path) -> tuple[int | None, int, int, int] | None:
    """(format tag, block align, declared data bytes, bytes present after the data chunk header), or None."""
    size_on_disk = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None  # RF64 / RIFX / others: libsndfile's own length is all there is
        tag = None
        block_align = 0
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if cid == b"fmt ":
                fmt = fh.read(min(size, 40))
                tag, block_align = int.from_bytes(fmt[0:2], "little"), int.from_bytes(fmt[12:14], "little")
                if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
                    tag = int.from_bytes(fmt[24:26], "little")
                fh.seek(size - len(fmt) + (size & 1), 1)
            elif cid == b"data":
                return tag, block_align, size, size_on_disk - fh.tell()
            else:
                fh.seek(size + (size & 1), 1)


def _wav(path: Path, decoded: int) -> str | None:
    found = _wav_data(path)
    if found is None:
        return None
    tag, block_align, size, present = found
    if size in _UNKNOWN_SIZES:
        return None
    if tag in _WAV_EXACT_TAGS and block_align:
        declared = size // block_align
        return None if decoded == declared else f"its header declares {declared}"
    if present < size:
        return f"its data chunk declares {size} bytes of which {present} are in the file"
    return None


_MPEG_BITRATES = {  # kbit/s by (version is MPEG-1, layer) and bitrate index 1..14
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits


def _mpeg_frame_length(h: bytes) -> int | None:
    """Byte length of the MPEG audio frame whose 4-byte header is `h`, or None if `h` is no frame header."""
    if len(h) < 4 or h[0] != 0xFF or (h[1] & 0xE0) != 0xE0:
        return None
    version, layer_bits = (h[1] >> 3) & 3, (h[1] >> 1) & 3
    bitrate_index, rate_index, padding = h[2] >> 4, (h[2] >> 2) & 3, (h[2] >> 1) & 1
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None  # reserved values (and free format, which no codec output here uses)
    layer, mpeg1 = 4 - layer_bits, version == 3
    kbps = _MPEG_BITRATES[(mpeg1, layer if mpeg1 or layer == 1 else 2)][bitrate_index - 1]
    rate = _MPEG_RATES[version][rate_index]
    if layer == 1:
        return (12 * kbps * 1000 // rate + padding) * 4
    per_frame = 144 if layer == 2 or mpeg1 else 72  # MPEG-2/2.5 layer III frames hold 576 samples
    return per_frame * kbps * 1000 // rate + padding


def _mp3(path: Path, decoded: int, header_frames: int) -> str | None:
    data = path.read_bytes()
    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10:  # ID3v2 tag: 10-byte header, then a syncsafe size
        pos = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    end = len(data) - (128 if data[-128:-125] == b"TAG" else 0)  # an ID3v1 tag closes the file
    first = _mpeg_frame_length(data[pos : pos + 4])
    if first is not None and (b"Xing" in data[pos : pos + first] or b"Info" in data[pos : pos + first]):
        # libsndfile's length comes from this tag (frames x samples per frame, less the encoder's delay/padding)
        return None if decoded == header_frames else f"its Xing/Info tag declares {header_frames}"
    n_frames = 0
    while pos < end:
        length = _mpeg_frame_length(data[pos : pos + 4])
        if length is None:
            return None  # not a plain run of frames (other tags, free format): nothing exact to compare
        if pos + length > end:
            return f"its last MPEG frame (number {n_frames + 1}) needs {pos + length - end} more bytes"
        pos, n_frames = pos + length, n_frames + 1
    return None


def _ogg(path: Path) -> str | None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 65_307 - 27))  # a page is at most 27 + 255 + 255 * 255 bytes
        tail = fh.read()
    start = tail.rfind(b"OggS")
    if start < 0:
        return "no Ogg page in its last 64 KB"
    page = tail[start:]
    if len(page) < 27 or len(page) < 27 + page[26]:
        return "its last Ogg page header is cut"
    n_segments = page[26]
    body = sum(page[27 : 27 + n_segments])
    if len(page) < 27 + n_segments + body:
        return (
            f"its last Ogg page declares {body} bytes of which {len(page) - 27 - n_segments} are in the file"
        )
    if not page[5] & 0x04:
        return "its last Ogg page is not the end of the stream"
    return None


def truncation(path: Path, container: str, header_frames: int, decoded: int) -> str | None:
    """What shows `path` (libsndfile ``container``) to be cut short, or None (whole, or nothing to compare)."""
    if container in ("WAV", "WAVEX"):
        return _wav(path, decoded)
    if container == "FLAC":
        return (
            None if not header_frames or decoded == header_frames else f"its header declares {header_frames}"
        )
    if container in ("MP3", "MPEG"):
        return _mp3(path, decoded, header_frames)
    if container == "OGG":
        return _ogg(path)
    return None

"""Read and write IDX files, the format the MNIST digits are distributed in.

Layout of an IDX file (all integers big-endian)::

    bytes 0-1   0x00 0x00                       magic, always zero
    byte  2     type code                       0x08 uint8, 0x09 int8, 0x0B int16,
                                                0x0C int32, 0x0D float32, 0x0E float64
    byte  3     ndim                            number of dimensions
    4*ndim      dims, each an unsigned int32    e.g. 60000, 28, 28
    rest        prod(dims) items of the type    row-major (C order)

``read_idx`` checks every one of these and raises ``CorruptFileError`` naming the
file and what is wrong (bad magic, unknown type, truncated data, trailing bytes,
broken gzip stream). Files ending in ``.gz`` are decompressed on the fly.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import CorruptFileError

__all__ = ["IDX_TYPES", "read_idx", "parse_idx", "write_idx"]

#: IDX type code -> numpy dtype (big-endian, as stored in the file)
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into an array of shape ``dims``."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError(f"raw: expected the bytes of an IDX file, got {type(raw).__name__}")
    if len(raw) < 4:
        raise CorruptFileError(f"{name}: IDX header needs at least 4 bytes, the file has {len(raw)} (truncated?)")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0:
        raise CorruptFileError(f"{name}: not an IDX file: the first two bytes should be 0x0000, got {raw[:2].hex()}")
    if code not in IDX_TYPES:
        raise CorruptFileError(
            f"{name}: unknown IDX type code 0x{code:02X}; expected one of "
            + ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise CorruptFileError(f"{name}: IDX header for {ndim} dimensions needs {header_len} bytes, got {len(raw)}")
    dims = struct.unpack(f">{ndim}I", raw[4:header_len])
    dtype = IDX_TYPES[code]
    expected = math.prod(dims) * dtype.itemsize  # Python ints: dims up to 2**32 each cannot overflow
    got = len(raw) - header_len
    if got < expected:
        raise CorruptFileError(
            f"{name}: truncated IDX file: dims {tuple(dims)} need {expected} data bytes, only {got} present"
        )
    if got > expected:
        raise CorruptFileError(f"{name}: {got - expected} unexpected bytes after the data of dims {tuple(dims)}")
    data = np.frombuffer(raw, dtype=dtype, offset=header_len, count=expected // dtype.itemsize)
    return data.reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or plain) and return its array (native byte order)."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        else:
            raw = path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise CorruptFileError(f"{path}: broken gzip stream ({exc}); delete the file and fetch it again") from exc
    return parse_idx(raw, name=str(path))


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in ``.gz``)."""
    path = Path(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise TypeError(f"array: dtype {array.dtype} has no IDX type code; expected one of uint8, int8, int16, int32, float32, float64")
    code = _CODES[native]
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    compress = path.suffix == ".gz" if compress is None else compress
    if compress:
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path

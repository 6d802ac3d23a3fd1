"""Read IDX files (the MNIST family's format), raw or gzip-compressed, and check them strictly.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32
sizes, then the elements in row-major order, big-endian. A file that breaks any of this (wrong magic,
unknown type, truncated or with trailing bytes, a broken gzip stream) raises ``DatasetError`` with one
sentence naming the file and what is wrong, so a half-downloaded file never trains a network silently.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from cnnviz.errors import DatasetError
from cnnviz.files import atomic_write

# IDX element type byte -> big-endian NumPy dtype.
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_bytes(path: str | os.PathLike) -> bytes:
    """Return the whole content of ``path``, decompressed when the name ends in ``.gz``."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: file not found.")
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except EOFError:
        raise DatasetError(f"{path}: the gzip stream is truncated (incomplete download?).") from None
    except (zlib.error, gzip.BadGzipFile) as e:
        raise DatasetError(f"{path}: not a valid gzip file ({e}).") from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot be read ({e.strerror or e}).") from None


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX ``data`` into an array of its stored shape, native byte order.

    Returns
    -------
    ndarray, shape as in the header (e.g. (N, 28, 28) uint8 for images, (N,) uint8 for labels).
    """
    if len(data) < 4:
        raise DatasetError(f"{name}: too short to be an IDX file ({len(data)} bytes).")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise DatasetError(f"{name}: bad magic number 0x{data[:4].hex()} (not an IDX file).")
    if type_code not in IDX_TYPES:
        raise DatasetError(f"{name}: unknown IDX element type 0x{type_code:02x}.")
    if ndim == 0:
        raise DatasetError(f"{name}: IDX header declares 0 dimensions.")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DatasetError(f"{name}: header is truncated ({len(data)} bytes, needs {header_len}).")
    shape = struct.unpack(f">{ndim}I", data[4:header_len])
    dtype = IDX_TYPES[type_code]
    expected = header_len + math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DatasetError(
            f"{name}: file is {what} ({len(data)} bytes, header {tuple(shape)} needs {expected})."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (raw or ``.gz``); see ``parse_idx`` for the returned shape."""
    return parse_idx(read_bytes(path), name=str(path))


def load_idx_pair(images_path, labels_path, num_classes: int = 10):
    """Read an images file and its labels file and check that they belong together.

    Returns
    -------
    images : uint8 (N, H, W)
    labels : int64 (N,), each in ``0 .. num_classes-1``
    """
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(
            f"{images_path}: expected uint8 images shaped (N, H, W), "
            f"found {images.dtype} {images.shape}."
        )
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DatasetError(f"{labels_path}: expected a 1-D integer label list, found {labels.shape}.")
    if len(images) != len(labels):
        raise DatasetError(
            f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path}."
        )
    labels = labels.astype(np.int64)
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        i = int(np.argmax(bad))
        raise DatasetError(
            f"{labels_path}: label {labels[i]} at index {i} is outside 0..{num_classes - 1}."
        )
    return images, labels


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` (any shape, an IDX element dtype) as an IDX file, gzip when ``path`` ends in
    ``.gz``; for tests and tools. Written through a temp file and renamed (``atomic_write``): a failed
    write raises DatasetError and leaves an existing ``path`` as it was."""
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise DatasetError(f"{path}: dtype {array.dtype} has no IDX element type.")
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    payload = header + array.astype(IDX_TYPES[code]).tobytes()
    path = Path(path)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as out:
            if path.suffix == ".gz":
                # the gzip header records a file name: the real one, not the random temp name
                with gzip.GzipFile(filename=path.name, mode="wb", fileobj=out) as packed:
                    packed.write(payload)
            else:
                out.write(payload)

    atomic_write(path, write, DatasetError, what="IDX file")

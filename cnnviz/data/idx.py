"""Read IDX files (the MNIST family's format), raw or gzip-compressed, and check them strictly.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32
sizes, then the elements in row-major order, big-endian. A file that breaks any of this (wrong magic,
unknown type, truncated or with trailing bytes, a broken gzip stream) raises ``DatasetError`` with one
sentence naming the file and what is wrong, so a half-downloaded file never trains a network silently.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from cnnviz.errors import DatasetError
from cnnviz.files import atomic_write, one_line, reading

# IDX element type byte -> big-endian NumPy dtype.
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


# Stated limits, checked against the header before any element is read, so a small file cannot make
# the program allocate what its header claims (a 4 MB .gz can inflate to 4 GB). 256 MB of elements is
# 340,000 28x28 images, 5.7 times MNIST's training set; as float32 for training they take 1 GB.
MAX_DIMS = 16                 # IDX allows 255; an image set needs 3 and NumPy stops at 64
MAX_BYTES = 256 * 2**20       # bytes of elements in one file
CHUNK = 4 * 2**20             # decompressed bytes read at a time


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


@contextmanager
def _guard(path):
    """The one place where reading ``path`` can fail: every failure becomes one DatasetError."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: file not found.")
    with reading(path, DatasetError, "IDX file"):
        try:
            yield path
        except EOFError:
            raise DatasetError(f"{path}: the gzip stream is truncated (incomplete download?).") from None
        except (zlib.error, gzip.BadGzipFile) as e:   # before OSError: BadGzipFile is one
            raise DatasetError(f"{path}: not a valid gzip file ({one_line(e)}).") from None


def _read_upto(stream, n: int) -> bytes:
    """Up to ``n`` bytes (fewer only at the end of the stream)."""
    parts, left = [], n
    while left > 0:
        part = stream.read(min(left, CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _header(stream, name: str, size: int | None = None) -> tuple[np.dtype, tuple[int, ...], int]:
    """(element dtype, shape, header length) from the start of ``stream``; ``size`` is the whole
    (uncompressed) file's length when known. Refuses, before any element is read, a header that
    is malformed or declares more than MAX_DIMS dimensions or MAX_BYTES bytes."""
    magic = _read_upto(stream, 4)
    if len(magic) < 4:
        raise DatasetError(f"{name}: too short to be an IDX file ({len(magic)} bytes).")
    zero, type_code, ndim = struct.unpack(">HBB", magic)
    if zero != 0:
        raise DatasetError(f"{name}: bad magic number 0x{magic.hex()} (not an IDX file).")
    if type_code not in IDX_TYPES:
        raise DatasetError(f"{name}: unknown IDX element type 0x{type_code:02x}.")
    if ndim == 0:
        raise DatasetError(f"{name}: IDX header declares 0 dimensions.")
    if ndim > MAX_DIMS:
        raise DatasetError(f"{name}: IDX header declares {ndim} dimensions; at most {MAX_DIMS} are supported.")
    header_len = 4 + 4 * ndim
    sizes = _read_upto(stream, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DatasetError(f"{name}: header is truncated ({4 + len(sizes)} bytes, needs {header_len}).")
    shape = struct.unpack(f">{ndim}I", sizes)
    dtype = IDX_TYPES[type_code]
    payload = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if size is not None and size != header_len + payload:
        _wrong_length(name, size, shape, header_len + payload)
    if payload > MAX_BYTES:
        raise DatasetError(f"{name}: header {tuple(shape)} declares {payload / 2**20:,.0f} MB of "
                           f"elements; at most {MAX_BYTES // 2**20} MB are read.")
    return dtype, tuple(shape), header_len


def _wrong_length(name, size, shape, expected):
    what = "truncated" if size < expected else "longer than its header says"
    raise DatasetError(f"{name}: file is {what} ({size} bytes, header {tuple(shape)} needs {expected}).")


def _raw_size(path: Path) -> int | None:
    return None if path.suffix == ".gz" else path.stat().st_size


def read_idx_header(path: str | os.PathLike) -> tuple[np.dtype, tuple[int, ...]]:
    """(element dtype in native byte order, shape) of an IDX file, reading only its header."""
    with _guard(path) as path, _open(path) as stream:
        dtype, shape, _ = _header(stream, str(path), _raw_size(path))
    return dtype.newbyteorder("="), shape


def _read_array(stream, name: str, size: int | None) -> np.ndarray:
    """Header, then exactly the elements it declares into one array, then nothing more."""
    dtype, shape, header_len = _header(stream, name, size)
    array = np.empty(shape, dtype=dtype)
    buffer, done = memoryview(array.reshape(-1).view(np.uint8)), 0
    while done < array.nbytes:
        part = stream.read(min(array.nbytes - done, CHUNK))
        if not part:
            _wrong_length(name, header_len + done, shape, header_len + array.nbytes)
        buffer[done : done + len(part)] = part
        done += len(part)
    if stream.read(1):   # a decompressed stream may go on well past what the header allows: stop
        raise DatasetError(f"{name}: file is longer than its header says (header {tuple(shape)} "
                           f"needs {header_len + array.nbytes} bytes).")
    native = dtype.newbyteorder("=")
    if native.str != dtype.str:   # swap the big-endian bytes in place: no second copy
        array.byteswap(inplace=True)
    return array.view(native)


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX ``data`` into an array of its stored shape, native byte order.

    Returns
    -------
    ndarray, shape as in the header (e.g. (N, 28, 28) uint8 for images, (N,) uint8 for labels).
    """
    return _read_array(io.BytesIO(data), name, len(data))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (raw or ``.gz``), streamed: the header first, then only the bytes it
    declares (see ``parse_idx`` for the shape); DatasetError with one sentence otherwise."""
    with _guard(path) as path, _open(path) as stream:
        return _read_array(stream, str(path), _raw_size(path))


def read_bytes(path: str | os.PathLike, limit: int = MAX_BYTES) -> bytes:
    """The whole content of ``path``, decompressed when the name ends in ``.gz``; DatasetError when
    it is larger than ``limit`` bytes (checked before reading, or after ``limit`` + 1 bytes of a
    compressed stream)."""
    with _guard(path) as path:
        size = _raw_size(path)
        if size is not None and size > limit:
            raise DatasetError(f"{path}: {size / 2**20:,.0f} MB is more than the {limit // 2**20} MB read.")
        with _open(path) as stream:
            data = _read_upto(stream, limit + 1)
        if len(data) > limit:
            raise DatasetError(f"{path}: decompresses to more than the {limit // 2**20} MB read.")
        return data


def load_idx_pair(images_path, labels_path, num_classes: int = 10):
    """Read an images file and its labels file and check that they belong together. Both headers
    are checked against each other before either body is read.

    Returns
    -------
    images : uint8 (N, H, W), N >= 1
    labels : int64 (N,), each in ``0 .. num_classes-1``
    """
    image_type, image_shape = read_idx_header(images_path)
    label_type, label_shape = read_idx_header(labels_path)
    if len(image_shape) != 3 or image_type != np.uint8:
        raise DatasetError(
            f"{images_path}: expected uint8 images shaped (N, H, W), "
            f"found {image_type} {image_shape}."
        )
    if len(label_shape) != 1 or label_type.kind not in "iu":
        raise DatasetError(f"{labels_path}: expected a 1-D integer label list, found {label_shape}.")
    if image_shape[0] != label_shape[0]:
        raise DatasetError(
            f"{labels_path}: {label_shape[0]} labels for {image_shape[0]} images in {images_path}."
        )
    if min(image_shape) < 1:
        raise DatasetError(f"{images_path}: holds no images (its header says {image_shape}).")
    images = read_idx(images_path)
    labels = read_idx(labels_path).astype(np.int64)
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

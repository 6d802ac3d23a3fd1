"""Write grayscale PNG files with only the standard library (zlib + struct), for docs and tests."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np

from cnnviz.errors import CnnvizError
from cnnviz.files import atomic_write


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write ``image``, uint8 (H, W) grayscale, as an 8-bit PNG through a temp file and a rename
    (``atomic_write``): a failed write raises CnnvizError and leaves an existing ``path`` as it was."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    h, w = image.shape
    raw = b"".join(b"\x00" + image[r].tobytes() for r in range(h))  # filter type 0 per row
    data = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b""))

    def write(tmp: str) -> None:
        with open(tmp, "wb") as out:
            out.write(data)

    atomic_write(path, write, CnnvizError, what="PNG image")


def tile(images: np.ndarray, columns: int, pad: int = 2, scale: int = 1) -> np.ndarray:
    """Arrange images (N, H, W) uint8 into one grid image, ``columns`` per row, enlarged ``scale`` x."""
    n, h, w = images.shape
    rows = -(-n // columns)
    grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad), 64, dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = img
    return np.kron(grid, np.ones((scale, scale), dtype=np.uint8)) if scale > 1 else grid

"""The PNG writer: its files decode to the pixels written, and a failed write damages nothing."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
import pytest

from cnnviz.data import png
from cnnviz.data.png import write_png
from cnnviz.errors import CnnvizError


def read_grayscale_png(data: bytes) -> np.ndarray:
    """Decode the PNGs write_png makes (8-bit grayscale, filter 0 on every row), checking each CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos : pos + 4]), data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 0) and b"IEND" in chunks
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, w + 1)
    assert not rows[:, 0].any()
    return rows[:, 1:]


def test_written_png_decodes_to_the_same_pixels(tmp_path):
    image = np.arange(7 * 5, dtype=np.uint8).reshape(7, 5) * 7
    write_png(tmp_path / "a.png", image)
    np.testing.assert_array_equal(read_grayscale_png((tmp_path / "a.png").read_bytes()), image)


def test_failed_write_leaves_the_existing_file_and_no_temp_file(tmp_path, disk_full):
    path = tmp_path / "keep.png"
    path.write_bytes(b"precious")
    disk_full(png)
    with pytest.raises(CnnvizError, match=r"PNG image .*keep\.png: No space left on device\."):
        write_png(path, np.zeros((4, 4), np.uint8))
    assert path.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["keep.png"]


def test_another_writers_temp_file_is_not_taken_over(tmp_path):
    other = tmp_path / "a.png.tmp"
    other.write_bytes(b"another writer's half-written file")
    write_png(tmp_path / "a.png", np.ones((2, 3), np.uint8))
    assert other.read_bytes() == b"another writer's half-written file"
    assert sorted(os.listdir(tmp_path)) == ["a.png", "a.png.tmp"]


def test_missing_folder_is_one_sentence_naming_the_file(tmp_path):
    with pytest.raises(CnnvizError, match=r"cannot write PNG image .*no-such-folder/a\.png: .*\.$"):
        write_png(tmp_path / "no-such-folder" / "a.png", np.ones((2, 3), np.uint8))

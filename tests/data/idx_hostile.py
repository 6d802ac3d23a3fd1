"""Hostile IDX files for the tests: headers of any shape, and gzip bombs built in milliseconds."""

from __future__ import annotations

import struct
import zlib

import numpy as np

GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"   # deflate, no name, no mtime


def idx_header(shape, type_code: int = 0x08) -> bytes:
    return struct.pack(f">HBB{len(shape)}I", 0, type_code, len(shape), *shape)


def idx_bytes(shape=(3, 2, 2), type_code: int = 0x08, payload: bytes | None = None) -> bytes:
    if payload is None:
        payload = bytes(int(np.prod(shape)) * {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}[type_code])
    return idx_header(shape, type_code) + payload


def gzip_bomb(start: bytes, inflated: int) -> bytes:
    """A .gz whose content is ``start`` followed by zeros up to ``inflated`` bytes, about
    ``inflated / 1000`` bytes long. After a full flush deflate restarts from an empty dictionary, so
    one compressed megabyte of zeros is repeated instead of compressing gigabytes. Its CRC is not
    right: a reader that checks it has already read everything, which is what must not happen."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(start) + packer.flush(zlib.Z_FULL_FLUSH)
    mega = bytes(1 << 20)
    first = packer.compress(mega) + packer.flush(zlib.Z_FULL_FLUSH)
    repeat = packer.compress(mega) + packer.flush(zlib.Z_FULL_FLUSH)
    count = max(2, inflated >> 20)
    tail = packer.flush()
    return b"".join([GZIP_HEADER, head, first, repeat * (count - 1), tail,
                     struct.pack("<II", 0, (len(start) + (count << 20)) & 0xFFFFFFFF)])

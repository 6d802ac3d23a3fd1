"""Hostile .npz files for the tests, built byte by byte: any member name, compression method, flag,
declared size or .npy header, and deflate bombs built in milliseconds."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, replace

import numpy as np

from cnnviz.nn import Adam, build_model, save_checkpoint


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes            # as stored in the zip (compressed when method is 8)
    size: int              # declared uncompressed size
    crc: int
    method: int = 0        # 0 stored, 8 deflated, anything else unsupported
    flags: int = 0         # bit 0: encrypted


def stored(name: str, content: bytes) -> Member:
    return Member(name, content, len(content), zlib.crc32(content))


def deflated(name: str, content: bytes) -> Member:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Member(name, packer.compress(content) + packer.flush(), len(content), zlib.crc32(content), 8)


def deflate_bomb(name: str, start: bytes, inflated: int) -> Member:
    """``start`` then zeros up to ``inflated`` bytes, about inflated/1000 bytes stored (see
    tests/data/idx_hostile.gzip_bomb for the trick). Its CRC is wrong: nobody may read that far."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(start) + packer.flush(zlib.Z_FULL_FLUSH)
    mega = bytes(1 << 20)
    packer.compress(mega)
    first = packer.flush(zlib.Z_FULL_FLUSH)
    repeat = packer.compress(mega) + packer.flush(zlib.Z_FULL_FLUSH)
    count = max(2, (inflated - len(start)) >> 20)
    data = head + first + repeat * (count - 1) + packer.flush()
    return Member(name, data, len(start) + (count << 20), 0, 8)


def zip_bytes(members: list[Member]) -> bytes:
    """A zip file of ``members`` exactly as given (no zip64: sizes must fit in 32 bits)."""
    out, central = io.BytesIO(), []
    for m in members:
        offset = out.tell()
        name = m.name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, m.flags, m.method, 0, 0x21,
                              m.crc, len(m.data), m.size, len(name), 0) + name + m.data)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, m.flags, m.method, 0, 0x21,
                                   m.crc, len(m.data), m.size, len(name), 0, 0, 0, 0, 0, offset) + name)
    start = out.tell()
    for entry in central:
        out.write(entry)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                          out.tell() - start, start, 0))
    return out.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_header(descr: str, shape: tuple, fortran: bool = False) -> bytes:
    """Just the .npy header (version 1.0) of an array of ``descr`` and ``shape``, no data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": fortran, "shape": shape})
    return buffer.getvalue()   # the magic string and version come with it


def good_checkpoint(tmp_path, preset: str = "tiny"):
    """(path, members by name, header dict) of a real checkpoint with Adam's state."""
    model = build_model(preset, seed=0)
    optimizer = Adam(model.parameters(), lr=0.01)
    optimizer.t = 3
    meta = {"dataset": "digits", "class_names": [str(d) for d in range(10)], "mean": 0.13, "std": 0.3,
            "input_shape": [1, 28, 28], "holdout": 0.2, "seed": 0}
    path = save_checkpoint(tmp_path / "good.npz", model, optimizer, step=3, meta=meta)
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: stored(info.filename, archive.read(info)) for info in archive.infolist()}
    header = json.loads(str(np.load(path, allow_pickle=False)["meta"]))
    return path, members, header


def meta_member(header, text: str | None = None) -> Member:
    """The ``meta.npy`` member holding ``header`` as JSON (or ``text`` as it is)."""
    if text is None:
        text = json.dumps(header)   # allow_nan: NaN and Infinity are written as JSON does not allow
    return stored("meta.npy", npy_bytes(np.array(text)))


def with_member(members: dict, member: Member) -> list[Member]:
    return [member if m.name == member.name else m for m in members.values()]


__all__ = ["Member", "deflate_bomb", "deflated", "good_checkpoint", "meta_member", "npy_bytes",
           "npy_header", "replace", "stored", "with_member", "zip_bytes"]

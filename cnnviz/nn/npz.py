"""Reading ``.npz`` files (as ``np.savez`` writes them) without trusting them.

``np.load`` reads a member's header and then allocates what the header declares, decompresses any
member whatever its size, and opens members a caller never asked for. Here every check that can be
made from a header is made before the body is read:

- the zip's end record: at most MAX_MEMBERS members, a member list of at most MAX_DIRECTORY_BYTES
  (checked before ``zipfile`` builds its list);
- a member's directory entry: stored or deflated (what ``np.savez`` and ``np.savez_compressed``
  write), not encrypted, its declared size within the caller's limit and the file's total budget;
- the member's ``.npy`` header: a dtype the caller allows (never an object array: that is a pickle),
  C order, and a shape whose bytes are exactly what is left of the member.

Only then are exactly that many bytes read; reading to the member's end checks its CRC. A member is
opened only when the caller asks for it by name.
"""

from __future__ import annotations

import errno
import math
import struct
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from cnnviz.errors import CnnvizError
from cnnviz.files import one_line

MAX_MEMBERS = 4096
MAX_DIRECTORY_BYTES = 1 << 20
NPY_MAGIC = b"\x93NUMPY"
END_RECORD = b"PK\x05\x06"
END_RECORD_SIZE = 22


class NpzReader:
    """An open ``.npz`` file. ``read(name, ...)`` returns one member's array after the checks above;
    ``names`` lists the members' names (``.npy`` stripped). Any violation raises ``error`` with one
    sentence naming the file; use inside ``cnnviz.files.reading`` so everything else does too."""

    def __init__(self, path, error: type[CnnvizError], what: str, max_total: int,
                 max_members: int = MAX_MEMBERS, max_directory: int = MAX_DIRECTORY_BYTES) -> None:
        self.path, self.error, self.what = Path(path), error, what
        self.max_members, self.max_directory = max_members, max_directory
        self.left = max_total   # bytes the members read so far may still add up to
        self.label = f"{what} {self.path}"
        with open(self.path, "rb") as handle:
            start = handle.read(len(NPY_MAGIC))
            if start == NPY_MAGIC:
                raise error(f"{self.label} is a single NumPy array (.npy), not an .npz {what}.")
            if not start:
                raise error(f"{self.label} is empty.")
            if not start.startswith(b"PK"):
                raise error(f"{self.label} is not an .npz file.")
            self._check_end_record(handle)
        try:
            self.archive = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile as exc:
            raise error(f"{self.label} is not a readable .npz file ({one_line(exc)}).") from None
        except OSError as exc:
            if exc.errno != errno.EINVAL:   # a real read error, said as such by the caller's guard
                raise
            raise error(f"{self.label} is not a readable .npz file (its zip directory points "
                        f"outside the file).") from None
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in self.archive.infolist():
            if info.filename in self.members:
                raise error(f"{self.label} holds two members named {info.filename!r}.")
            self.members[info.filename] = info

    def _check_end_record(self, handle) -> None:
        size = handle.seek(0, 2)
        tail = min(size, END_RECORD_SIZE + 0xFFFF)   # the record, then a comment of up to 64 KB
        handle.seek(size - tail)
        data = handle.read(tail)
        at = data.rfind(END_RECORD)
        if at < 0 or len(data) - at < END_RECORD_SIZE:
            raise self.error(f"{self.label} is not a readable .npz file (truncated, or not a zip file).")
        count, directory = struct.unpack("<HL", data[at + 10 : at + 16])
        if count > self.max_members or directory > self.max_directory or count == 0xFFFF:
            raise self.error(f"{self.label} lists {count} members in {directory:,} bytes; a {self.what} "
                             f"has at most {self.max_members}.")

    @property
    def names(self) -> list[str]:
        return [name[:-4] for name in self.members if name.endswith(".npy")]

    def __contains__(self, name: str) -> bool:
        return f"{name}.npy" in self.members

    def close(self) -> None:
        self.archive.close()

    def __enter__(self) -> NpzReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _member(self, member: str, max_bytes: int, shown: str | None = None) -> zipfile.ZipInfo:
        info = self.members.get(member)
        where = f"{self.label}: member {shown or member}"
        if info is None:
            raise self.error(f"{where} is missing.")
        if info.flag_bits & 0x1:
            raise self.error(f"{where} is encrypted; cnnviz reads only plain zip members.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self.error(f"{where} is compressed with zip method {info.compress_type}; "
                             f"cnnviz reads only stored or deflated members.")
        if info.file_size > min(max_bytes, self.left) + 4096:
            raise self.error(f"{where} declares {info.file_size:,} bytes, more than a {self.what} "
                             f"may hold ({min(max_bytes, self.left):,}).")
        return info

    def read_bytes(self, member: str, max_bytes: int) -> bytes:
        """The bytes of a member that is not an array (a JSON header), at most ``max_bytes``."""
        info = self._member(member, max_bytes)
        with self.archive.open(info) as stream:
            data = stream.read(max_bytes + 1)
        if len(data) > max_bytes or len(data) != info.file_size:
            raise self.error(f"{self.label}: member {member} is not the {info.file_size:,} bytes it declares.")
        self.left -= len(data)
        return data

    def read(self, name: str, kinds: str, max_bytes: int, shape_rank: int | None = None) -> np.ndarray:
        """Member ``name`` as an array whose dtype kind is one of ``kinds`` (e.g. "f" for floats,
        "U" for a text string), at most ``max_bytes`` bytes; ``shape_rank``: its number of axes."""
        where = f"{self.label}: member {name}"
        info = self._member(f"{name}.npy", max_bytes, name)
        with self.archive.open(info) as stream:
            version = npy_format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = npy_format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, fortran, dtype = npy_format.read_array_header_2_0(stream)
            else:
                raise self.error(f"{where} is a .npy of version {version}, which cnnviz does not read.")
            if dtype.hasobject or dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype:
                raise self.error(f"{where} holds {dtype} values, not what a {self.what} stores.")
            if fortran:
                raise self.error(f"{where} is stored in Fortran order, which a {self.what} never is.")
            if shape_rank is not None and len(shape) != shape_rank:
                raise self.error(f"{where} has {len(shape)} axes, not {shape_rank}.")
            nbytes = math.prod(shape) * dtype.itemsize
            if stream.tell() + nbytes != info.file_size:
                raise self.error(f"{where} declares shape {shape} of {dtype} ({nbytes:,} bytes), "
                                 f"which does not fit its {info.file_size:,} bytes.")
            data = stream.read(nbytes)
            if len(data) != nbytes or stream.read(1):
                raise self.error(f"{where} is truncated.")
        self.left -= nbytes
        return np.frombuffer(data, dtype=dtype).reshape(shape)

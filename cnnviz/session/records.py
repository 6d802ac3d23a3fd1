"""Records: what crosses the pipe and what files hold, as a JSON header plus named raw arrays. No pickle.

Two layers, both without Qt:

- the record layer turns a value into ``(header, arrays)``: ``header`` a JSON-able dict, ``arrays`` a dict
  of named NumPy arrays that the header refers to as ``{"$array": name}``. ``to_json`` / ``from_json`` do
  it for any nesting of mappings, lists, scalars and arrays (mappings come back read-only, lists as
  tuples, arrays as they went); ``snapshot_record``, ``part_record`` and ``dataset_record`` name the
  arrays of a Snapshot, of a statistics record or validation, of a Dataset. A Snapshot's statistics
  history and its last validation are shared by many snapshots, so they are records of their own,
  referred to by key (``SnapshotPacker`` sends each once; ``SnapshotUnpacker`` puts them back, shared).
- a frame is one record as bytes::

      prefix   24 bytes: MAGIC (8), VERSION (uint16), 0 (uint16), header length (uint32),
               data length (uint64), little-endian
      header   JSON (UTF-8): {"meta": header, "arrays": [[name, dtype, shape, offset], ...]}
      padding  zeros up to a multiple of ALIGN bytes from the frame's start
      data     each array's raw C-order little-endian bytes at ``offset`` from here (a multiple of ALIGN)

  ``decode_frame`` returns read-only arrays that view the received bytes (no copy) after checking the
  magic, the version, the header's size, depth and shape, every dtype against a whitelist and every
  array against the data's length; anything else raises RecordError, one sentence.

A run file (issue 13) stores the same records as zip members: ``write_records`` / ``read_records``
keep each record as ``NAME/header.json`` plus ``NAME/ARRAY.npy`` (``numpy.load(..., allow_pickle=False)``
and ``zipfile`` read them): the window's stream and a run file are the same records. File > Export
writes a snapshot's record as one .npz (``export_snapshot_npz``) and the curves as CSV; every write goes
to a temp file renamed over the target only once complete (rule 8).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import struct
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Callable
from dataclasses import fields
from types import MappingProxyType

import numpy as np

from cnnviz.errors import CnnvizError, RecordError
from cnnviz.files import atomic_write as write_atomically
from cnnviz.session.snapshot import LayerState, Snapshot

MAGIC = b"\x89CNNVIZ\n"   # a high byte and a newline: a 7-bit or newline-translating channel breaks it visibly
VERSION = 1
PREFIX = struct.Struct("<8sHHIQ")
ALIGN = 64                # every array starts at a multiple of this: views are aligned for any dtype
MAX_HEADER = 16 * 2**20   # a seed snapshot's header is ~6 KB
MAX_DATA = 2**36          # 64 GiB: only a guard against a length field of garbage
MAX_DEPTH = 32            # nesting of the header's JSON
MAX_NDIM = 32
ARRAY = "$array"
# dtypes a record may hold: plain numbers and booleans, little-endian (never objects: those pickle)
DTYPES = frozenset({"|b1", "|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f2", "<f4", "<f8"})
COALESCE = 64 * 1024      # arrays smaller than this are gathered into one write


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


# -- values <-> JSON plus arrays --------------------------------------------------------------------
def to_json(value, arrays: dict, name: str):
    """``value`` as JSON-able data; each array in it goes into ``arrays`` under its path ``name/key/...``
    and is replaced by {"$array": path}. Mappings need str keys; tuples become lists; paths become str."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        if name in arrays:
            raise RecordError(f"two arrays of one record are both named {name!r}.")
        arrays[name] = value
        return {ARRAY: name}
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or key == ARRAY:
                raise RecordError(f"{name}: a record's mapping keys must be text other than {ARRAY!r}, not {key!r}.")
            out[key] = to_json(item, arrays, f"{name}/{key}" if name else key)
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(item, arrays, f"{name}/{i}") for i, item in enumerate(value)]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise RecordError(f"{name}: a {type(value).__name__} cannot go into a record (only numbers, text, "
                      f"lists, mappings and arrays can).")


def from_json(value, arrays: Mapping):
    """The inverse of ``to_json``: mappings come back read-only (MappingProxyType), lists as tuples."""
    if isinstance(value, dict):
        if ARRAY in value:
            name = value[ARRAY]
            if len(value) != 1 or not isinstance(name, str) or name not in arrays:
                raise RecordError(f"the record refers to an array {name!r} that it does not hold.")
            return arrays[name]
        return MappingProxyType({key: from_json(item, arrays) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(from_json(item, arrays) for item in value)
    return value


# -- Snapshots ----------------------------------------------------------------------------------------
LAYER_ARRAYS = ("input", "output", "pre_activation", "dL_dout", "dL_dinput", "mask")
LAYER_GROUPS = {"params": "", "grads": "dL_d", "update": "delta_"}   # group -> array name prefix
SHARED = ("stats", "validation")    # Snapshot fields that are records of their own ("parts")
SNAPSHOT_FIELDS = tuple(f.name for f in fields(Snapshot) if f.name not in ("layers", *SHARED))
LAYER_FIELDS = tuple(f.name for f in fields(LayerState))


def layer_key(state) -> str:
    """'layer2_conv': the prefix of one layer's arrays in a record (and in an exported .npz)."""
    return f"layer{state.index}_{state.kind}"


def _layer_json(state: LayerState, arrays: dict) -> dict:
    prefix = layer_key(state)
    out = {}
    for name in LAYER_FIELDS:
        value = getattr(state, name)
        if name in LAYER_ARRAYS:
            out[name] = to_json(value, arrays, f"{prefix}/{name}")
        elif name in LAYER_GROUPS:
            out[name] = {key: to_json(array, arrays, f"{prefix}/{LAYER_GROUPS[name]}{key}")
                         for key, array in value.items()}
        else:
            out[name] = to_json(value, arrays, f"{prefix}/{name}")
    return out


def snapshot_record(snapshot: Snapshot, part_keys: Mapping[int, str] | None = None,
                    shared: bool = True) -> tuple[dict, dict]:
    """(header, arrays) of a Snapshot. Arrays are named for people: ``layer2_conv/output``,
    ``layer0_conv/W``, ``layer0_conv/dL_dW``, ``layer0_conv/delta_W``, ``probe_image``, ``curves/loss``.
    part_keys: id(shared object) -> key, for its statistics records and validation (see ``part_record``);
    without it they go into this record itself (``stats/0/...``, ``validation/...``); shared=False
    leaves them out."""
    arrays: dict[str, np.ndarray] = {}
    header = {"type": "snapshot",
              "fields": {name: to_json(getattr(snapshot, name), arrays, name) for name in SNAPSHOT_FIELDS},
              "layers": [_layer_json(state, arrays) for state in snapshot.layers]}
    if not shared:
        return header, arrays
    if part_keys is None:
        header["stats"] = to_json(snapshot.stats, arrays, "stats")
        header["validation"] = to_json(snapshot.validation, arrays, "validation")
    else:
        header["stats_keys"] = [part_keys[id(record)] for record in snapshot.stats]
        header["validation_key"] = None if snapshot.validation is None else part_keys[id(snapshot.validation)]
    return header, arrays


def part_record(kind: str, key: str, value) -> tuple[dict, dict]:
    """A shared frozen part (kind "stats": one ``layer_stats`` record; "validation": a validation record)
    as a record of its own: ``validation/confusion``, ``stats/layers/0/weight_hist`` ..."""
    arrays: dict[str, np.ndarray] = {}
    return {"type": "part", "kind": kind, "key": key, "value": to_json(value, arrays, kind)}, arrays


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise RecordError(f"this is not a cnnviz snapshot record: {what}.")


def _layer_from_json(data, arrays) -> LayerState:
    _expect(isinstance(data, dict), "a layer is not a mapping")
    values = {}
    for name, value in data.items():
        if name not in LAYER_FIELDS:
            continue   # written by a later cnnviz of the same format version
        value = from_json(value, arrays)
        if name in LAYER_ARRAYS:
            _expect(value is None or isinstance(value, np.ndarray), f"layer field {name} is not an array")
        elif name in LAYER_GROUPS or name == "config":
            _expect(isinstance(value, Mapping), f"layer field {name} is not a mapping")
            if name in LAYER_GROUPS:
                _expect(all(isinstance(v, np.ndarray) for v in value.values()), f"layer {name} are not arrays")
        values[name] = value
    for name in ("index", "name", "kind", "label", "input_shape", "output_shape"):
        _expect(name in values, f"a layer has no {name}")
    _expect(isinstance(values["index"], int) and isinstance(values["kind"], str), "a layer's index or kind is wrong")
    return LayerState(**values)


def snapshot_from_record(header: Mapping, arrays: Mapping, parts: Mapping | None = None) -> Snapshot:
    """The Snapshot of ``snapshot_record``'s (header, arrays); parts: key -> the shared part's value.
    RecordError (one sentence) when the record is not a snapshot."""
    _expect(isinstance(header, Mapping) and header.get("type") == "snapshot", "its type is not 'snapshot'")
    values = header.get("fields")
    _expect(isinstance(values, dict) and isinstance(header.get("layers"), list), "no fields or layers")
    kwargs = {name: from_json(value, arrays) for name, value in values.items() if name in SNAPSHOT_FIELDS}
    _expect(isinstance(kwargs.get("seq"), int) and isinstance(kwargs.get("phase", ""), str), "no sequence number")
    for name in ("probe_image", "probe_display", "probs"):
        _expect(kwargs.get(name) is None or isinstance(kwargs[name], np.ndarray), f"{name} is not an array")
    _expect(isinstance(kwargs.get("curves", {}), Mapping), "the curves are not a mapping")
    layers = tuple(_layer_from_json(layer, arrays) for layer in header["layers"])
    if "stats_keys" in header:
        parts = parts or {}
        keys, key = header["stats_keys"], header.get("validation_key")
        _expect(isinstance(keys, list) and all(k in parts for k in keys) and (key is None or key in parts),
                "it refers to statistics or a validation that did not come before it")
        stats, validation = tuple(parts[k] for k in keys), None if key is None else parts[key]
    else:
        stats = from_json(header.get("stats", []), arrays)
        validation = from_json(header.get("validation"), arrays)
    _expect(isinstance(stats, tuple) and (validation is None or isinstance(validation, Mapping)),
            "its statistics or validation have the wrong shape")
    try:
        return Snapshot(layers=layers, stats=stats, validation=validation, **kwargs)
    except TypeError as error:
        raise RecordError(f"this is not a cnnviz snapshot record: {error}.") from None


class SnapshotPacker:
    """Snapshots into records for a reader that keeps what it was sent (``SnapshotUnpacker``). The
    statistics records and the validation that consecutive snapshots share go once each, as parts:
    pack(snapshot) -> [part records not sent before ..., the snapshot's record]. Every snapshot
    carries the run's whole statistics history (~200 records by step 6,000); sent whole each time it
    cost 8.5 ms a snapshot and slowed training by half.

    keep_all=False (the pipe): the reader keeps only the parts of the last snapshot, and so does this
    packer; a part that comes back later (a stepped-back history) is sent again. True (a file): each
    part is written once for the whole run."""

    def __init__(self, keep_all: bool = False) -> None:
        self.keep_all = keep_all
        self._sent: dict[int, tuple[str, object]] = {}   # id(part) -> (key, part): the part is kept alive
        self._next = 0

    def pack(self, snapshot: Snapshot) -> list[tuple[dict, dict]]:
        records, keys, sent = [], {}, {}
        shared = [("stats", record) for record in snapshot.stats]
        if snapshot.validation is not None:
            shared.append(("validation", snapshot.validation))
        for kind, part in shared:
            entry = self._sent.get(id(part))
            if entry is None or entry[1] is not part:
                entry = (f"{kind[0]}{self._next}", part)
                self._next += 1
                records.append(part_record(kind, entry[0], part))
            sent[id(part)] = entry
            keys[id(part)] = entry[0]
        self._sent = {**self._sent, **sent} if self.keep_all else sent
        records.append(snapshot_record(snapshot, keys))
        return records


class SnapshotUnpacker:
    """The reading side of SnapshotPacker: ``unpack(header, arrays)`` keeps a part and returns None,
    or returns the Snapshot of a snapshot record with its parts shared again. keep_all as the packer's."""

    def __init__(self, keep_all: bool = False) -> None:
        self.keep_all = keep_all
        self._parts: dict[str, object] = {}

    def unpack(self, header: Mapping, arrays: Mapping) -> Snapshot | None:
        if isinstance(header, Mapping) and header.get("type") == "part":
            key, kind = header.get("key"), header.get("kind")
            _expect(isinstance(key, str) and kind in SHARED, "a shared part without a key")
            self._parts[key] = from_json(header.get("value"), arrays)
            return None
        snapshot = snapshot_from_record(header, arrays, self._parts)
        if not self.keep_all:
            used = set(header["stats_keys"]) | {header.get("validation_key")}
            self._parts = {key: part for key, part in self._parts.items() if key in used}
        return snapshot


# -- datasets (what a child process is given to train on) -------------------------------------------
DATASET_FIELDS = ("name", "class_names", "mean", "std", "holdout")
DATASET_ARRAYS = ("raw_train", "y_train", "raw_test", "y_test", "raw_val", "y_val")


def dataset_record(dataset, arrays: dict, name: str = "dataset") -> dict:
    """A cnnviz.data.Dataset as JSON (its arrays into ``arrays`` as ``dataset/raw_train`` ...)."""
    from cnnviz.data import Dataset

    if not isinstance(dataset, Dataset):
        raise RecordError(f"only a cnnviz.data.Dataset can be sent to the training process, not a "
                          f"{type(dataset).__name__}.")
    out = {"type": "dataset"}
    for field_name in DATASET_FIELDS + DATASET_ARRAYS:
        out[field_name] = to_json(getattr(dataset, field_name), arrays, f"{name}/{field_name}")
    return out


def dataset_from_record(data, arrays: Mapping):
    from cnnviz.data import Dataset

    if not isinstance(data, dict) or data.get("type") != "dataset":
        raise RecordError("this is not a cnnviz dataset record.")
    values = {key: from_json(data.get(key), arrays) for key in DATASET_FIELDS + DATASET_ARRAYS}
    if not all(isinstance(values[key], np.ndarray) for key in DATASET_ARRAYS):
        raise RecordError("this dataset record lacks some of its images or labels.")
    return Dataset(**values)


# -- frames: one record as bytes --------------------------------------------------------------------
def _wire_array(name: str, array) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.str not in DTYPES:
        swapped = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else None
        if swapped is None or swapped.str not in DTYPES:
            raise RecordError(f"array {name!r} has dtype {array.dtype}, which a record cannot hold "
                              f"(numbers and booleans only).")
        array = array.astype(swapped)
    return array if array.flags.c_contiguous else array.copy(order="C")   # (ascontiguousarray makes 0-d 1-d)


def encode_frame(meta: Mapping, arrays: Mapping[str, np.ndarray]) -> list:
    """One frame as a list of buffers (bytes and memoryviews of the arrays, uncopied) to write in order."""
    table, placed, offset = [], [], 0
    for name, array in arrays.items():
        array = _wire_array(name, array)
        offset = _align(offset)
        table.append([name, array.dtype.str, list(array.shape), offset])
        placed.append((offset, array))
        offset += array.nbytes
    try:
        head = json.dumps({"meta": meta, "arrays": table}, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise RecordError(f"a record's header cannot be written as JSON ({error}).") from None
    if len(head) > MAX_HEADER:
        raise RecordError(f"a record's header of {len(head)} bytes is over the {MAX_HEADER}-byte limit.")
    start = _align(PREFIX.size + len(head))
    pieces = [PREFIX.pack(MAGIC, VERSION, 0, len(head), offset), head, bytes(start - PREFIX.size - len(head))]
    position = 0
    for at, array in placed:
        if at > position:
            pieces.append(bytes(at - position))
        if array.nbytes:
            pieces.append(memoryview(array.reshape(-1).view(np.uint8)))
        position = at + array.nbytes
    return pieces


def frame_bytes(meta: Mapping, arrays: Mapping[str, np.ndarray]) -> bytes:
    return b"".join(encode_frame(meta, arrays))


def _not_a_record(what: str, start: bytes) -> RecordError:
    hint = " (it looks like a pickle, which cnnviz never reads)" if start[:1] == b"\x80" else ""
    return RecordError(f"{what} is not a cnnviz record: it starts with {start[:8]!r}{hint}.")


def parse_prefix(prefix: bytes, what: str = "the data") -> tuple[int, int, int]:
    """(header length, data length, total frame length) from a frame's first PREFIX.size bytes."""
    if len(prefix) < PREFIX.size:
        raise RecordError(f"{what} is not a cnnviz record: {len(prefix)} bytes are too few.")
    magic, version, _, head_len, data_len = PREFIX.unpack_from(prefix)
    if magic != MAGIC:
        raise _not_a_record(what, bytes(prefix[:8]))
    if version != VERSION:
        newer = "a newer" if version > VERSION else "an older"
        raise RecordError(f"{what} was written by {newer} cnnviz (record format {version}; this one "
                          f"reads format {VERSION}).")
    if head_len > MAX_HEADER or data_len > MAX_DATA:
        raise RecordError(f"{what} is damaged: its header ({head_len} bytes) or data ({data_len} bytes) "
                          f"is impossibly large.")
    return head_len, data_len, _align(PREFIX.size + head_len) + data_len


def _depth(value) -> int:
    """How deeply containers nest in parsed JSON (scalars are not visited: a header is mostly scalars)."""
    depth, level = 0, [value]
    while level and depth <= MAX_DEPTH:
        depth += 1
        below = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
            below.extend(child for child in children if isinstance(child, (dict, list)))
        level = below
    return depth


def decode_frame(buffer, what: str = "the data") -> tuple[dict, dict[str, np.ndarray]]:
    """(meta, arrays) of one frame. The arrays are read-only views of ``buffer`` (kept alive by them)."""
    view = memoryview(buffer).cast("B")
    view = view if view.readonly else view.toreadonly()
    head_len, data_len, total = parse_prefix(view[:PREFIX.size], what)
    if len(view) != total:
        raise RecordError(f"{what} is not a whole cnnviz record: {len(view)} bytes instead of {total} "
                          f"({'cut short' if len(view) < total else 'with extra bytes'}).")
    try:
        header = json.loads(bytes(view[PREFIX.size:PREFIX.size + head_len]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RecordError(f"{what} is damaged: its header is not JSON.") from None
    if not isinstance(header, dict) or not isinstance(header.get("meta"), dict) or \
            not isinstance(header.get("arrays"), list):
        raise RecordError(f"{what} is damaged: its header lacks the record or its table of arrays.")
    if _depth(header["meta"]) > MAX_DEPTH:   # the table of arrays is checked entry by entry below
        raise RecordError(f"{what} is damaged: its header nests deeper than {MAX_DEPTH} levels.")
    start, arrays = _align(PREFIX.size + head_len), {}
    for entry in header["arrays"]:
        name, array = _array_at(entry, view, start, data_len, what)
        if name in arrays:
            raise RecordError(f"{what} is damaged: it holds two arrays named {name!r}.")
        arrays[name] = array
    return header["meta"], arrays


def _array_at(entry, view: memoryview, start: int, data_len: int, what: str) -> tuple[str, np.ndarray]:
    ok = isinstance(entry, list) and len(entry) == 4
    name, dtype, shape, offset = entry if ok else (None, None, None, None)
    ok = ok and isinstance(name, str) and isinstance(dtype, str) and isinstance(shape, list)
    ok = ok and len(shape) <= MAX_NDIM and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                               for n in shape)
    ok = ok and isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0 and offset % ALIGN == 0
    if not ok:
        raise RecordError(f"{what} is damaged: an entry of its table of arrays is malformed ({entry!r:.80}).")
    if dtype not in DTYPES:
        raise RecordError(f"{what} holds array {name!r} of dtype {dtype!r}, which cnnviz does not read "
                          f"(numbers and booleans only).")
    dt = np.dtype(dtype)
    count = math.prod(shape)
    if offset + count * dt.itemsize > data_len:
        raise RecordError(f"{what} is damaged: array {name!r} ({'x'.join(map(str, shape))} {dt}) runs past "
                          f"the end of the data.")
    if count == 0:
        array = np.empty(shape, dt)
        array.setflags(write=False)
        return name, array
    return name, np.frombuffer(view, dt, count, start + offset).reshape(shape)


# -- streams -----------------------------------------------------------------------------------------
def _read_into(stream, view: memoryview) -> int:
    got = 0
    while got < len(view):
        n = stream.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def read_frame(stream, what: str = "the stream") -> tuple[dict, dict] | None:
    """The next frame of a binary stream (``readinto``), or None at a clean end before its first byte.
    The frame's bytes are read into one buffer that its arrays view."""
    prefix = bytearray(PREFIX.size)
    got = _read_into(stream, memoryview(prefix))
    if got == 0:
        return None
    if got < PREFIX.size:
        raise RecordError(f"{what} ended in the middle of a record.")
    _, _, total = parse_prefix(prefix, what)
    buffer = bytearray(total)
    buffer[:PREFIX.size] = prefix
    if _read_into(stream, memoryview(buffer)[PREFIX.size:]) < total - PREFIX.size:
        raise RecordError(f"{what} ended in the middle of a record.")
    return decode_frame(buffer, what)


def write_frame(stream, meta: Mapping, arrays: Mapping[str, np.ndarray]) -> int:
    """Write one frame to a binary stream; small pieces gathered, large arrays written from their own
    memory. Returns the bytes written."""
    total, small = 0, bytearray()
    for piece in encode_frame(meta, arrays):
        if len(piece) < COALESCE:
            small += piece
            continue
        total += _write_all(stream, small) + _write_all(stream, piece)
        small = bytearray()
    total += _write_all(stream, small)
    stream.flush()
    return total


def _write_all(stream, data) -> int:
    view, done = memoryview(data).cast("B"), 0
    while done < len(view):
        written = stream.write(view[done:])
        done += len(view) - done if written is None else written   # a buffered stream writes it all
    return done


# -- files: records as zip members --------------------------------------------------------------------
def write_records(archive: zipfile.ZipFile, name: str, meta: Mapping, arrays: Mapping[str, np.ndarray]) -> None:
    """One record into an open zip: ``name/header.json`` and ``name/ARRAY.npy`` for each array (array
    names may hold '/', so ``layer0_conv/W`` becomes ``name/layer0_conv/W.npy``)."""
    archive.writestr(f"{name}/header.json", json.dumps(meta, separators=(",", ":")))
    for array_name, array in arrays.items():
        with archive.open(f"{name}/{array_name}.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array(member, _wire_array(array_name, array), allow_pickle=False)


def read_records(archive: zipfile.ZipFile, name: str) -> tuple[dict, dict[str, np.ndarray]]:
    """The record ``name`` of an open zip, its arrays read-only. RecordError for a damaged member."""
    prefix = f"{name}/"
    try:
        meta = json.loads(archive.read(f"{prefix}header.json").decode("utf-8"))
        arrays = {}
        for member in archive.namelist():
            if member.startswith(prefix) and member.endswith(".npy"):
                with archive.open(member) as handle:
                    array = np.lib.format.read_array(handle, allow_pickle=False)
                if array.dtype.str not in DTYPES:
                    raise RecordError(f"{member} has dtype {array.dtype}, which cnnviz does not read.")
                array.setflags(write=False)
                arrays[member[len(prefix):-4]] = array
    except (KeyError, ValueError, OSError, zipfile.BadZipFile, UnicodeDecodeError, RecursionError) as error:
        raise RecordError(f"record {name} cannot be read ({error}).") from None
    if not isinstance(meta, dict) or _depth(meta) > MAX_DEPTH:
        raise RecordError(f"record {name} is damaged: its header is not a small JSON object.")
    return meta, arrays


# -- File > Export: a snapshot's record as .npz, the curves as CSV ---------------------------------------
CSV_HEADER = ("curve", "images_seen", "value")
STATS_SERIES = ("grad_norm", "weight_norm", "update_ratio")
META_FIELDS = ("seq", "phase", "layer_index", "step", "epoch", "images_seen", "batch_loss", "batch_accuracy",
               "val_accuracy", "lr", "probe_label", "probe_index", "probe_split", "probe_loss", "dataset",
               "preset", "message")


class ExportError(CnnvizError):
    """A file could not be written; the sentence names the file and the reason."""


def atomic_write(path, write: Callable[[str], None]) -> Path:
    """``cnnviz.files.atomic_write`` raising ExportError: ``path`` is replaced only when whole."""
    return write_atomically(path, write, ExportError)


def snapshot_arrays(snapshot) -> dict[str, np.ndarray]:
    """Every array of the Snapshot under the names of its record (``layer2_conv/output``,
    ``layer0_conv/W``, ``layer0_conv/dL_dW``, ``layer0_conv/delta_W``, ``probe_image``, ``curves/loss``,
    ``validation/confusion`` and its misclassified images), the statistics as series (``stats/steps``,
    ``stats/grad_norm/layer0_conv``: one (T,) series per layer and STATS_SERIES field), and ``meta``, a
    JSON string with the scalar fields (step, phase, lr, probe label, class names, layers ...)."""
    from cnnviz.session.stats import series

    _, arrays = snapshot_record(snapshot, shared=False)
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    if snapshot.validation is not None:
        arrays.update(part_record("validation", "v", snapshot.validation)[1])
    records = list(snapshot.stats or ())
    if records:
        keys = {state.index: layer_key(state) for state in snapshot.layers}
        for field_name in STATS_SERIES:
            steps, values = series(records, field_name)
            arrays["stats/steps"] = steps
            for index, ys in values.items():
                arrays[f"stats/{field_name}/{keys.get(index, f'layer{index}')}"] = ys
    meta = {key: getattr(snapshot, key) for key in META_FIELDS}
    meta["class_names"] = list(snapshot.class_names)
    meta["layers"] = [{"key": layer_key(s), "name": s.name, "label": s.label, "kind": s.kind,
                       "config": dict(getattr(s, "config", None) or {}),
                       "input_shape": list(s.input_shape), "output_shape": list(s.output_shape)}
                      for s in snapshot.layers]
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def export_snapshot_npz(snapshot, path) -> Path:
    """Write every array of ``snapshot`` (see ``snapshot_arrays``) to one .npz, readable with
    ``np.load(path, allow_pickle=False)``; atomic. Returns the path."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **snapshot_arrays(snapshot))

    def write(tmp):
        with open(tmp, "wb") as handle:
            handle.write(buffer.getvalue())

    return atomic_write(path, write)


def curve_rows(curves) -> list[tuple[str, float, float]]:
    """(name, images_seen, value) for every point of every curve, curves in name order.

    curves: name -> (2, n) array (images seen, value), a Snapshot's ``curves``, or a ``Curves``."""
    if hasattr(curves, "as_arrays"):
        curves = curves.as_arrays()
    rows = []
    for name in sorted(curves):
        data = np.asarray(curves[name], dtype=np.float64)
        if data.ndim != 2 or data.shape[0] != 2:
            raise ExportError(f"curve {name!r} should be a (2, n) array of images seen and values, "
                              f"not shape {data.shape}.")
        rows.extend((name, float(x), float(y)) for x, y in zip(data[0], data[1]))
    return rows


def export_curves_csv(curves, path) -> Path:
    """Write the curves as CSV, one point per row: ``curve,images_seen,value`` (long format, since
    the curves have different x values: validation is measured less often). Atomic."""
    rows = curve_rows(curves)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for name, x, y in rows:
        writer.writerow((name, f"{x:.10g}", repr(y)))

    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text.getvalue())

    return atomic_write(path, write)

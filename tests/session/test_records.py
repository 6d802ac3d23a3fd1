"""The record codec (cnnviz.session.records): snapshots cross as a JSON header plus raw arrays, come back
equal, frozen and viewing the received bytes; anything that is not a record is one sentence."""

from __future__ import annotations

import io
import json
import pickle
import struct
import types
import zipfile

import numpy as np
import pytest

from cnnviz.errors import CnnvizError, RecordError
from cnnviz.session import records
from cnnviz.session.outlet import snapshot_arrays
from cnnviz.session.records import (SnapshotPacker, SnapshotUnpacker, decode_frame, frame_bytes, read_frame,
                                    read_records, snapshot_from_record, snapshot_record, write_frame, write_records)
from cnnviz.session.snapshot import Snapshot

from session_helpers import run_commands


@pytest.fixture
def trained(session):
    """A live snapshot after some training: layers, probe, curves, statistics and a validation."""
    run_commands(session, ("step_batch", {}), ("play", {}))
    for _ in range(12):
        session.tick()
    snapshot = session.outlet.mailbox.latest()
    assert snapshot.validation is not None and len(snapshot.stats) >= 1
    return snapshot


def through_frames(snapshot, packer=None, unpacker=None):
    packer, unpacker = packer or SnapshotPacker(), unpacker or SnapshotUnpacker()
    frames = [frame_bytes({"record": header}, arrays) for header, arrays in packer.pack(snapshot)]
    out = [unpacker.unpack(meta["record"], arrays) for meta, arrays in map(decode_frame, frames)]
    assert out[:-1] == [None] * (len(out) - 1)   # the parts come first and give no snapshot
    return out[-1], frames


def assert_same(original: Snapshot, copy: Snapshot) -> None:
    for name in records.SNAPSHOT_FIELDS:
        if name not in ("curves", "probe_image", "probe_display", "probs"):
            assert getattr(copy, name) == getattr(original, name), name
    before, after = snapshot_arrays(original), snapshot_arrays(copy)
    assert len(after) == len(before) > 20
    for a, b in zip(before.values(), after.values()):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
        assert not b.flags.writeable
    for old, new in zip(original.layers, copy.layers):
        assert (new.name, new.kind, new.label, new.input_shape, new.output_shape) == \
            (old.name, old.kind, old.label, old.input_shape, old.output_shape)
        assert dict(new.config) == dict(old.config) and set(new.params) == set(old.params)
    assert [dict(r)["step"] for r in copy.stats] == [dict(r)["step"] for r in original.stats]


def test_a_snapshot_crosses_equal_frozen_and_viewing_the_bytes(trained):
    copy, frames = through_frames(trained)
    assert_same(trained, copy)
    assert isinstance(copy.validation, types.MappingProxyType)
    with pytest.raises(TypeError):
        copy.validation["accuracy"] = 1.0
    with pytest.raises(ValueError):
        copy.layers[0].params["W"][0, 0, 0, 0] = 1.0
    # no copy on the way in: the dense layer's weights lie inside the snapshot's frame
    frame = frames[-1]
    start = np.frombuffer(frame, np.uint8).ctypes.data
    weights = copy.layers[6].params["W"]
    assert start <= weights.ctypes.data and weights.ctypes.data + weights.nbytes <= start + len(frame)


def test_the_record_names_arrays_as_the_export_does(trained):
    header, arrays = snapshot_record(trained)
    assert {"layer0_conv/W", "layer0_conv/dL_dW", "layer2_conv/output", "layer4_maxpool/mask",
            "probe_image", "probs", "curves/loss", "validation/confusion"} <= set(arrays)
    json.dumps(header)   # the header alone is JSON
    assert snapshot_from_record(header, arrays).step == trained.step


def test_statistics_and_validation_cross_once_and_come_back_shared(trained):
    packer, unpacker = SnapshotPacker(), SnapshotUnpacker()
    first, frames_a = through_frames(trained, packer, unpacker)
    again, frames_b = through_frames(trained, packer, unpacker)
    assert len(frames_a) == len(trained.stats) + 2 and len(frames_b) == 1   # parts went once
    assert again.stats[0] is first.stats[0] and again.validation is first.validation
    records_ = [types.MappingProxyType({"step": i, "grad_norm": np.full(1000, float(i))}) for i in range(6)]
    histories = [records_[:2], records_[:4], records_[:6], records_[0:6:2], records_[:4]]   # thinned, rewound
    packer, unpacker = SnapshotPacker(), SnapshotUnpacker()
    sizes = []
    for seq, history in enumerate(histories):
        got, frames = through_frames(Snapshot(seq=seq, layers=(), stats=tuple(history)), packer, unpacker)
        sizes.append(sum(map(len, frames)))
        assert [r["step"] for r in got.stats] == [r["step"] for r in history]
        assert all(np.array_equal(a["grad_norm"], b["grad_norm"]) for a, b in zip(got.stats, history))
    assert sizes[3] < sizes[2] / 4   # thinned: only keys crossed
    assert sizes[4] > sizes[3] * 4   # rewound: records 1 and 3 were forgotten by both sides, so crossed again


def test_any_plain_array_comes_back_equal_and_read_only():
    grid = np.arange(24, dtype=np.float32).reshape(4, 6)
    arrays = {"grid": grid, "strided": grid[:, ::2], "transposed": grid.T, "empty": np.zeros((0, 3)),
              "scalar": np.float64(2.5) * np.ones(()), "mask": np.array([True, False]),
              "big_endian": np.arange(3, dtype=">i4"), "bytes": np.arange(7, dtype=np.uint8)}
    meta, back = decode_frame(frame_bytes({"what": "test"}, arrays))
    assert meta == {"what": "test"}
    for name, array in arrays.items():
        assert back[name].shape == array.shape and np.array_equal(back[name], array), name
        assert not back[name].flags.writeable
        assert back[name].flags.aligned and back[name].flags.c_contiguous


@pytest.mark.parametrize("value", [np.array(["a", 1], dtype=object), np.array(["text"]), object(), {1: "x"}])
def test_what_a_record_cannot_hold_is_one_sentence(value):
    with pytest.raises(RecordError) as caught:
        frame_bytes({}, {"x": value}) if isinstance(value, np.ndarray) else records.to_json({"v": value}, {}, "")
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


def good_frame() -> bytes:
    return frame_bytes({"kind": "test"}, {"w": np.arange(10, dtype=np.float32)})


def patched_table(change) -> bytes:
    """good_frame with its header's table of arrays changed by ``change(table)``; lengths kept right."""
    frame = good_frame()
    _, _, _, head_len, data_len = records.PREFIX.unpack_from(frame)
    header = json.loads(frame[records.PREFIX.size:records.PREFIX.size + head_len])
    change(header)
    head = json.dumps(header).encode()
    data = frame[-data_len:] if data_len else b""
    start = records._align(records.PREFIX.size + len(head))
    prefix = records.PREFIX.pack(records.MAGIC, records.VERSION, 0, len(head), len(data))
    return prefix + head + bytes(start - records.PREFIX.size - len(head)) + data


BAD = {
    "a text file": (b"hello, this is a text file that someone renamed\n" * 3, "not a cnnviz record"),
    "a pickle": (pickle.dumps({"step": 1}), "pickle"),
    "too short": (b"\x89CNN", "too few"),
    "cut short": (good_frame()[:-7], "cut short"),
    "extra bytes": (good_frame() + b"\0" * 3, "extra bytes"),
    "a future version": (good_frame()[:8] + struct.pack("<H", 99) + good_frame()[10:], "newer cnnviz"),
    "a huge header length": (good_frame()[:12] + struct.pack("<I", 2**31) + good_frame()[16:], "impossibly large"),
    "an object dtype": (patched_table(lambda h: h["arrays"][0].__setitem__(1, "|O")), "does not read"),
    "a shape longer than the data": (patched_table(lambda h: h["arrays"][0].__setitem__(2, [1000])), "runs past"),
    "a negative dimension": (patched_table(lambda h: h["arrays"][0].__setitem__(2, [-1])), "malformed"),
    "an unaligned offset": (patched_table(lambda h: h["arrays"][0].__setitem__(3, 3)), "malformed"),
    "two arrays of one name": (patched_table(lambda h: h["arrays"].append(list(h["arrays"][0]))), "two arrays"),
    "deep JSON": (patched_table(lambda h: h.__setitem__("meta", json.loads("[" * 40 + "]" * 40))), "lacks"),
    "deep meta": (patched_table(lambda h: h["meta"].__setitem__("x", json.loads("[" * 40 + "]" * 40))), "deeper"),
    "no table": (patched_table(lambda h: h.pop("arrays")), "lacks"),
}


@pytest.mark.parametrize("name", BAD)
def test_bytes_that_are_not_a_record_are_one_sentence(name):
    data, words = BAD[name]
    with pytest.raises(RecordError) as caught:
        decode_frame(data, "the file x.cnnviz")
    text = str(caught.value)
    assert words in text and "x.cnnviz" in text and text.endswith(".") and "\n" not in text
    assert isinstance(caught.value, CnnvizError)


def test_a_broken_header_is_one_sentence():
    frame = bytearray(good_frame())
    frame[records.PREFIX.size] = ord("}")   # the header's JSON no longer parses
    with pytest.raises(RecordError, match="not JSON"):
        decode_frame(bytes(frame))


def test_a_snapshot_record_with_missing_parts_is_one_sentence(trained):
    *parts, (header, arrays) = SnapshotPacker().pack(trained)
    with pytest.raises(RecordError, match="did not come before"):
        SnapshotUnpacker().unpack(header, arrays)   # its parts never arrived
    with pytest.raises(RecordError, match="not a cnnviz snapshot"):
        snapshot_from_record({"type": "snapshot", "fields": {"seq": "one"}, "layers": []}, {})


def test_a_stream_of_frames_then_its_end():
    stream = io.BytesIO()
    sizes = [write_frame(stream, {"i": i}, {"a": np.full(i * 50_000, i, np.int16)}) for i in range(3)]
    assert sum(sizes) == len(stream.getvalue())
    stream.seek(0)
    for i in range(3):
        meta, arrays = read_frame(stream)
        assert meta == {"i": i} and np.all(arrays["a"] == i) and len(arrays["a"]) == i * 50_000
    assert read_frame(stream) is None
    with pytest.raises(RecordError, match="ended in the middle"):
        read_frame(io.BytesIO(good_frame()[:40]), "the pipe")


def test_run_files_can_hold_the_same_records_as_zip_members(trained, tmp_path):
    path = tmp_path / "run.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i, (header, arrays) in enumerate(SnapshotPacker(keep_all=True).pack(trained)):
            write_records(archive, f"r{i:04d}", header, arrays)
    with zipfile.ZipFile(path) as archive:
        names = sorted({member.split("/")[0] for member in archive.namelist()})
        unpacker = SnapshotUnpacker(keep_all=True)
        out = [unpacker.unpack(*read_records(archive, name)) for name in names]
    assert_same(trained, out[-1])
    with np.load(path, allow_pickle=False) as data:   # plain numpy reads every array member
        last = names[-1]
        assert np.array_equal(data[f"{last}/layer0_conv/W"], trained.layers[0].params["W"])


def test_dead_channels_the_scheduled_rate_and_settings_cross_the_codec(session):
    """A network whose second conv is partly dead (its biases pushed far below zero): the flags,
    the images they cover, the scheduled rate and the settings' names come back the same."""
    conv = session.trainer.model.layers[2]
    conv.params["b"][[1, 5]] = -1e3          # never positive again: ReLU output 0 everywhere
    session.outlet.mailbox.pacer.min_interval, session.outlet.mailbox.pacer.budget = 0, float("inf")
    run_commands(session, ("step_batch", {}), ("play", {}))
    for _ in range(4):
        session.tick()
        snapshot = session.outlet.mailbox.take()[-1]   # taking asks for the next one
    assert snapshot.layers[2].dead == snapshot.layers[3].dead == snapshot.layers[4].dead == (1, 5)
    assert snapshot.layers[0].dead == () and snapshot.layers[5].dead is None   # flatten: not watched
    assert snapshot.activity_images == session.trainer.activity.images > 0
    assert snapshot.current_lr == pytest.approx(session.trainer.current_lr) and snapshot.current_lr < snapshot.lr
    assert snapshot.schedule == "linear decay to 5%" and snapshot.paper_settings is False
    copy, _ = through_frames(snapshot)
    assert [layer.dead for layer in copy.layers] == [layer.dead for layer in snapshot.layers]
    assert (copy.activity_images, copy.current_lr, copy.schedule, copy.paper_settings) == (
        snapshot.activity_images, snapshot.current_lr, snapshot.schedule, snapshot.paper_settings)
    counts = [e.get("dead_channels") for e in copy.stats[-1]["layers"]]
    assert counts == [0, 2, None, None], "the statistics count dead channels per conv layer"

"""Seeded fuzzing of the checkpoint reader: a few hundred mutations of a real checkpoint (byte flips,
truncations, zip-field and .npy-header changes, member swaps and drops, JSON mutations). Each must
give either a loaded checkpoint or exactly one CheckpointError sentence naming the file; never
another exception. A sample also goes through the command line in a subprocess."""

from __future__ import annotations

import copy
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from npz_hostile import good_checkpoint, meta_member, npy_bytes, npy_header, replace, stored, zip_bytes

from cnnviz.errors import CheckpointError
from cnnviz.nn import load_checkpoint

REPO = Path(__file__).resolve().parents[2]
HOSTILE_VALUES = [None, -1, 0, 2**40, 10**30, 1.5, -0.0, 1e308, "abc", "", [], {}, [1, 2], {"a": 1},
                  True, "NaN", float("nan"), float("inf"), "x" * 1000, [[[[[[]]]]]]]


def byte_flips(rng, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(int(rng.integers(1, 9))):
        data[int(rng.integers(len(data)))] = int(rng.integers(256))
    return bytes(data)


def truncation(rng, data: bytes) -> bytes:
    return data[: int(rng.integers(len(data)))]


def zip_field(rng, members, header):
    """A directory field of one member changed: method, flags, declared size or CRC."""
    name = list(members)[int(rng.integers(len(members)))]
    m = members[name]
    field = int(rng.integers(4))
    changed = [replace(m, method=int(rng.choice([1, 6, 8, 9, 12, 14, 93, 99])), size=m.size),
               replace(m, flags=int(rng.integers(1, 16))),
               replace(m, size=int(rng.choice([0, 1, m.size - 1, m.size + 1, 2**31, 2**32 - 1]))),
               replace(m, crc=int(rng.integers(2**32)))][field]
    return zip_bytes([changed if x.name == name else x for x in members.values()])


def member_shuffle(rng, members, header):
    """Members swapped (one's content under another's name), dropped, duplicated or renamed."""
    items = list(members.values())
    kind = int(rng.integers(4))
    i, j = (int(v) for v in rng.choice(len(items), 2, replace=False))
    if kind == 0:
        items[i], items[j] = replace(items[i], data=items[j].data, size=items[j].size, crc=items[j].crc), \
            replace(items[j], data=items[i].data, size=items[i].size, crc=items[i].crc)
    elif kind == 1:
        del items[i]
    elif kind == 2:
        items.append(items[i])
    else:
        items[i] = replace(items[i], name=rng.choice(["param/9/W.npy", "../evil.npy", "optim/m_99.npy",
                                                      "meta", "META.npy", "param/0/W"]))
    return zip_bytes(items)


def npy_change(rng, members, header):
    """One array member's .npy header rewritten: shape, dtype or order."""
    names = [n for n in members if n != "meta.npy"]
    name = names[int(rng.integers(len(names)))]
    descr = str(rng.choice(["<f4", ">f4", "<f8", "<f2", "|O", "<i4", "|b1", "<U4", "|V8", "<c8"]))
    shape = [(), (0,), (2**31,), (2**20, 2**20), (4, 1, 3, 3), (1,) * 40, (3,)][int(rng.integers(7))]
    body = bytes(int(rng.integers(0, 300)))
    return zip_bytes([stored(name, npy_header(descr, shape, bool(rng.integers(2))) + body)
                      if n == name else m for n, m in members.items()])


def json_change(rng, members, header):
    """A value somewhere in the metadata replaced by a hostile one, a key deleted, or one added."""
    header = copy.deepcopy(header)
    node, target, key = header, header, None
    for _ in range(int(rng.integers(1, 6))):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        target, key = node, keys[int(rng.integers(len(keys)))]
        if not isinstance(node[key], (dict, list)) or rng.random() < 0.3:
            break
        node = node[key]
    hostile = HOSTILE_VALUES[int(rng.integers(len(HOSTILE_VALUES)))]
    action = int(rng.integers(3))
    if key is None or action == 2:
        if isinstance(node, dict):
            node[f"unknown{int(rng.integers(100))}"] = hostile
        else:
            node.append(hostile)
    elif action == 0:
        target[key] = hostile
    else:
        del target[key]
    return zip_bytes([meta_member(header) if n == "meta.npy" else m for n, m in members.items()])


def json_text(rng, members, header):
    """The metadata's text itself broken: cut, deeply nested, not JSON, or not a dict."""
    text = json.dumps(header)
    kind = int(rng.integers(4))
    text = [text[: int(rng.integers(len(text)))], "[" * int(rng.integers(30, 5000)) + "1",
            text.replace('"', "'", 1), json.dumps([header])][kind]
    return zip_bytes([meta_member(None, text) if n == "meta.npy" else m for n, m in members.items()])


def zip_tail(rng, members, header):
    """The end record's counts or offsets changed."""
    data = bytearray(zip_bytes(list(members.values())))
    at = data.rfind(b"PK\x05\x06")
    offset = at + int(rng.choice([8, 10, 12, 16]))
    width = 2 if offset < at + 12 else 4
    value = int(rng.integers(0, 2 ** (8 * width)))
    data[offset: offset + width] = value.to_bytes(width, "little")
    return bytes(data)


STRUCTURED = [zip_field, member_shuffle, npy_change, json_change, json_text, zip_tail]


def mutations(tmp_path, count: int, seed: int = 14):
    """(label, file bytes) of ``count`` seeded mutations of a real checkpoint."""
    path, members, header = good_checkpoint(tmp_path)
    good = path.read_bytes()
    rng = np.random.default_rng(seed)
    for i in range(count):
        kind = i % (len(STRUCTURED) + 2)
        if kind == 0:
            yield "byte flips", byte_flips(rng, good)
        elif kind == 1:
            yield "truncation", truncation(rng, good)
        else:
            change = STRUCTURED[kind - 2]
            yield change.__name__, change(rng, members, header)


def outcome(path) -> str:
    """'ok', or the one sentence; anything else fails the test with what happened."""
    try:
        checkpoint = load_checkpoint(path)
    except CheckpointError as error:
        message = str(error)
        assert "\n" not in message and str(path) in message, message
        return message
    assert checkpoint.step >= 0
    for params, _ in checkpoint.model.parameters():
        assert all(np.isfinite(a).all() for a in params.values())
    return "ok"


def test_four_hundred_mutations_load_or_give_one_sentence(tmp_path):
    results = {}
    for n, (label, data) in enumerate(mutations(tmp_path, 400)):
        path = tmp_path / f"m{n:03d}.npz"
        path.write_bytes(data)
        try:
            results.setdefault(label, []).append(outcome(path))
        except Exception as exc:   # noqa: BLE001 - report which mutation broke through
            pytest.fail(f"mutation {n} ({label}) raised {type(exc).__name__}: {exc}")
        path.unlink()
    refused = sum(r != "ok" for rs in results.values() for r in rs)
    # the mutations really do break files, of every kind (the fuzzer is not testing good files)
    assert all(any(r != "ok" for r in rs) for rs in results.values()), results.keys()
    assert refused > 300


def test_a_sample_through_the_command_line_is_one_line_and_exit_2(tmp_path):
    sample = []
    for n, (label, data) in enumerate(mutations(tmp_path, 64, seed=41)):
        path = tmp_path / f"cli{n:02d}.npz"
        path.write_bytes(data)
        if len(sample) < 6 and outcome(path) != "ok" and label not in {s[0] for s in sample}:
            sample.append((label, path))
    assert len(sample) == 6
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for label, path in sample:
        proc = subprocess.run([sys.executable, "-m", "cnnviz.cli", "eval", "--model", str(path)], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=120)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, (label, proc.stderr)
        assert lines[0].startswith("cnnviz: ") and str(path) in lines[0], (label, lines)


def test_the_header_helpers_build_what_they_say():
    data = npy_header("<f4", (2, 3)) + bytes(24)
    assert data[:6] == b"\x93NUMPY" and np.load(__import__("io").BytesIO(data)).shape == (2, 3)
    assert struct.unpack("<H", npy_bytes(np.zeros(1))[8:10])[0] > 0

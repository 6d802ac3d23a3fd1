"""Seeded fuzzing of the run-file reader: mutations of a real recorded run (byte flips, truncations,
zip-field and .npy-header changes, members swapped and dropped, the run header's JSON changed, a deflate
bomb). Each must open, replay and resume, or give exactly one RecordError sentence naming the file."""

from __future__ import annotations

import copy
import json
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "nn"))
from npz_hostile import deflate_bomb, npy_header, stored, zip_bytes  # noqa: E402

from cnnviz import cli  # noqa: E402
from cnnviz.errors import RecordError  # noqa: E402
from cnnviz.runs import open_run  # noqa: E402

HOSTILE = [None, -1, 0, 2**40, 1.5, "abc", "", [], {}, True, float("nan"), "x" * 500, [[[[[[]]]]]]]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "good.cnnviz"
    assert cli.main(["train", "--preset", "tiny", "--limit", "320", "--epochs", "1", "--batch-size", "16",
                     "--record", str(path)]) == 0
    with zipfile.ZipFile(path) as archive:
        members = {i.filename: stored(i.filename, archive.read(i)) for i in archive.infolist()}
    return path, members, json.loads(members["run/header.json"].data)


def outcome(path) -> str:
    try:
        run = open_run(path)
        snapshots = run.snapshots()
        for point in run.points:
            if point.resumable:
                run.state(point)
        run.checkpoint()
        run.walks()
    except RecordError as error:
        message = str(error)
        assert "\n" not in message and str(path) in message, message
        return message
    assert len(snapshots) == len(run.points)
    return "ok"


def mutate(rng, good_bytes, members, header):
    kind = int(rng.integers(7))
    items = list(members.values())
    if kind == 0:
        data = bytearray(good_bytes)
        for _ in range(int(rng.integers(1, 9))):
            data[int(rng.integers(len(data)))] = int(rng.integers(256))
        return "byte flips", bytes(data)
    if kind == 1:
        return "truncation", good_bytes[: int(rng.integers(len(good_bytes)))]
    i = int(rng.integers(len(items)))
    if kind == 2:
        m = items[i]
        items[i] = [replace(m, method=int(rng.choice([1, 6, 9, 12]))), replace(m, flags=1),
                    replace(m, size=int(rng.choice([0, m.size + 1, 2**31]))),
                    replace(m, crc=int(rng.integers(2**32)))][int(rng.integers(4))]
        return "zip field", zip_bytes(items)
    if kind == 3:
        j = int(rng.integers(len(items)))
        action = int(rng.integers(3))
        if action == 0:
            items[i], items[j] = replace(items[i], data=items[j].data, size=items[j].size, crc=items[j].crc), \
                replace(items[j], data=items[i].data, size=items[i].size, crc=items[i].crc)
        elif action == 1:
            del items[i]
        else:
            items.append(items[i])
        return "members", zip_bytes(items)
    if kind == 4:
        names = [n for n in members if n.endswith(".npy")]
        name = names[int(rng.integers(len(names)))]
        descr = str(rng.choice(["<f4", ">f4", "|O", "<i8", "|b1", "<U4", "<c8"]))
        shape = [(), (0,), (2**31,), (2**20, 2**20), (4, 1, 3, 3), (1,) * 40][int(rng.integers(6))]
        body = bytes(int(rng.integers(0, 300)))
        return "npy header", zip_bytes([stored(name, npy_header(descr, shape) + body) if m.name == name else m
                                        for m in items])
    if kind == 5:
        header = copy.deepcopy(header)
        node, key = header, None
        for _ in range(int(rng.integers(1, 5))):
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            target, key = node, keys[int(rng.integers(len(keys)))]
            if not isinstance(node[key], (dict, list)) or rng.random() < 0.3:
                break
            node = node[key]
        if key is not None:
            target[key] = HOSTILE[int(rng.integers(len(HOSTILE)))]
        return "run header", zip_bytes([stored("run/header.json", json.dumps(header).encode())
                                        if m.name == "run/header.json" else m for m in items])
    name = [n for n in members if n.endswith(".npy")][int(rng.integers(3))]
    bomb = deflate_bomb(name, npy_header("<f4", (2**28,)), 2**30)
    return "deflate bomb", zip_bytes([bomb if m.name == name else m for m in items])


def test_mutated_run_files_open_or_give_one_sentence(good, tmp_path):
    path, members, header = good
    good_bytes = path.read_bytes()
    assert outcome(path) == "ok"
    rng = np.random.default_rng(13)
    results: dict[str, list[str]] = {}
    for n in range(150):
        label, data = mutate(rng, good_bytes, members, header)
        bad = tmp_path / f"m{n:03d}.cnnviz"
        bad.write_bytes(data)
        try:
            results.setdefault(label, []).append(outcome(bad))
        except Exception as exc:   # noqa: BLE001 - report which mutation broke through
            pytest.fail(f"mutation {n} ({label}) raised {type(exc).__name__}: {exc}")
        bad.unlink()
    assert all(any(r != "ok" for r in rs) for rs in results.values()), results.keys()
    assert sum(r != "ok" for rs in results.values() for r in rs) > 100

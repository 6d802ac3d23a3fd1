"""Seeded fuzzing of the IDX reader and the folder loader: a few hundred mutations of a small real
dataset folder (byte flips, truncations, header field changes, gzip stream damage, trailing bytes,
files swapped or missing). Each must load, or give exactly one DatasetError sentence naming the
file or folder; never another exception. A sample also goes through the command line."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from idx_hostile import gzip_bomb, idx_header

from cnnviz.data.idx import read_idx, write_idx
from cnnviz.data.pipeline import load_dataset
from cnnviz.errors import DatasetError

REPO = Path(__file__).resolve().parents[2]
IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"


def base_files(rng) -> dict[str, bytes]:
    """The raw bytes of a valid one-pair folder: 40 images of 8x8 and their labels."""
    images = rng.integers(0, 256, (40, 8, 8), dtype=np.uint8)
    labels = rng.integers(0, 10, 40).astype(np.uint8)
    return {IMAGES: idx_header(images.shape) + images.tobytes(),
            LABELS: idx_header(labels.shape) + labels.tobytes()}


def flip(rng, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(int(rng.integers(1, 6))):
        data[int(rng.integers(len(data)))] = int(rng.integers(256))
    return bytes(data)


def header_field(rng, data: bytes) -> bytes:
    """One header field rewritten: the zero bytes, the type, the dimension count, or a size."""
    data = bytearray(data)
    ndim = data[3]
    field = int(rng.integers(4))
    if field == 0:
        data[int(rng.integers(2))] = int(rng.integers(1, 256))
    elif field == 1:
        data[2] = int(rng.choice([0x00, 0x07, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0xFF]))
    elif field == 2:
        data[3] = int(rng.choice([0, 1, 2, 4, 17, 65, 255]))
    else:
        at = 4 + 4 * int(rng.integers(max(ndim, 1)))
        value = int(rng.choice([0, 1, 7, 39, 41, 2**16, 2**31, 2**32 - 1]))
        data[at: at + 4] = struct.pack(">I", value)
    return bytes(data)


def mutate(rng, files: dict[str, bytes]) -> tuple[str, dict[str, bytes]]:
    """(label, {file name: bytes}) of one mutated folder, raw or gzip-compressed."""
    files = dict(files)
    target = IMAGES if rng.random() < 0.6 else LABELS
    kind = int(rng.integers(9))
    label = ["byte flips", "truncation", "header field", "trailing bytes", "gzip damage", "gzip cut",
             "swapped files", "missing file", "gzip bomb"][kind]
    if kind == 0:
        files[target] = flip(rng, files[target])
    elif kind == 1:
        files[target] = files[target][: int(rng.integers(len(files[target])))]
    elif kind == 2:
        files[target] = header_field(rng, files[target])
    elif kind == 3:
        files[target] += bytes(int(rng.integers(1, 50)))
    elif kind == 6:
        files[IMAGES], files[LABELS] = files[LABELS], files[IMAGES]
    elif kind == 7:
        del files[target]
    names = {name: data for name, data in files.items()}
    if kind in (4, 5, 8) or rng.random() < 0.4:   # some folders hold .gz files
        packed = {}
        for name, data in names.items():
            data = gzip.compress(data, mtime=0)
            if name == target and kind == 4:
                data = flip(rng, data)
            elif name == target and kind == 5:
                data = data[: int(rng.integers(len(data)))]
            elif name == target and kind == 8:
                data = gzip_bomb(data and gzip.decompress(data)[:16], 64 << 20)
            packed[name + ".gz"] = data
        names = packed
    return label, names


def outcome(folder: Path) -> str:
    """'ok' or the sentence; anything else fails the test."""
    try:
        data = load_dataset(str(folder), holdout=0.25)
    except DatasetError as error:
        message = str(error)
        assert "\n" not in message and str(folder) in message, message
        return message
    assert len(data.y_test) >= 1 and len(data.y_train) >= 1 and np.isfinite(data.x_train).all()
    return "ok"


def folders(tmp_path: Path, count: int, seed: int):
    rng = np.random.default_rng(seed)
    files = base_files(rng)
    for n in range(count):
        label, mutated = mutate(rng, files)
        folder = tmp_path / f"f{n:03d}"
        folder.mkdir()
        for name, data in mutated.items():
            (folder / name).write_bytes(data)
        yield label, folder


def test_three_hundred_mutated_folders_load_or_give_one_sentence(tmp_path):
    results: dict[str, list[str]] = {}
    for label, folder in folders(tmp_path, 300, seed=14):
        try:
            results.setdefault(label, []).append(outcome(folder))
        except Exception as exc:   # noqa: BLE001 - report which mutation broke through
            pytest.fail(f"{folder.name} ({label}) raised {type(exc).__name__}: {exc}")
    assert all(any(r != "ok" for r in rs) for rs in results.values()), sorted(results)
    assert sum(r != "ok" for rs in results.values() for r in rs) > 200


def test_read_idx_on_mutated_single_files(tmp_path):
    rng = np.random.default_rng(7)
    good = base_files(rng)[IMAGES]
    for n in range(200):
        data = [flip, header_field][n % 2](rng, good)
        if n % 3 == 0:
            data = data[: int(rng.integers(len(data)))]
        path = tmp_path / (f"x{n}-idx" + (".gz" if n % 4 == 0 else ""))
        path.write_bytes(gzip.compress(data) if n % 4 == 0 else data)
        try:
            array = read_idx(path)
            assert array.size * array.itemsize == len(data) - 4 - 4 * len(array.shape)
        except DatasetError as error:
            assert "\n" not in str(error) and str(path) in str(error)


def test_a_sample_through_the_command_line_is_one_line_and_exit_2(tmp_path):
    sample = []
    for label, folder in folders(tmp_path, 80, seed=41):
        if len(sample) < 6 and outcome(folder) != "ok" and label not in {s[0] for s in sample}:
            sample.append((label, folder))
    assert len(sample) == 6
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for label, folder in sample:
        proc = subprocess.run([sys.executable, "-m", "cnnviz.cli", "train", "--data", str(folder)], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=120)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, (label, proc.stderr)
        assert lines[0].startswith("cnnviz: ") and str(folder) in lines[0], (label, lines)


def test_the_unmutated_folder_loads(tmp_path):
    files = base_files(np.random.default_rng(14))
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    assert outcome(tmp_path) == "ok"
    write_idx(tmp_path / "copy-idx", read_idx(tmp_path / IMAGES))
    assert (tmp_path / "copy-idx").read_bytes() == files[IMAGES]

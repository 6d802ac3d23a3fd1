"""The IDX reader accepts real MNIST and rejects every kind of broken file with one sentence."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct

import numpy as np
import pytest

from cnnviz.data import idx
from cnnviz.data.idx import load_idx_pair, read_idx, write_idx
from cnnviz.errors import DatasetError


def test_reads_real_mnist_test_set(mnist_dir):
    images, labels = load_idx_pair(mnist_dir / "t10k-images-idx3-ubyte.gz",
                                   mnist_dir / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # The bytes read are exactly the published decompressed file.
    raw = gzip.open(mnist_dir / "t10k-labels-idx1-ubyte.gz").read()
    assert hashlib.sha256(raw).hexdigest().startswith("ff7bcfd4")
    assert labels.tolist() == list(raw[8:])


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32, np.float64])
def test_write_then_read_round_trip(tmp_path, suffix, dtype):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def idx_bytes(type_code=0x08, shape=(3, 2, 2), payload=None) -> bytes:
    header = struct.pack(f">HBB{len(shape)}I", 0, type_code, len(shape), *shape)
    if payload is None:
        payload = bytes(int(np.prod(shape)))
    return header + payload


@pytest.mark.parametrize("data, message", [
    (b"\x00\x00", "too short"),
    (b"\x12\x34\x08\x01" + bytes(8), "bad magic number"),
    (idx_bytes(type_code=0x07), "unknown IDX element type 0x07"),
    (struct.pack(">HBB", 0, 8, 0), "0 dimensions"),
    (idx_bytes()[:10], "header is truncated"),
    (idx_bytes()[:-1], "truncated"),
    (idx_bytes() + b"\x00", "longer than its header says"),
    (idx_bytes(shape=(2**31, 2**31, 2**31), payload=b"\x00" * 8), "truncated"),  # no overflow
])
def test_broken_raw_files_raise_one_sentence(tmp_path, data, message):
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(DatasetError, match=message) as info:
        read_idx(path)
    text = str(info.value)
    assert str(path) in text and "\n" not in text


def test_truncated_gzip_stream(tmp_path, mnist_dir):
    whole = (mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DatasetError, match="gzip stream is truncated"):
        read_idx(path)


def test_gz_name_but_not_gzip(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(idx_bytes(shape=(4,)))
    with pytest.raises(DatasetError, match="not a valid gzip file"):
        read_idx(path)


def test_gzip_whose_content_is_truncated_idx(tmp_path):
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes()[:-3]))
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="file not found"):
        read_idx(tmp_path / "nothing-here.gz")


def write_pair(tmp_path, images, labels):
    write_idx(tmp_path / "img", images)
    write_idx(tmp_path / "lab", labels)
    return tmp_path / "img", tmp_path / "lab"


def test_pair_count_mismatch(tmp_path):
    paths = write_pair(tmp_path, np.zeros((5, 2, 2), np.uint8), np.zeros(4, np.uint8))
    with pytest.raises(DatasetError, match="4 labels for 5 images"):
        load_idx_pair(*paths)


def test_pair_label_out_of_range(tmp_path):
    labels = np.array([0, 3, 10, 2], np.uint8)
    paths = write_pair(tmp_path, np.zeros((4, 2, 2), np.uint8), labels)
    with pytest.raises(DatasetError, match="label 10 at index 2 is outside 0..9"):
        load_idx_pair(*paths)


def test_pair_images_must_be_uint8_3d(tmp_path):
    paths = write_pair(tmp_path, np.zeros((4, 4), np.uint8), np.zeros(4, np.uint8))
    with pytest.raises(DatasetError, match=r"expected uint8 images shaped \(N, H, W\)"):
        load_idx_pair(*paths)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_failed_write_leaves_the_existing_file_and_no_temp_file(tmp_path, disk_full, suffix):
    path = tmp_path / f"keep-idx3-ubyte{suffix}"
    path.write_bytes(b"precious")
    disk_full(idx)
    with pytest.raises(DatasetError, match=rf"IDX file .*{path.name}: No space left on device\."):
        write_idx(path, np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    assert path.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == [path.name]


def test_another_writers_temp_file_is_not_taken_over(tmp_path):
    # Each write has its own temp name, so a file named like the old fixed "<name>.tmp" is not
    # overwritten and renamed into place by a second writer.
    path = tmp_path / "a-idx1-ubyte"
    other = tmp_path / "a-idx1-ubyte.tmp"
    other.write_bytes(b"another writer's half-written file")
    write_idx(path, np.arange(5, dtype=np.uint8))
    assert other.read_bytes() == b"another writer's half-written file"
    assert read_idx(path).tolist() == [0, 1, 2, 3, 4]
    assert sorted(os.listdir(tmp_path)) == ["a-idx1-ubyte", "a-idx1-ubyte.tmp"]


def test_gzip_header_names_the_file_not_its_temp_file(tmp_path):
    path = tmp_path / "b-idx1-ubyte.gz"
    write_idx(path, np.arange(5, dtype=np.uint8))
    data = path.read_bytes()
    assert data[3] & 0x08, "FNAME flag"   # gzip header: the original file name follows byte 10
    assert data[10 : data.index(b"\0", 10)] == b"b-idx1-ubyte"

"""Headers are read before bodies, and no file makes the reader allocate more than its header and the
stated limits allow (issue 14, items 5 and 8)."""

from __future__ import annotations

import gzip
import tracemalloc

import numpy as np
import pytest
from idx_hostile import gzip_bomb, idx_bytes, idx_header

from cnnviz.data import loaders, pipeline
from cnnviz.data.idx import MAX_BYTES, MAX_DIMS, read_bytes, read_idx, read_idx_header, write_idx
from cnnviz.data.pipeline import load_dataset, pixel_stats
from cnnviz.errors import DatasetError


def peak_bytes(action) -> int:
    """Peak of traced allocations (NumPy's and Python's) while ``action`` runs."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_gzip_bomb_stops_after_what_its_header_declares(tmp_path):
    # 4 MB on disk, a header for 300 images of 28x28 (235 KB), then zeros up to 4 GB
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip_bomb(idx_header((300, 28, 28)), 4 << 30))
    assert path.stat().st_size < 5 << 20

    def read():
        with pytest.raises(DatasetError, match="longer than its header says") as info:
            read_idx(path)
        assert str(path) in str(info.value)

    assert peak_bytes(read) < 16 << 20   # the 235 KB array and a few MB of buffers, not 4 GB


def test_a_header_declaring_more_than_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header((2**31, 28, 28)) + bytes(1000)))
    with pytest.raises(DatasetError, match=rf"declares .* MB of elements; at most {MAX_BYTES >> 20} MB"):
        assert peak_bytes(lambda: read_idx(path)) < 1 << 20
    raw = tmp_path / "y-idx3-ubyte"
    raw.write_bytes(idx_header((2**31, 28, 28)) + bytes(1000))
    with pytest.raises(DatasetError, match="truncated"):   # a raw file's real length says more
        read_idx(raw)


@pytest.mark.parametrize("ndim", [MAX_DIMS + 1, 65, 255])
def test_too_many_dimensions_is_one_sentence(tmp_path, ndim):
    path = tmp_path / "many-idx1-ubyte"
    path.write_bytes(idx_bytes(shape=(1,) * ndim))
    with pytest.raises(DatasetError, match=f"declares {ndim} dimensions; at most {MAX_DIMS}"):
        read_idx(path)
    most = tmp_path / "most-idx1-ubyte"
    most.write_bytes(idx_bytes(shape=(1,) * MAX_DIMS))
    assert read_idx_header(most)[1] == (1,) * MAX_DIMS and read_idx(most).shape == (1,) * MAX_DIMS


def test_a_big_endian_file_is_read_in_place(tmp_path):
    values = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    write_idx(tmp_path / "a-idx", values)
    back = read_idx(tmp_path / "a-idx")
    assert back.dtype == np.dtype("int32") and back.dtype.isnative
    np.testing.assert_array_equal(back, values)


def test_read_bytes_refuses_more_than_its_limit(tmp_path):
    raw = tmp_path / "batch.bin"
    raw.write_bytes(bytes(2000))
    with pytest.raises(DatasetError, match="more than the"):
        read_bytes(raw, limit=1000)
    packed = tmp_path / "batch.bin.gz"
    packed.write_bytes(gzip_bomb(b"", 8 << 20))
    assert peak_bytes(lambda: pytest.raises(DatasetError, read_bytes, packed, limit=1 << 20)) < 8 << 20


def write_folder(folder, train_n=20, test_n=None, size=(28, 28)):
    folder.mkdir()
    rng = np.random.default_rng(0)
    write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, (train_n, *size), dtype=np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte", rng.integers(0, 10, train_n).astype(np.uint8))
    if test_n is not None:
        write_idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 256, (test_n, *size), dtype=np.uint8))
        write_idx(folder / "t10k-labels-idx1-ubyte", rng.integers(0, 10, test_n).astype(np.uint8))
    return folder


def test_an_empty_test_split_is_refused_when_the_dataset_loads(tmp_path):
    folder = write_folder(tmp_path / "d", train_n=20, test_n=0)
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte: holds no images"):
        load_dataset(str(folder))


def test_an_empty_training_file_is_refused(tmp_path):
    folder = write_folder(tmp_path / "d", train_n=0)
    with pytest.raises(DatasetError, match="holds no images"):
        load_dataset(str(folder))


def test_a_label_count_mismatch_is_found_from_the_headers(tmp_path, monkeypatch):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(idx_bytes(shape=(10, 28, 28)))
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(shape=(9,)))
    read = []
    monkeypatch.setattr("cnnviz.data.idx.read_idx", lambda path: read.append(path))
    with pytest.raises(DatasetError, match="9 labels for 10 images"):
        load_dataset(str(folder))
    assert read == []   # no body was read


def test_a_dataset_folder_beyond_the_pixel_limit_is_refused_before_any_body(tmp_path, monkeypatch):
    folder = write_folder(tmp_path / "d", train_n=20, test_n=10)
    monkeypatch.setattr(loaders, "MAX_PIXEL_BYTES", 28 * 28 * 29)
    with pytest.raises(DatasetError, match="MB of pixels; at most 0 MB are loaded"):
        load_dataset(str(folder))


def test_pixel_stats_are_exact_without_a_float64_copy():
    raw = np.random.default_rng(1).integers(0, 256, (500, 1, 28, 28), dtype=np.uint8)
    mean, std = pixel_stats(raw)
    x = raw.astype(np.float64) / 255.0
    assert mean == pytest.approx(x.mean(), rel=1e-12) and std == pytest.approx(x.std(), rel=1e-9)
    big = np.zeros((4000, 1, 28, 28), np.uint8)   # 3 MB: a float64 copy would be 25 MB
    assert peak_bytes(lambda: pixel_stats(big)) < 3 << 20
    with pytest.raises(DatasetError, match="no training images"):
        pixel_stats(raw[:0])


def test_normalize_makes_one_float32_array_and_no_temporaries():
    raw = np.full((2000, 1, 28, 28), 128, np.uint8)   # 1.5 MB; as float32 6.3 MB
    peak = peak_bytes(lambda: pipeline.normalize(raw, 0.5, 0.25))
    assert peak < 7 << 20   # the old expression held three float32 copies at once
    assert pipeline.normalize(raw[:1], 0.5, 0.25).dtype == np.float32

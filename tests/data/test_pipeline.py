"""Registry, loaders and the normalising pipeline on real MNIST files and small synthetic sets."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest

from cnnviz.data import registry
from cnnviz.data.idx import read_idx, write_idx
from cnnviz.data.loaders import CIFAR_RECORD
from cnnviz.data.pipeline import iterate_batches, load_dataset
from cnnviz.errors import DatasetError

MNIST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def test_cache_root_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert registry.cache_root() == tmp_path / "cnnviz"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert registry.cache_root() == tmp_path / "home" / ".cache" / "cnnviz"
    assert registry.cache_root(tmp_path / "x") == tmp_path / "x"


def test_missing_named_set_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert "/usr/share/datasets/fashion-mnist" in registry.DATASETS["fashion-mnist"].system_dirs
    # Point the system place somewhere empty, whatever this computer has installed.
    info = replace(registry.DATASETS["fashion-mnist"], system_dirs=(str(tmp_path / "usr"),))
    monkeypatch.setitem(registry.DATASETS, "fashion-mnist", info)
    with pytest.raises(DatasetError, match="python main.py download fashion-mnist") as error:
        load_dataset("fashion-mnist")
    assert str(tmp_path / "cnnviz" / "fashion-mnist") in str(error.value)
    assert str(tmp_path / "usr") in str(error.value)


def test_system_place_is_searched_after_the_cache(monkeypatch, tmp_path, mnist_dir):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    images = read_idx(mnist_dir / MNIST_FILES[0])[:50]
    labels = read_idx(mnist_dir / MNIST_FILES[1])[:50]
    system = tmp_path / "usr" / "fashion-mnist"
    make_idx_set(system, images[:40], labels[:40], "train")
    make_idx_set(system, images[40:], labels[40:], "t10k")
    info = replace(registry.DATASETS["fashion-mnist"], system_dirs=(str(system),))
    monkeypatch.setitem(registry.DATASETS, "fashion-mnist", info)
    assert registry.locate("fashion-mnist") == system
    data = load_dataset("fashion-mnist")
    assert data.class_names[0] == "T-shirt/top" and data.class_names[9] == "Ankle boot"
    assert len(data.x_train) == 40 and len(data.x_test) == 10


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(DatasetError, match="unknown dataset 'mnits'.*fashion-mnist"):
        load_dataset("mnits")


def make_idx_set(folder, images, labels, prefix):
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)  # raw: both forms are accepted


def test_named_set_found_in_cache_with_both_pairs(monkeypatch, tmp_path, mnist_dir):
    images = read_idx(mnist_dir / MNIST_FILES[0])[:300]
    labels = read_idx(mnist_dir / MNIST_FILES[1])[:300]
    folder = tmp_path / "cnnviz" / "mnist"
    make_idx_set(folder, images[:200], labels[:200], "train")
    make_idx_set(folder, images[200:], labels[200:], "t10k")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    data = load_dataset("mnist", seed=3)
    assert data.name == "mnist" and data.class_names == tuple("0123456789")
    assert data.x_train.shape == (200, 1, 28, 28) and data.x_test.shape == (100, 1, 28, 28)
    np.testing.assert_array_equal(data.raw_test[:, 0], images[200:])  # test set is not shuffled
    # The training set is shuffled, but it is the same 200 images.
    assert sorted(data.y_train.tolist()) == sorted(labels[:200].tolist())


def test_one_pair_folder_holds_out_its_last_fraction(mnist_dir):
    data = load_dataset(str(mnist_dir), holdout=0.25, seed=0)
    images = read_idx(mnist_dir / MNIST_FILES[0])
    labels = read_idx(mnist_dir / MNIST_FILES[1])
    assert len(data.x_train) == 7500 and len(data.x_test) == 2500
    np.testing.assert_array_equal(data.raw_test[:, 0], images[7500:])
    np.testing.assert_array_equal(data.y_test, labels[7500:])


def test_normalisation_uses_training_stats_for_every_split(mnist_dir):
    data = load_dataset(str(mnist_dir), limit=2000, seed=1)
    assert data.x_train.dtype == np.float32 and data.x_test.dtype == np.float32
    assert abs(float(data.x_train.mean())) < 1e-3 and abs(float(data.x_train.std()) - 1) < 1e-3
    expected = (data.raw_test.astype(np.float32) / 255 - data.mean) / data.std
    np.testing.assert_allclose(data.x_test, expected, rtol=1e-5, atol=1e-5)
    assert 0.1 < data.mean < 0.17 and 0.28 < data.std < 0.34  # MNIST's well-known figures
    raw = data.raw_image("test", 5)
    assert raw.shape == (1, 28, 28) and raw.min() >= 0 and raw.max() <= 1
    np.testing.assert_allclose(data.display_image(data.x_test[5]), raw, atol=1e-5)
    assert data.meta()["mean"] == data.mean and data.meta()["input_shape"] == [1, 28, 28]


def test_shuffle_is_deterministic_by_seed(mnist_dir):
    a = load_dataset(str(mnist_dir), limit=500, seed=7)
    b = load_dataset(str(mnist_dir), limit=500, seed=7)
    c = load_dataset(str(mnist_dir), limit=500, seed=8)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    np.testing.assert_array_equal(a.raw_train, b.raw_train)
    assert not np.array_equal(a.y_train, c.y_train)


def test_validation_split(mnist_dir):
    data = load_dataset(str(mnist_dir), limit=1000, validation=0.1)
    assert len(data.x_train) == 900 and len(data.x_val) == 100 and len(data.y_val) == 100
    assert data.x_val.dtype == np.float32


def test_bad_folders(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        load_dataset(str(tmp_path / "absent"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images/labels pair"):
        load_dataset(str(tmp_path / "empty"))


def test_corrupt_file_in_folder_is_named(tmp_path, mnist_dir):
    folder = tmp_path / "set"
    folder.mkdir()
    shutil.copy(mnist_dir / MNIST_FILES[1], folder)
    whole = (mnist_dir / MNIST_FILES[0]).read_bytes()
    (folder / MNIST_FILES[0]).write_bytes(whole[: len(whole) // 3])
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte.gz: the gzip stream is truncated"):
        load_dataset(str(folder))


def test_iterate_batches_covers_each_image_once():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    y = np.arange(10)
    batches = list(iterate_batches(x, y, 4, np.random.default_rng(0)))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0, 0, 0], yb)
    assert [b[1].tolist() for b in iterate_batches(x, y, 5)] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


def test_digits_dataset():
    data = load_dataset("digits", limit=600, seed=2)
    assert data.name == "digits" and data.input_shape == (1, 28, 28)
    assert data.x_train.shape == (600, 1, 28, 28) and data.x_test.shape == (2000, 1, 28, 28)
    assert data.y_train.dtype == np.int64
    # Test digits are fresh: none of them repeats a training image.
    train = {img.tobytes() for img in data.raw_train}
    assert not any(img.tobytes() in train for img in data.raw_test)


def write_cifar_batch(path, labels, rng):
    records = np.zeros((len(labels), CIFAR_RECORD), np.uint8)
    records[:, 0] = labels
    records[:, 1:] = rng.integers(0, 256, (len(labels), CIFAR_RECORD - 1))
    path.write_bytes(records.tobytes())
    return records


def test_cifar10_binary_batches(monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cnnviz" / "cifar10" / registry.CIFAR_FOLDER
    folder.mkdir(parents=True)
    for name in registry.CIFAR_TRAIN:
        write_cifar_batch(folder / name, rng.integers(0, 10, 6), rng)
    test = write_cifar_batch(folder / registry.CIFAR_TEST, np.array([3, 9, 0]), rng)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    data = load_dataset("cifar10")
    assert data.input_shape == (3, 32, 32) and len(data.x_train) == 30
    assert data.class_names[3] == "cat" and data.y_test.tolist() == [3, 9, 0]
    # Record layout: label, then the red, green and blue 32x32 planes, row by row.
    np.testing.assert_array_equal(data.raw_test[1, 1, 0, :5], test[1, 1 + 1024:1 + 1024 + 5])
    (folder / registry.CIFAR_TEST).write_bytes(test.tobytes()[:-7])
    with pytest.raises(DatasetError, match="test_batch.bin: .* not a whole number"):
        load_dataset("cifar10")


def test_cifar10_pickled_python_version_is_never_loaded(monkeypatch, tmp_path):
    folder = tmp_path / "cnnviz" / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                 "data_batch_5", "test_batch"):
        (folder / name).write_bytes(b"\x80\x04pickle that must not be opened")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DatasetError, match="python main.py download cifar10"):
        load_dataset("cifar10")

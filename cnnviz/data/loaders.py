"""Read a dataset's raw images from disk: IDX folders (MNIST family) and CIFAR-10's binary batches.

Every loader returns ``RawSplits``: uint8 images (N, C, H, W) and int64 labels (N,) for a training
and a test part. Normalisation and shuffling happen later, in ``pipeline``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz.data import registry
from cnnviz.data.idx import load_idx_pair, read_bytes, read_idx_header
from cnnviz.errors import DatasetError

CIFAR_RECORD = 1 + 3 * 32 * 32  # one label byte, then the red, green and blue 32x32 planes
# Pixels one dataset may hold, all its files together (checked from the headers before any body is
# read). Training keeps them as uint8 and, normalised, as float32: 256 MB of pixels take about 1.5 GB
# at the peak of loading, well inside a 4 GB computer. MNIST holds 55 MB, CIFAR-10 184 MB.
MAX_PIXEL_BYTES = 256 * 2**20


@dataclass
class RawSplits:
    """Un-normalised data: images uint8 (N, C, H, W), labels int64 (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def split_tail(images: np.ndarray, labels: np.ndarray, holdout: float, source: str) -> RawSplits:
    """Hold out the last ``holdout`` fraction (in file order) as the test set."""
    if not 0.0 < holdout < 1.0:
        raise DatasetError(f"holdout must be a fraction between 0 and 1, not {holdout}.")
    n_test = int(round(len(images) * holdout))
    if n_test < 1 or n_test >= len(images):
        raise DatasetError(f"{source}: {len(images)} images are too few to hold out {holdout:.0%}.")
    cut = len(images) - n_test
    return RawSplits(images[:cut], labels[:cut], images[cut:], labels[cut:])


def load_idx_folder(folder: str | Path, holdout: float = 0.2, num_classes: int = 10) -> RawSplits:
    """A folder of MNIST-style IDX files: a train and a t10k pair, or one pair that is split."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder.")
    files = registry.idx_files(folder)
    pairs = [(f"{p}_images", f"{p}_labels") for p in ("train", "test")]
    complete = [(i, lab) for i, lab in pairs if i in files and lab in files]
    if not complete:
        names = ", ".join(registry.IDX_NAMES.values())
        raise DatasetError(f"{folder}: no images/labels pair of IDX files found "
                           f"(expected {names}, optionally .gz).")
    pixels = sum(math.prod(read_idx_header(files[i])[1]) for i, _ in complete)
    if pixels > MAX_PIXEL_BYTES:
        raise DatasetError(f"{folder}: its images hold {pixels / 2**20:,.0f} MB of pixels; at most "
                           f"{MAX_PIXEL_BYTES // 2**20} MB are loaded, so that training fits in memory.")
    loaded = [load_idx_pair(files[i], files[lab], num_classes) for i, lab in complete]
    if len(loaded) == 2:
        (xtr, ytr), (xte, yte) = loaded
        if xtr.shape[1:] != xte.shape[1:]:
            raise DatasetError(f"{folder}: training images are {xtr.shape[1:]} but test images "
                               f"are {xte.shape[1:]}.")
        return RawSplits(xtr[:, None], ytr, xte[:, None], yte)
    images, labels = loaded[0]
    return split_tail(images[:, None], labels, holdout, str(folder))


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 binary batch: images uint8 (N, 3, 32, 32), labels int64 (N,)."""
    data = read_bytes(path, limit=MAX_PIXEL_BYTES // 6)   # CIFAR-10's six batches are 30.7 MB each
    if len(data) == 0 or len(data) % CIFAR_RECORD:
        raise DatasetError(f"{path}: {len(data)} bytes is not a whole number of "
                           f"{CIFAR_RECORD}-byte CIFAR-10 records (truncated?).")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DatasetError(f"{path}: label {labels.max()} is outside 0..9.")
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def load_cifar10(folder: Path) -> RawSplits:
    """CIFAR-10's binary version (data_batch_1..5.bin, test_batch.bin) from ``folder``."""
    where = registry.cifar_folder(Path(folder))
    if where is None:
        raise DatasetError(f"{folder}: CIFAR-10 binary batches (data_batch_1..5.bin, "
                           f"test_batch.bin) not found.")
    train = [read_cifar_batch(where / name) for name in registry.CIFAR_TRAIN]
    test_images, test_labels = read_cifar_batch(where / registry.CIFAR_TEST)
    return RawSplits(np.concatenate([t[0] for t in train]), np.concatenate([t[1] for t in train]),
                     test_images, test_labels)


def load_named(info: registry.DatasetInfo, cache_dir=None) -> RawSplits:
    """A named on-disk dataset (mnist, fashion-mnist, cifar10) from the first place it is found."""
    folder = registry.locate(info.name, cache_dir)
    if info.kind == "cifar10":
        return load_cifar10(folder)
    return load_idx_folder(folder, num_classes=len(info.class_names))

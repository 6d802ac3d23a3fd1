"""From raw images to what the network eats: normalised float32 NCHW arrays, splits and batches.

Normalisation follows the paper: subtract the mean and divide by the standard deviation, one scalar
each, computed on the *training* split only and stored on the Dataset, so test and probe images are
normalised with the same numbers (and a checkpoint can carry them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from cnnviz.data import registry
from cnnviz.data.digits import generate_digits
from cnnviz.data.loaders import RawSplits, load_idx_folder, load_named
from cnnviz.errors import DatasetError

DIGITS_TRAIN, DIGITS_TEST = 20_000, 2_000


STATS_CHUNK = 1 << 18   # pixels counted at a time (bincount makes an int64 copy of each chunk: 2 MB)


def pixel_stats(raw: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of uint8 images (N, C, H, W), as fractions of 255.

    From a histogram of the 256 grey levels, built a few MB at a time: exact, and it never makes a
    float64 copy of the images (8 times their size: 2 GB for 256 MB of pixels)."""
    flat = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1)
    if flat.size == 0:
        raise DatasetError("there are no training images to compute the normalisation from.")
    counts = np.zeros(256, np.int64)
    for start in range(0, flat.size, STATS_CHUNK):
        counts += np.bincount(flat[start:start + STATS_CHUNK], minlength=256)
    levels = np.arange(256, dtype=np.float64) / 255.0
    mean = float(counts @ levels) / flat.size
    var = float(counts @ (levels - mean) ** 2) / flat.size
    return mean, float(max(np.sqrt(var), 1e-6))


def normalize(raw: np.ndarray, mean: float, std: float) -> np.ndarray:
    """uint8 images (N, C, H, W) -> float32 (N, C, H, W), (x/255 - mean) / std. Computed in place in
    the one float32 result: no temporaries of the images' size."""
    x = np.asarray(raw).astype(np.float32)
    x /= np.float32(255.0)
    x -= np.float32(mean)
    x /= np.float32(std)
    return x


@dataclass
class Dataset:
    """A dataset ready for training.

    x_train, x_val, x_test : float32 (N, C, H, W), normalised with ``mean`` and ``std``.
    y_train, y_val, y_test : int64 (N,), class indices into ``class_names``.
    raw_train, raw_val, raw_test : uint8 (N, C, H, W), the same images before normalisation.
    """

    name: str
    class_names: tuple[str, ...]
    mean: float
    std: float
    raw_train: np.ndarray
    y_train: np.ndarray
    raw_test: np.ndarray
    y_test: np.ndarray
    raw_val: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 28, 28), np.uint8))
    y_val: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    holdout: float = 0.2  # how a one-pair folder was split; kept so eval can split it the same way

    def __post_init__(self):
        self.x_train = self.normalize(self.raw_train)
        self.x_val = self.normalize(self.raw_val)
        self.x_test = self.normalize(self.raw_test)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(int(s) for s in self.raw_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def normalize(self, raw: np.ndarray) -> np.ndarray:
        """uint8 (N, C, H, W) images (e.g. a probe drawn by the user) -> normalised float32."""
        return normalize(raw, self.mean, self.std)

    def display_image(self, x: np.ndarray) -> np.ndarray:
        """Undo normalisation: float32 (..., C, H, W) -> float32 in 0..1 for display."""
        return np.clip(np.asarray(x, np.float32) * self.std + self.mean, 0.0, 1.0)

    def raw_image(self, split: str, index: int) -> np.ndarray:
        """Image ``index`` of split "train", "val" or "test" as float32 (C, H, W) in 0..1."""
        raw = {"train": self.raw_train, "val": self.raw_val, "test": self.raw_test}[split]
        return raw[index].astype(np.float32) / 255.0

    def meta(self) -> dict:
        """JSON-able facts a checkpoint needs to normalise and label new images the same way."""
        return {"dataset": self.name, "class_names": list(self.class_names),
                "mean": self.mean, "std": self.std, "input_shape": list(self.input_shape),
                "holdout": self.holdout}


def iterate_batches(x: np.ndarray, y: np.ndarray, batch_size: int,
                    rng: np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (x_batch (B, C, H, W), y_batch (B,)) covering ``x`` once, shuffled when ``rng`` is given.

    The last batch may be smaller."""
    if batch_size < 1:
        raise DatasetError(f"batch size must be at least 1, not {batch_size}.")
    order = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], y[idx]


def _raw_splits(name_or_folder: str, holdout: float, limit: int | None, seed: int,
                cache_dir) -> tuple[str, tuple[str, ...], RawSplits]:
    if name_or_folder == "digits":
        n_train = DIGITS_TRAIN if limit is None else min(limit, DIGITS_TRAIN)
        xtr, ytr = generate_digits(n_train, seed=[seed, 0])
        xte, yte = generate_digits(DIGITS_TEST, seed=[seed, 1])  # another stream: fresh digits
        return "digits", registry.DIGIT_NAMES, RawSplits(xtr[:, None], ytr, xte[:, None], yte)
    if name_or_folder in registry.DATASETS:
        info = registry.DATASETS[name_or_folder]
        return info.name, info.class_names, load_named(info, cache_dir)
    looks_like_path = any(sep in name_or_folder for sep in "/\\.") or Path(name_or_folder).exists()
    if not looks_like_path:
        registry.dataset_info(name_or_folder)  # raises "unknown dataset ..." with the known names
    folder = Path(name_or_folder).expanduser()
    # The full path names a folder dataset, so a checkpoint can find the same data again.
    return str(folder.resolve()), registry.DIGIT_NAMES, load_idx_folder(folder, holdout)


def load_dataset(name_or_folder: str = "digits", holdout: float = 0.2, limit: int | None = None,
                 seed: int = 0, cache_dir=None, validation: float = 0.0) -> Dataset:
    """Load, split, shuffle and normalise a dataset.

    name_or_folder : "digits" (generated: 20,000 train + 2,000 fresh test digits), "mnist",
        "fashion-mnist", "cifar10", or a folder of IDX files (one pair is split: the last
        ``holdout`` fraction becomes the test set).
    limit : keep only the first ``limit`` training images (after shuffling by ``seed``).
    validation : fraction of the (shuffled, limited) training images set aside as ``x_val``.
    """
    if limit is not None and limit < 1:
        raise DatasetError(f"limit must be a positive number of images, not {limit}.")
    name, class_names, raw = _raw_splits(str(name_or_folder), holdout, limit, seed, cache_dir)
    order = np.random.default_rng(seed).permutation(len(raw.train_images))
    if limit is not None:
        order = order[:limit]
    images, labels = raw.train_images[order], raw.train_labels[order]
    n_val = int(round(len(images) * validation))
    if n_val >= len(images):
        raise DatasetError(f"validation fraction {validation} leaves no training images.")
    cut = len(images) - n_val
    if cut < 1 or len(raw.test_labels) < 1:   # e.g. a t10k file of 0 images: "0.00% on 0 images"
        part = "training" if cut < 1 else "test"
        raise DatasetError(f"dataset {name} has no {part} images.")
    mean, std = pixel_stats(images[:cut])
    return Dataset(name=name, class_names=tuple(class_names), mean=mean, std=std,
                   raw_train=images[:cut], y_train=labels[:cut],
                   raw_test=raw.test_images, y_test=raw.test_labels,
                   raw_val=images[cut:], y_val=labels[cut:], holdout=holdout)

"""Named datasets: their class names, files, download mirrors, checksums, and where to find them.

A named set is looked for, in order, in ``<cache>/<name>`` (the cache is ``$XDG_CACHE_HOME/cnnviz``,
else ``~/.cache/cnnviz``, unless a cache folder is given) and then in the places systems install it
(Debian's ``dataset-fashion-mnist`` package uses ``/usr/share/datasets/fashion-mnist``).

Checksums: an IDX ``.gz`` file is checked by the SHA-256 of its *decompressed* content, because
mirrors recompress the same data into different ``.gz`` bytes; where only the archive's digest is
published (Fashion-MNIST, CIFAR-10), the file *as downloaded* is checked (``of="download"``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz.errors import DatasetError

IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
CIFAR_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR_TEST = "test_batch.bin"
CIFAR_FOLDER = "cifar-10-batches-bin"


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: its name, its digest and what the digest is of.

    of: "decompressed" (SHA-256 of the gunzipped content) or "download" (of the bytes as fetched).
    algorithm: "sha256", or "md5" where the publisher gives nothing better (CIFAR-10).
    """

    name: str
    digest: str
    of: str = "decompressed"
    algorithm: str = "sha256"


@dataclass(frozen=True)
class DatasetInfo:
    """What the program knows about a named dataset."""

    name: str
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int]  # (C, H, W)
    kind: str  # "generated", "idx" or "cifar10"
    mirrors: tuple[str, ...] = ()  # base URLs ending in "/", tried in turn
    files: tuple[RemoteFile, ...] = ()
    system_dirs: tuple[str, ...] = field(default=())


DIGIT_NAMES = tuple(str(d) for d in range(10))

DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo("digits", DIGIT_NAMES, (1, 28, 28), "generated"),
    "mnist": DatasetInfo(
        "mnist", DIGIT_NAMES, (1, 28, 28), "idx",
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        files=(
            RemoteFile("train-images-idx3-ubyte.gz",
                       "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            RemoteFile("train-labels-idx1-ubyte.gz",
                       "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            RemoteFile("t10k-images-idx3-ubyte.gz",
                       "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            RemoteFile("t10k-labels-idx1-ubyte.gz",
                       "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        ),
        system_dirs=("/usr/share/datasets/mnist",),
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"),
        (1, 28, 28), "idx",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                 "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        files=(
            RemoteFile("train-images-idx3-ubyte.gz",
                       "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc", "download"),
            RemoteFile("train-labels-idx1-ubyte.gz",
                       "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc", "download"),
            RemoteFile("t10k-images-idx3-ubyte.gz",
                       "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229", "download"),
            RemoteFile("t10k-labels-idx1-ubyte.gz",
                       "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf", "download"),
        ),
        system_dirs=("/usr/share/datasets/fashion-mnist",),
    ),
    "cifar10": DatasetInfo(
        "cifar10",
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        (3, 32, 32), "cifar10",
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        # The binary version only: the "python" version is pickled, and loading a pickle runs code.
        files=(RemoteFile("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530",
                          "download", "md5"),),
        system_dirs=("/usr/share/datasets/cifar10", "/usr/share/datasets/cifar-10"),
    ),
}


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding one sub-folder per downloaded dataset."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "cnnviz"


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        known = ", ".join(DATASETS)
        raise DatasetError(f"unknown dataset {name!r}; the named datasets are {known} "
                           f"(or give a folder of IDX files).")
    return DATASETS[name]


def find_file(folder: Path, stem: str) -> Path | None:
    """``folder/stem`` or ``folder/stem.gz``, whichever exists (raw first), else None."""
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def idx_files(folder: Path) -> dict[str, Path]:
    """The IDX files present in ``folder``, keyed like ``IDX_NAMES`` (missing keys absent)."""
    found = {key: find_file(folder, stem) for key, stem in IDX_NAMES.items()}
    return {key: path for key, path in found.items() if path is not None}


def cifar_folder(folder: Path) -> Path | None:
    """The folder holding CIFAR-10's binary batches (``folder`` or its cifar-10-batches-bin)."""
    for candidate in (folder / CIFAR_FOLDER, folder):
        if all((candidate / f).is_file() for f in CIFAR_TRAIN + (CIFAR_TEST,)):
            return candidate
    return None


def is_complete(info: DatasetInfo, folder: Path) -> bool:
    if info.kind == "cifar10":
        return cifar_folder(folder) is not None
    return len(idx_files(folder)) == len(IDX_NAMES)


def search_dirs(name: str, cache_dir=None) -> list[Path]:
    """Where the named dataset is looked for, in order."""
    info = dataset_info(name)
    return [cache_root(cache_dir) / name] + [Path(p) for p in info.system_dirs]


def locate(name: str, cache_dir=None) -> Path:
    """The first folder holding the complete named dataset; DatasetError saying how to get it."""
    info = dataset_info(name)
    places = search_dirs(name, cache_dir)
    for folder in places:
        if folder.is_dir() and is_complete(info, folder):
            return folder
    where = ", ".join(str(p) for p in places)
    raise DatasetError(f"dataset {name!r} is not on this computer (looked in {where}); "
                       f"get it with: python main.py download {name}")

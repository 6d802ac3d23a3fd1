"""Datasets (no Qt): IDX reader, named-dataset registry and downloader, built-in generated digits,
normalisation, splits and batches. Images are NCHW: (N, C, H, W)."""

from cnnviz.data.digits import generate_digits
from cnnviz.data.idx import load_idx_pair, read_idx, write_idx
from cnnviz.data.pipeline import Dataset, iterate_batches, load_dataset, normalize
from cnnviz.data.registry import DATASETS, cache_root, locate

__all__ = [
    "DATASETS", "Dataset", "cache_root", "generate_digits", "iterate_batches", "load_dataset",
    "load_idx_pair", "locate", "normalize", "read_idx", "write_idx",
]

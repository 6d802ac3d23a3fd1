"""Statistics kept over a run, without Qt: layer statistics every few batches, and what the last
validation got wrong.

Both are frozen once made (read-only mappings, tuples and arrays), so every Snapshot can share the
same objects instead of copying them: a snapshot's ``stats`` is the history's current tuple.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from cnnviz.session.stats import confusion_matrix, misclassified

# layer_stats costs 0.1-0.2 of a batch (seed 2.7 ms vs 26 ms, tiny 0.45 vs 2.3 ms, one core), so one
# record every 25 batches stays under 1% of training time for every preset.
STATS_EVERY = 25
MAX_RECORDS = 500      # even: a full history halves to exactly MAX_RECORDS / 2
GALLERY_SIZE = 32      # misclassified validation images kept for the gallery


def deep_freeze(value):
    """dict -> read-only mapping, list -> tuple, array -> read-only (in place: the caller made it
    and gives it away), recursively. Other values are returned as they are."""
    if isinstance(value, dict):
        return MappingProxyType({key: deep_freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(deep_freeze(item) for item in value)
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    return value


@dataclass(frozen=True)
class StatsState:
    """Everything a StatsHistory holds; immutable, so a step record can keep it by reference."""

    records: tuple = ()
    stride: int = 1          # recorded batches are STATS_EVERY * stride apart
    since: int = -1          # batches since the last record; -1: record the very next batch


class StatsHistory:
    """``layer_stats`` records, one every ``every`` batches, at most ``max_records`` of them.

    When full, every other record is dropped (the first always stays) and from then on records are
    twice as far apart, so a long run stays evenly covered from its start."""

    def __init__(self, every: int = STATS_EVERY, max_records: int = MAX_RECORDS) -> None:
        if max_records < 2 or max_records % 2:
            raise ValueError(f"a statistics history needs an even number of records >= 2, not {max_records}")
        self.every, self.max_records = every, max_records
        self.state = StatsState()

    @property
    def records(self) -> tuple:
        """The frozen records, oldest first (the same tuple until the next record is added)."""
        return self.state.records

    def __len__(self) -> int:
        return len(self.state.records)

    def count_batch(self) -> bool:
        """Count one training batch; True when this batch should be recorded."""
        state = self.state
        due = state.since < 0 or state.since + 1 >= self.every * state.stride
        self.state = StatsState(state.records, state.stride, state.since + 1)
        return due

    def add(self, record: dict) -> None:
        """Add a ``layer_stats`` dict (frozen in place: give it away)."""
        records, stride = self.state.records + (deep_freeze(record),), self.state.stride
        if len(records) > self.max_records:   # an odd count: [::2] keeps the first and the newest
            records, stride = records[::2], stride * 2
        self.state = StatsState(records, stride, since=0)

    def clear(self) -> None:
        self.state = StatsState()


def validation_record(dataset, indices: np.ndarray, y: np.ndarray, predicted: np.ndarray,
                      num_classes: int, step: int, max_images: int = GALLERY_SIZE) -> MappingProxyType:
    """The result of one validation, frozen.

    indices (N,): the validation images' numbers in the test set; y (N,) their labels; predicted (N,).
    Keys: confusion (K, K) int64 (row true, column predicted), accuracy, size N, step, and for the
    first ``max_images`` misclassified images: images (M, C, H, W) float32 in 0..1 for display,
    labels (M,), predicted (M,), indices (M,) into the test set, and wrong = arange(M) (positions in
    ``images``), so ``StatsPanel.set_validation(v, v["images"], v["labels"], names)`` shows them."""
    wrong = misclassified(y, predicted)[:max_images]
    x = dataset.x_test[indices[wrong]]
    if hasattr(dataset, "display_image"):
        images = dataset.display_image(x)
    else:
        low, high = float(x.min(initial=0.0)), float(x.max(initial=1.0))
        images = (x - low) / (high - low) if high > low else np.zeros_like(x)
    return deep_freeze({
        "confusion": confusion_matrix(y, predicted, num_classes),
        "accuracy": float(np.mean(predicted == y)) if len(y) else float("nan"),
        "size": int(len(y)), "step": int(step),
        "images": np.array(images, np.float32), "labels": np.array(y[wrong], np.int64),
        "predicted": np.array(predicted[wrong], np.int64), "indices": np.array(indices[wrong], np.int64),
        "wrong": np.arange(len(wrong)),
    })

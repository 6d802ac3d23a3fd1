"""Statistics over time, without Qt: what the trainer records every N steps for the statistics panel,
the bounded history of those records, and what the last validation got wrong.

``layer_stats(model, updates)`` is cheap enough to call every few steps (a norm and two histograms per
parameter array). Histograms use fixed bins so that frames can be compared:
- weights: 41 bins on [-R, R], where R is max|W| rounded up to 1, 2 or 5 x 10^k (it changes rarely);
- gradients: log10|dL/dW| on GRAD_LOG_EDGES (1e-12 .. 1), since their size spans many decades and
  vanishing gradients show as the histogram sliding left; exact zeros are counted apart.

Records and validations are frozen once made (read-only mappings, tuples and arrays), so every Snapshot
can share the same objects instead of copying them: a snapshot's ``stats`` is the history's current tuple.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from cnnviz.session.history import EvenHistory, HistoryState
from cnnviz.session.snapshot import freeze

WEIGHT_BINS = 41
# layer_stats costs 0.1-0.2 of a batch (seed 2.7 ms vs 26 ms, tiny 0.45 vs 2.3 ms, one core), so one
# record every 25 batches stays under 1% of training time for every preset.
STATS_EVERY = 25
MAX_RECORDS = 500      # even: a full history halves to exactly MAX_RECORDS / 2
GALLERY_SIZE = 32      # misclassified validation images kept for the gallery
GRAD_LOG_EDGES = np.linspace(-12.0, 0.0, 49)    # 0.25 decade per bin


def nice_range(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= value (1e-12 for 0)."""
    if not np.isfinite(value) or value <= 1e-12:
        return 1e-12 if np.isfinite(value) else 1.0
    exponent = math.floor(math.log10(value))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        candidate = mantissa * 10.0 ** exponent
        if candidate >= value * (1 - 1e-9):
            return candidate
    return 10.0 ** (exponent + 1)


def weight_histogram(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(counts (WEIGHT_BINS,), edges (WEIGHT_BINS + 1,)) on the fixed range [-R, R]."""
    r = nice_range(float(np.max(np.abs(values)))) if values.size else 1.0
    edges = np.linspace(-r, r, WEIGHT_BINS + 1)
    counts, _ = np.histogram(values, bins=edges)
    return counts, edges


def grad_log_histogram(values: np.ndarray) -> tuple[np.ndarray, int]:
    """(counts over GRAD_LOG_EDGES of log10|g| (clipped into the end bins), number of exact zeros)."""
    magnitude = np.abs(values.reshape(-1)).astype(np.float64)
    nonzero = magnitude[magnitude > 0]
    logs = np.clip(np.log10(nonzero), GRAD_LOG_EDGES[0], GRAD_LOG_EDGES[-1] - 1e-9)
    counts, _ = np.histogram(logs, bins=GRAD_LOG_EDGES)
    return counts, int(magnitude.size - nonzero.size)


def l2(value: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(value, dtype=np.float64))))


def layer_stats(model, updates=None, step: int | None = None, dead: Mapping | None = None) -> dict:
    """Per-layer statistics of the model's weights, last gradients and last update.

    updates: per layer {key: ΔW} of the last update (e.g. ``DeltaTracker.delta(model)``), or None.
    dead: {conv layer index: [dead channels]} (``ActivityTracker.dead()``): those layers' entries get
    ``dead_channels``, how many of their channels were never positive on the recent images.
    Returns {"step": step, "layers": [entry, ...]}, one entry per layer with parameters:
      index, name, label, weight_norm ‖W‖, grad_norm ‖dL/dW‖, bias_grad_norm, update_ratio ‖ΔW‖/‖W‖
      (nan when the update is unknown), weight_hist, weight_edges, grad_hist (over GRAD_LOG_EDGES),
      grad_zeros. Only the ``W`` arrays go into the histograms and norms; biases are reported apart."""
    entries = []
    for index, layer in enumerate(model.layers):
        if "W" not in layer.params:
            continue
        w, g = layer.params["W"], layer.grads["W"]
        weight_hist, weight_edges = weight_histogram(w)
        grad_hist, grad_zeros = grad_log_histogram(g)
        weight_norm = l2(w)
        ratio = math.nan
        delta = updates[index] if updates is not None and index < len(updates) and updates[index] else None
        if delta is not None and "W" in delta and weight_norm > 0:
            ratio = l2(delta["W"]) / weight_norm
        entries.append({
            "index": index, "name": layer.name, "label": layer.describe(),
            "weight_norm": weight_norm, "grad_norm": l2(g),
            "bias_grad_norm": l2(layer.grads["b"]) if "b" in layer.grads else 0.0,
            "update_ratio": ratio, "weight_hist": weight_hist, "weight_edges": weight_edges,
            "grad_hist": grad_hist, "grad_zeros": grad_zeros,
        })
        if dead is not None and index in dead:
            entries[-1]["dead_channels"] = len(dead[index])
    return {"step": step, "layers": entries}


def series(history: list[dict], field: str) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """From a list of ``layer_stats`` dicts: (steps (T,), {layer index: values (T,)}) of one field,
    e.g. "grad_norm" or "update_ratio" (nan where a layer is missing from a record or its entry has
    no such field, e.g. "dead_channels" of a dense layer or of a record made before it was counted)."""
    steps = np.array([h["step"] if h["step"] is not None else i for i, h in enumerate(history)], np.float64)
    indices = sorted({e["index"] for h in history for e in h["layers"] if field in e})
    values = {i: np.full(len(history), np.nan) for i in indices}
    for t, record in enumerate(history):
        for entry in record["layers"]:
            if field in entry:
                values[entry["index"]][t] = entry[field]
    return steps, values


# -- validation ---------------------------------------------------------------------------------
def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts: row = true class, column = predicted class."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes)


def misclassified(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the examples whose prediction is wrong."""
    return np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))


def validation_stats(model, x: np.ndarray, y: np.ndarray, num_classes: int | None = None) -> dict:
    """Run the model on validation images x (N, C, H, W) with labels y (N,), without disturbing what
    its layers remember. Returns confusion (K, K), wrong (indices), predicted (N,), confidence (N,)
    (the probability of the predicted class) and accuracy."""
    probs = model.predict_proba(x)
    k = int(num_classes or probs.shape[1])
    predicted = probs.argmax(axis=1)
    y = np.asarray(y, dtype=np.int64)
    return {"confusion": confusion_matrix(y, predicted, k), "wrong": misclassified(y, predicted),
            "predicted": predicted, "confidence": probs[np.arange(len(y)), predicted],
            "accuracy": float((predicted == y).mean()) if len(y) else math.nan}


# -- the history of records, and the last validation -----------------------------------------------
class StatsHistory:
    """``layer_stats`` records, one every ``every`` batches (the first batch's at once), at most
    ``max_records`` of them, thinned evenly when full (``EvenHistory``, keyed by the batch count)."""

    def __init__(self, every: int = STATS_EVERY, max_records: int = MAX_RECORDS) -> None:
        if max_records < 2 or max_records % 2:
            raise ValueError(f"a statistics history needs an even number of records >= 2, not {max_records}")
        self._history = EvenHistory(every=every, max_items=max_records)

    @property
    def every(self) -> int:
        return self._history.every

    @every.setter
    def every(self, every: int) -> None:
        self._history.every = self._history.interval = every

    @property
    def records(self) -> tuple:
        """The frozen records, oldest first (the same tuple until the next record is added)."""
        return self._history.items()

    @property
    def state(self) -> HistoryState:
        """Everything it holds as one immutable value (a step record keeps it by reference)."""
        return self._history.state

    @state.setter
    def state(self, state: HistoryState) -> None:
        self._history.state = state

    def __len__(self) -> int:
        return len(self._history)

    def due(self, batch: int) -> bool:
        """True when batch number ``batch`` (1, 2, ... since the model was made) should be recorded."""
        return self._history.due(batch)

    def add(self, batch: int, record: dict) -> None:
        """Add a ``layer_stats`` dict for batch ``batch`` (frozen in place: give it away)."""
        self._history.push(batch, freeze(record, copy=False))

    def clear(self) -> None:
        self._history.clear()


def validation_record(dataset, indices: np.ndarray, y: np.ndarray, predicted: np.ndarray,
                      num_classes: int, step: int, max_images: int = GALLERY_SIZE) -> Mapping:
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
    return freeze({
        "confusion": confusion_matrix(y, predicted, num_classes),
        "accuracy": float(np.mean(predicted == y)) if len(y) else float("nan"),
        "size": int(len(y)), "step": int(step),
        "images": np.array(images, np.float32), "labels": np.array(y[wrong], np.int64),
        "predicted": np.array(predicted[wrong], np.int64), "indices": np.array(indices[wrong], np.int64),
        "wrong": np.arange(len(wrong)),
    }, copy=False)

"""Statistics over time, without Qt: what the trainer records every N steps for the statistics panel.

``layer_stats(model, updates)`` is cheap enough to call every few steps (a norm and two histograms per
parameter array). Histograms use fixed bins so that frames can be compared:
- weights: 41 bins on [-R, R], where R is max|W| rounded up to 1, 2 or 5 x 10^k (it changes rarely);
- gradients: log10|dL/dW| on GRAD_LOG_EDGES (1e-12 .. 1), since their size spans many decades and
  vanishing gradients show as the histogram sliding left; exact zeros are counted apart.
"""

from __future__ import annotations

import math

import numpy as np

WEIGHT_BINS = 41
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


def layer_stats(model, updates=None, step: int | None = None) -> dict:
    """Per-layer statistics of the model's weights, last gradients and last update.

    updates: per layer {key: ΔW} of the last update (e.g. ``DeltaTracker.delta(model)``), or None.
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
    return {"step": step, "layers": entries}


def series(history: list[dict], field: str) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """From a list of ``layer_stats`` dicts: (steps (T,), {layer index: values (T,)}) of one field,
    e.g. "grad_norm" or "update_ratio" (nan where a layer is missing from a record)."""
    steps = np.array([h["step"] if h["step"] is not None else i for i, h in enumerate(history)], np.float64)
    indices = sorted({e["index"] for h in history for e in h["layers"]})
    values = {i: np.full(len(history), np.nan) for i in indices}
    for t, record in enumerate(history):
        for entry in record["layers"]:
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

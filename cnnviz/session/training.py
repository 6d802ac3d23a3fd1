"""Qt-free training and evaluation helpers shared by the command line and the session's Trainer."""

from __future__ import annotations

import numpy as np

from cnnviz.errors import TrainingError
from cnnviz.nn import SoftmaxCrossEntropy


def train_step(model, loss_fn, optimizer, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """One gradient step on a batch.

    x : float32 (N, C, H, W), normalised; y : int64 (N,).
    Returns (mean loss of the batch, fraction of the batch classified right) *before* the update.
    """
    logits = model.forward(x)
    loss = loss_fn.forward(logits, y)
    if not np.isfinite(loss):
        raise TrainingError(f"the loss became {loss} (diverged); try a smaller learning rate.")
    accuracy = float((logits.argmax(axis=1) == y).mean())
    model.backward(loss_fn.backward())
    optimizer.step()
    return loss, accuracy


def evaluate(model, x: np.ndarray, y: np.ndarray, batch_size: int = 500) -> dict:
    """Score ``model`` on images x float32 (N, C, H, W) with labels y int64 (N,).

    Returns {"loss": mean cross-entropy, "accuracy": fraction right,
             "confusion": int64 (classes, classes), row = true class, column = predicted}.
    """
    loss_fn = SoftmaxCrossEntropy()
    num_classes = model.num_classes or int(y.max()) + 1
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    total_loss = 0.0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        logits = model.forward(xb)
        total_loss += loss_fn.forward(logits, yb) * len(xb)
        np.add.at(confusion, (yb, logits.argmax(axis=1)), 1)
    n = max(len(x), 1)
    return {"loss": total_loss / n, "accuracy": float(np.trace(confusion)) / n,
            "confusion": confusion}

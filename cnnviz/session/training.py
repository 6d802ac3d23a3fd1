"""Qt-free training and evaluation helpers shared by the command line and the session's Trainer."""

from __future__ import annotations

import math

import numpy as np

from cnnviz.errors import TrainingError
from cnnviz.nn import SoftmaxCrossEntropy
from cnnviz.nn.memory import max_batch_size

# A mean batch loss above this many times ln(classes) (what a network that guesses scores) counts as
# diverged, like NaN: with Adam at lr 1e6 the loss climbed to 4e30 and stayed finite, so training
# went on at chance level without a word. No run that is learning comes anywhere near it.
DIVERGED_FACTOR = 100


def divergence(loss: float, num_classes: int) -> str | None:
    """The one divergence rule, for the command line and the window alike: None while ``loss`` is
    one a learning network can have; else what is wrong with it, to go into a sentence ("NaN",
    "infinite", or "4.1e+30, over 100 times the 2.30 of guessing (it diverged)")."""
    limit = DIVERGED_FACTOR * math.log(max(2, num_classes))
    if math.isfinite(loss) and loss <= limit:
        return None
    if math.isnan(loss):
        return "NaN"
    if math.isinf(loss):
        return "infinite"
    return f"{loss:.3g}, over {DIVERGED_FACTOR} times the {limit / DIVERGED_FACTOR:.2f} of guessing (it diverged)"


def train_step(model, loss_fn, optimizer, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """One gradient step on a batch.

    x : float32 (N, C, H, W), normalised; y : int64 (N,).
    Returns (mean loss of the batch, fraction of the batch classified right) *before* the update.
    Raises TrainingError, before updating anything, when the loss has diverged (``divergence``):
    the weights are still those that gave the last acceptable loss.

    Overflow on the way there (logits of a diverging network pass float32's range) is what the
    divergence rule is for, so it is not also reported as NumPy RuntimeWarnings.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        logits = model.forward(x)
        loss = loss_fn.forward(logits, y)
    problem = divergence(loss, logits.shape[1])
    if problem is not None:
        raise TrainingError(f"the loss became {problem}")
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
    if getattr(model, "input_shape", None) is not None:   # chunks that fit the memory budget
        batch_size = max(1, min(batch_size, max_batch_size(model)))
    num_classes = model.num_classes or int(y.max()) + 1
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    total_loss = 0.0
    # huge (finite) weights overflow float32 on the way: the loss is then inf or NaN, which the
    # caller says in a sentence; NumPy's RuntimeWarnings would only print before it
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            logits = model.forward(xb)
            total_loss += loss_fn.forward(logits, yb) * len(xb)
            np.add.at(confusion, (yb, logits.argmax(axis=1)), 1)
    n = max(len(x), 1)
    return {"loss": total_loss / n, "accuracy": float(np.trace(confusion)) / n,
            "confusion": confusion}

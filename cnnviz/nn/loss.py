"""Softmax followed by categorical cross-entropy (paper eq. 33-36), exact where it matters.

A trained network is sure of most images: 1 - p[true] falls to 1e-10 .. 1e-14, far below float32's
spacing at 1 (6e-8). Rounding p to float32 and then subtracting 1 would make dL/dlogits[true], and
every gradient drawn from it, pure rounding noise. So the log-probabilities are computed in float64
with log1p (the largest logit's own term, exactly 1 after the shift, is left out of the sum), and the
true class's p - 1 is expm1(log p[true]); only the final gradient is cast to float32, where values
of 1e-14 are represented with float32's full 7 digits.
"""

from __future__ import annotations

import numpy as np

from cnnviz.errors import ArchitectureError
from cnnviz.nn.layer import DTYPE


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log p = z - max(z) - log(sum exp(z - max(z))) in float64, (N, K) -> (N, K).

    After the shift the largest logit contributes exactly 1 to the sum, so the log is log1p of the
    other terms: accurate to float64's relative precision even when they sum to 1e-14 (np.log(1 + s)
    would keep only ~2 of s's digits there)."""
    wide = np.asarray(logits, dtype=np.float64)
    n = wide.shape[0]
    top = wide.argmax(axis=1)
    shifted = wide - wide[np.arange(n), top][:, None]
    terms = np.exp(shifted)
    terms[np.arange(n), top] = 0.0   # the largest one's exp(0) = 1 is the "1" of log1p
    return shifted - np.log1p(terms.sum(axis=1, keepdims=True))


def dlogits_from_log_probs(log_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(p - onehot(y)) / N in float64 from float64 log-probabilities (N, K) and int labels (N,).

    p[true] - 1 = expm1(log p[true]): exact to float64 precision for 1 - p[true] of 1e-14 or less,
    where exp(log p) - 1 would be left with cancellation noise."""
    n = log_probs.shape[0]
    rows = np.arange(n)
    grad = np.exp(log_probs)
    grad[rows, labels] = np.expm1(log_probs[rows, labels])
    grad /= max(n, 1)
    return grad


class SoftmaxCrossEntropy:
    """L = mean over the batch of -log p[n, y_n], p = softmax(logits).

    ``forward(logits (N, K), labels int (N,)) -> float``; afterwards ``probs`` (N, K) float32 (for
    display), ``log_probs`` (N, K) float64 (what backward reads), ``labels`` (N,) and ``losses`` (N,)
    float64 per example (a confident image's 3e-9 comes out as 3e-9, not 0).
    ``backward() -> dL/dlogits = (p - onehot(y)) / N`` (N, K) float32: softmax and cross-entropy
    together give p - y (eq. 34 with 36), divided by N because L is the batch mean. Each element is
    right to float32 precision (1e-7 relative) even where 1 - p[true] is 1e-14.
    """

    kind = "softmax_xent"

    def __init__(self) -> None:
        self.probs: np.ndarray | None = None
        self.log_probs: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.losses: np.ndarray | None = None  # per-example loss (N,)

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        logits = np.asarray(logits)
        labels = np.asarray(labels)
        if logits.ndim != 2 or labels.shape != (logits.shape[0],):
            raise ArchitectureError(
                f"the loss needs logits (N, classes) and N labels, got {logits.shape} and {labels.shape}."
            )
        if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
            raise ArchitectureError(
                f"labels must lie in 0..{logits.shape[1] - 1}, got {labels.min()}..{labels.max()}."
            )
        self.log_probs = log_softmax(logits)
        self.probs = np.exp(self.log_probs).astype(DTYPE)
        self.labels = labels.astype(np.int64, copy=False)
        self.losses = -self.log_probs[np.arange(len(labels)), self.labels]
        return float(self.losses.mean())

    def backward(self) -> np.ndarray:
        if self.log_probs is None:
            raise RuntimeError("SoftmaxCrossEntropy.backward called before forward")
        return dlogits_from_log_probs(self.log_probs, self.labels).astype(DTYPE)

    def accuracy(self) -> float:
        """Fraction of the last batch whose largest probability is the true class."""
        return float((self.probs.argmax(axis=1) == self.labels).mean())

"""Softmax followed by categorical cross-entropy (paper eq. 33-36), numerically stable."""

from __future__ import annotations

import numpy as np

from cnnviz.errors import ArchitectureError
from cnnviz.nn.layer import DTYPE


class SoftmaxCrossEntropy:
    """L = mean over the batch of -log p[n, y_n], p = softmax(logits).

    ``forward(logits (N, K), labels int (N,)) -> float``; afterwards ``probs`` (N, K) and
    ``labels``. ``backward() -> dL/dlogits = (p - onehot(y)) / N`` (N, K): softmax and cross-entropy
    together give p - y (eq. 34 with 36), divided by N because L is the batch mean.
    Stable for huge logits: the max is subtracted before exp, and log p uses log-sum-exp.
    """

    kind = "softmax_xent"

    def __init__(self) -> None:
        self.probs: np.ndarray | None = None
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
        wide = logits.astype(np.float64)  # (N, K) is tiny; float64 keeps z - max(z) from overflowing
        shifted = wide - wide.max(axis=1, keepdims=True)
        log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        log_probs = shifted - log_sum
        self.probs = np.exp(log_probs).astype(DTYPE, copy=False)
        self.labels = labels.astype(np.int64, copy=False)
        self.losses = -log_probs[np.arange(len(labels)), self.labels]
        return float(self.losses.mean())

    def backward(self) -> np.ndarray:
        if self.probs is None:
            raise RuntimeError("SoftmaxCrossEntropy.backward called before forward")
        n = self.probs.shape[0]
        grad = self.probs.copy()
        grad[np.arange(n), self.labels] -= 1
        grad /= n
        return grad

    def accuracy(self) -> float:
        """Fraction of the last batch whose largest probability is the true class."""
        return float((self.probs.argmax(axis=1) == self.labels).mean())

"""Which training images come next: a shuffled order per epoch, shared by live training and the
stepper (pausing, stepping through the next image and resuming continues the same order)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CursorState:
    order: np.ndarray   # (n_train,) permutation of this epoch; replaced, never mutated
    position: int
    epoch: int


class BatchCursor:
    """``take(n)`` -> indices (k,) into the training set, k <= n; a batch never spans two epochs."""

    def __init__(self, n_train: int, seed: int = 0) -> None:
        if n_train < 1:
            raise ValueError("the training set is empty")
        self.n_train = n_train
        self._rng = np.random.default_rng(seed)
        self.epoch = 0
        self.position = 0
        self.order = self._rng.permutation(n_train)

    def take(self, n: int) -> np.ndarray:
        if self.position >= self.n_train:
            self.order = self._rng.permutation(self.n_train)
            self.position = 0
            self.epoch += 1
        indices = self.order[self.position : self.position + n]
        self.position += len(indices)
        return indices

    def state(self) -> CursorState:
        return CursorState(self.order, self.position, self.epoch)

    def restore(self, state: CursorState) -> None:
        self.order, self.position, self.epoch = state.order, state.position, state.epoch

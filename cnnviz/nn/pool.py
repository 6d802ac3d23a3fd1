"""Pooling layers: max-pooling (paper eq. 29, 30) and average pooling.

Windows of ``size`` x ``size`` move with ``stride``; out = floor((in - size)/stride) + 1, so cells past
the last whole window are never pooled (and get zero gradient). Windows may overlap (stride < size).
"""

from __future__ import annotations

import numpy as np

from cnnviz.nn.layer import Layer, check_image_shape, windowed_size
from cnnviz.errors import ArchitectureError


def pool_windows(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """(N, C, H, W) -> a strided view (N, C, OH, OW, size, size) of every pooling window."""
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(2, 3))
    return windows[:, :, ::stride, ::stride]


class _Pool(Layer):
    def __init__(self, size: int = 2, stride: int = 2) -> None:
        super().__init__()
        for label, value in (("size", size), ("stride", stride)):
            if int(value) != value or value < 1:
                raise ArchitectureError(f"{type(self).__name__} {label} must be an integer >= 1, not {value!r}.")
        self.size, self.stride = int(size), int(stride)

    def output_shape(self, input_shape):
        c, h, w = check_image_shape(self, input_shape)
        return (c, windowed_size(self, h, self.size, self.stride, 0, "height"),
                windowed_size(self, w, self.size, self.stride, 0, "width"))

    def config(self):
        return {"type": self.kind, "size": self.size, "stride": self.stride}

    def describe(self):
        label = "MaxPool" if self.kind == "maxpool" else "AvgPool"
        return f"{label} {self.size}x{self.size} s{self.stride}"


class MaxPool2D(_Pool):
    """Max-pooling. forward: (N, C, H, W) -> (N, C, OH, OW), each output the max of its window (eq. 29).

    After forward, ``mask`` is a bool array shaped like the input, True at the cell that won each
    window: the first maximum in row-major order within the window (the *pooling mask*). backward
    (eq. 30) routes each window's gradient to its winner only; a cell that wins several overlapping
    windows receives the sum of their gradients.
    """

    kind = "maxpool"

    def __init__(self, size: int = 2, stride: int = 2) -> None:
        super().__init__(size, stride)
        self.mask: np.ndarray | None = None
        self.winner_index: np.ndarray | None = None  # flat index into the input, per output cell

    def _forward(self, x):
        n, c, h, w = x.shape
        k, s = self.size, self.stride
        _, out_h, out_w = self.output_shape((c, h, w))
        # one strided view per offset (i, j) inside the window: k*k whole-array operations
        # instead of an argmax over tiny rows, which costs NumPy a loop per window
        offsets = [x[:, :, i : i + s * out_h : s, j : j + s * out_w : s] for i in range(k) for j in range(k)]
        out = offsets[0].copy()
        for view in offsets[1:]:
            np.maximum(out, view, out=out)
        best = np.zeros(out.shape, dtype=np.intp)
        for position in reversed(range(k * k)):  # last write wins: the first maximum in row-major order
            np.copyto(best, position, where=offsets[position] == out)
        rows = np.arange(out_h)[:, None] * s + best // k
        cols = np.arange(out_w)[None, :] * s + best % k
        planes = np.arange(n * c).reshape(n, c, 1, 1) * (h * w)
        self.winner_index = planes + rows * w + cols      # (N, C, OH, OW) flat indices into x
        mask = np.zeros(x.size, dtype=bool)
        mask[self.winner_index.ravel()] = True
        self.mask = mask.reshape(x.shape)
        return out

    def _backward(self, dy):
        counts = np.bincount(self.winner_index.ravel(), weights=dy.ravel(), minlength=self.input.size)
        return counts.astype(self.input.dtype).reshape(self.input.shape)

    def cache_state(self):
        """The base arrays plus the pooling mask, bool (N, C, H, W) shaped like the input, and
        ``winner_index``, intp (N, C, OH, OW): the flat index into the input of each window's winner,
        which backward (eq. 30) routes the gradient to."""
        return {**super().cache_state(), "mask": self.mask, "winner_index": self.winner_index}

    def restore_cache(self, state):
        super().restore_cache(state)
        self.mask, self.winner_index = state["mask"], state["winner_index"]

    def clear(self):
        super().clear()
        self.mask = self.winner_index = None


class AvgPool2D(_Pool):
    """Average pooling. forward: (N, C, H, W) -> (N, C, OH, OW), the mean of each window;
    backward spreads each window's gradient evenly, 1/size^2 to every cell of the window."""

    kind = "avgpool"

    def _forward(self, x):
        return pool_windows(x, self.size, self.stride).mean(axis=(-2, -1), dtype=x.dtype)

    def _backward(self, dy):
        k, s = self.size, self.stride
        out_h, out_w = dy.shape[2:]
        dx = np.zeros(self.input.shape, dtype=self.input.dtype)
        share = dy / (k * k)
        for i in range(k):
            for j in range(k):
                dx[:, :, i : i + s * out_h : s, j : j + s * out_w : s] += share
        return dx

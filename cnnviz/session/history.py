"""Running curves (loss, accuracy, validation accuracy) in bounded memory.

A long run is downsampled, never cut at the start: when a curve is full, neighbouring points are
averaged in pairs and from then on every stored point stands for twice as many raw points, so the
whole run stays visible at an even density.
"""

from __future__ import annotations

import numpy as np

MAX_POINTS = 2000
CURVE_NAMES = ("loss", "accuracy", "val_accuracy")


class Curve:
    """(x, y) points, at most ``max_points`` of them; ``as_array()`` -> read-only (2, n) float64."""

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        if max_points < 2 or max_points % 2:
            raise ValueError(f"a curve needs an even number of points >= 2, not {max_points}")
        self.max_points = max_points
        self._points = np.empty((2, max_points), dtype=np.float64)
        self._count = 0
        self.stride = 1          # raw points per stored point
        self._bucket = [0.0, 0.0, 0]   # running sums of x, y and the count not yet stored
        self._frozen: np.ndarray | None = None

    def __len__(self) -> int:
        return self._count

    def append(self, x: float, y: float) -> None:
        bucket = self._bucket
        bucket[0] += x
        bucket[1] += y
        bucket[2] += 1
        if bucket[2] < self.stride:
            return
        if self._count == self.max_points:
            self._halve()
        n = bucket[2]
        self._points[:, self._count] = (bucket[0] / n, bucket[1] / n)
        self._count += 1
        self._bucket = [0.0, 0.0, 0]
        self._frozen = None

    def _halve(self) -> None:
        """Average neighbouring pairs: half the points, each standing for twice as many."""
        half = self._count // 2
        pairs = self._points[:, : half * 2].reshape(2, half, 2)
        self._points[:, :half] = pairs.mean(axis=2)
        self._count = half
        self.stride *= 2

    def as_array(self) -> np.ndarray:
        """Read-only (2, n) copy: row 0 images seen, row 1 the value. Cached until the next point."""
        if self._frozen is None:
            frozen = self._points[:, : self._count].copy()
            frozen.setflags(write=False)
            self._frozen = frozen
        return self._frozen

    def clear(self) -> None:
        self._count = 0
        self.stride = 1
        self._bucket = [0.0, 0.0, 0]
        self._frozen = None


class Curves:
    """The named curves of one run (``CURVE_NAMES``), each a bounded ``Curve``."""

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        self.curves = {name: Curve(max_points) for name in CURVE_NAMES}

    def add(self, name: str, images_seen: int, value: float) -> None:
        self.curves[name].append(float(images_seen), float(value))

    def as_arrays(self) -> dict[str, np.ndarray]:
        """name -> read-only (2, n) array (images_seen, value), as the Snapshot carries them."""
        return {name: curve.as_array() for name, curve in self.curves.items()}

    def clear(self) -> None:
        for curve in self.curves.values():
            curve.clear()

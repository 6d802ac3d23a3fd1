"""Tile a stack of 2-D maps into one image, so a whole layer is drawn by ONE ImageItem (rule 7).

Maps (N, H, W) go into a grid of ``rows`` x ``cols`` tiles in row-major order (map i at row
i // cols, column i % cols), with ``sep`` pixels between tiles filled with ``fill`` (never NaN:
pyqtgraph slows down and mis-scales on NaN). The layout also maps image pixels back to
(map, y, x) for clicks, and gives separator lines and label positions. Coordinates follow pyqtgraph's
row-major convention: x is the column, y the row, pixel (y, x) covers [x, x+1) x [y, y+1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MosaicLayout:
    """Where each of ``n`` maps of ``h`` x ``w`` pixels sits in the mosaic image."""

    n: int
    h: int
    w: int
    rows: int
    cols: int
    sep: int = 1

    @property
    def height(self) -> int:
        return self.rows * (self.h + self.sep) - self.sep

    @property
    def width(self) -> int:
        return self.cols * (self.w + self.sep) - self.sep

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the mosaic image (height, width)."""
        return (self.height, self.width)

    def origin(self, index: int) -> tuple[int, int]:
        """(y, x) of the top-left pixel of map ``index``."""
        r, c = divmod(int(index), self.cols)
        return (r * (self.h + self.sep), c * (self.w + self.sep))

    def origins(self) -> np.ndarray:
        """(n, 2) int array of every map's top-left (y, x)."""
        idx = np.arange(self.n)
        return np.stack([(idx // self.cols) * (self.h + self.sep),
                         (idx % self.cols) * (self.w + self.sep)], axis=1)

    def locate(self, x: float, y: float) -> tuple[int, int, int] | None:
        """The (map index, row, column) under image point (x, y), or None on a separator/outside.

        x, y are image coordinates (x = column, y = row, floats as a mouse gives them)."""
        if not (np.isfinite(x) and np.isfinite(y)):
            return None
        px, py = math.floor(x), math.floor(y)
        if px < 0 or py < 0 or px >= self.width or py >= self.height:
            return None
        c, tx = divmod(px, self.w + self.sep)
        r, ty = divmod(py, self.h + self.sep)
        if tx >= self.w or ty >= self.h:
            return None
        index = r * self.cols + c
        if index >= self.n:
            return None
        return (int(index), int(ty), int(tx))

    def separator_lines(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x, y, connect arrays for ONE PlotCurveItem drawing every separator at its pixel centre.

        Each line is two points; ``connect`` is 1 on a line's first point and 0 on its second."""
        segments = []
        if self.sep > 0:
            for c in range(1, self.cols):
                x = c * (self.w + self.sep) - self.sep / 2
                segments.append(((x, 0.0), (x, float(self.height))))
            for r in range(1, self.rows):
                y = r * (self.h + self.sep) - self.sep / 2
                segments.append(((0.0, y), (float(self.width), y)))
        return segments_to_curve(segments)

    def unused_tiles(self) -> list[tuple[int, int, int, int]]:
        """(x, y, w, h) of the grid's empty tiles after the last map (drawn like separators, so they
        are not mistaken for maps of zeros)."""
        rects = []
        for index in range(self.n, self.rows * self.cols):
            y, x = self.origin(index)
            rects.append((x, y, self.w, self.h))
        return rects

    def label_positions(self) -> np.ndarray:
        """(n, 2) float (x, y) of each map's top-left corner, where its number is drawn."""
        o = self.origins().astype(float)
        return np.stack([o[:, 1], o[:, 0]], axis=1)


def segments_to_curve(segments) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[((x0, y0), (x1, y1)), ...] -> x, y, connect for a PlotCurveItem with a connect array."""
    if not segments:
        empty = np.zeros(0)
        return empty, empty, np.zeros(0, dtype=np.int32)
    pts = np.asarray(segments, dtype=float).reshape(-1, 2)
    connect = np.zeros(len(pts), dtype=np.int32)
    connect[0::2] = 1
    return pts[:, 0], pts[:, 1], connect


def grid_shape(n: int, h: int = 1, w: int = 1, cols: int | None = None, aspect: float = 1.6) -> tuple[int, int]:
    """(rows, cols) for ``n`` tiles; without ``cols``, the grid closest to ``aspect`` (width/height)."""
    n = max(int(n), 1)
    if cols is None:
        best = None
        for c in range(1, n + 1):
            r = math.ceil(n / c)
            ratio = (c * (w + 1)) / (r * (h + 1))
            score = abs(math.log(ratio / aspect)) + 0.25 * (r * c - n)   # empty tiles cost
            if best is None or score < best[0]:
                best = (score, c)
        cols = best[1]
    cols = max(1, min(int(cols), n))
    return math.ceil(n / cols), cols


def make_layout(n: int, h: int, w: int, cols: int | None = None, sep: int = 1,
                aspect: float = 1.6) -> MosaicLayout:
    rows, cols = grid_shape(n, h, w, cols, aspect)
    return MosaicLayout(int(n), int(h), int(w), rows, cols, int(sep))


def tile(maps: np.ndarray, layout: MosaicLayout | None = None, cols: int | None = None,
         sep: int = 1, fill: float = 0.0) -> tuple[np.ndarray, MosaicLayout]:
    """Tile ``maps`` (N, H, W) (or one (H, W) map) into a float32 (height, width) mosaic.

    Returns (image, layout); image[layout.origin(i) + (y, x)] == maps[i, y, x]. Separators and unused
    tiles hold ``fill``. NaN/inf in ``maps`` become 0 so levels and the drawing stay valid."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3:
        raise ValueError(f"tile needs maps shaped (N, H, W), got {maps.shape}")
    n, h, w = maps.shape
    if layout is None:
        layout = make_layout(n, h, w, cols, sep)
    elif (layout.n, layout.h, layout.w) != (n, h, w):
        raise ValueError(f"layout is for {layout.n}x{layout.h}x{layout.w} maps, got {maps.shape}")
    s = layout.sep
    buf = np.full((layout.rows * layout.cols, h + s, w + s), fill, dtype=np.float32)
    buf[:n, :h, :w] = maps
    image = buf.reshape(layout.rows, layout.cols, h + s, w + s).transpose(0, 2, 1, 3)
    image = image.reshape(layout.rows * (h + s), layout.cols * (w + s))[:layout.height, :layout.width]
    image = np.ascontiguousarray(image)
    if not np.isfinite(image).all():
        np.nan_to_num(image, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return image, layout

"""Turn any grey image of one digit (e.g. drawn with the mouse) into an MNIST-like 28x28 image.

MNIST's recipe (LeCun et al.): the ink's bounding box is scaled to fit a 20x20 box preserving its aspect
ratio (anti-aliased), then the result is placed in a 28x28 image so that its centre of mass sits at the
centre, by an integer shift. The same ``CENTRE`` as the built-in digits is used.
"""

from __future__ import annotations

import numpy as np

from cnnviz.data.digits import BOX, CENTRE, SIZE

INK_THRESHOLD = 0.02   # fainter pixels are not ink (anti-aliasing dust must not widen the box)


def resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix M such that ``M @ v`` resamples a line of n_in pixels to n_out.

    Shrinking: each output pixel is the area-weighted mean of the input pixels it covers (no
    aliasing). Growing: linear interpolation between input pixel centres."""
    m = np.zeros((n_out, n_in))
    scale = n_in / n_out
    if scale >= 1.0:
        for o in range(n_out):
            lo, hi = o * scale, (o + 1) * scale
            for i in range(int(np.floor(lo)), min(n_in, int(np.ceil(hi)))):
                m[o, i] = min(hi, i + 1) - max(lo, i)
            m[o] /= m[o].sum()
    else:
        centres = (np.arange(n_out) + 0.5) * scale - 0.5
        for o, c in enumerate(np.clip(centres, 0, n_in - 1)):
            i = min(int(np.floor(c)), n_in - 2) if n_in > 1 else 0
            t = c - i
            m[o, i] += 1 - t
            if n_in > 1:
                m[o, i + 1] += t
    return m


def ink_box(image: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) inclusive of the pixels brighter than ``threshold``; None if none."""
    rows = np.flatnonzero((image > threshold).any(axis=1))
    cols = np.flatnonzero((image > threshold).any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the brightness-weighted mean pixel position (pixel-centre coordinates)."""
    total = float(image.sum())
    rows = np.arange(image.shape[0])
    cols = np.arange(image.shape[1])
    return float(image.sum(axis=1) @ rows / total), float(image.sum(axis=0) @ cols / total)


def fit_to_box(image: np.ndarray, box: float = BOX) -> np.ndarray:
    """Crop to the ink and scale so the longer side is ``box`` pixels, keeping the aspect ratio."""
    top, left, bottom, right = ink_box(image)
    crop = image[top : bottom + 1, left : right + 1]
    h, w = crop.shape
    scale = box / max(h, w)
    out_h, out_w = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    return resample_matrix(h, out_h) @ crop @ resample_matrix(w, out_w).T


def mnist_preprocess(image: np.ndarray) -> np.ndarray:
    """Any white-on-black digit image -> an MNIST-style one.

    image: (H, W) or (1, H, W), any size, values in 0..1 (ink bright). Returns float32 (1, 28, 28) in
    0..1: the ink fitted into 20x20 (aspect kept) and centred by mass in 28x28. An image without ink
    gives all zeros."""
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 3:
        a = a[0]
    a = np.clip(a, 0.0, 1.0)
    out = np.zeros((SIZE, SIZE))
    if ink_box(a) is None:
        return out[None].astype(np.float32)
    fitted = np.clip(fit_to_box(a), 0.0, 1.0)
    h, w = fitted.shape
    com_y, com_x = centre_of_mass(fitted)
    # integer shift, as MNIST did; kept within the frame (the 20x20 box always fits in 28x28)
    top = int(np.clip(round(CENTRE - com_y), 0, SIZE - h))
    left = int(np.clip(round(CENTRE - com_x), 0, SIZE - w))
    out[top : top + h, left : left + w] = fitted
    return out[None].astype(np.float32)

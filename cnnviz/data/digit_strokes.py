"""Drawing helpers for the digit styles (``digit_templates``): random numbers for many digits at once
and control points of lines, arcs and paths, all shaped (n, m, 2): n digits, m points, (x, y) with x to
the right and y downwards, roughly in the unit box."""

from __future__ import annotations

import numpy as np


class Pen:
    """Random numbers for ``n`` digits drawn at once: each call gives one value per digit (n,)."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng, self.n = rng, n

    def u(self, lo: float, hi: float) -> np.ndarray:
        return self.rng.uniform(lo, hi, self.n)

    def coin(self, p: float) -> np.ndarray:
        """True for a fraction ``p`` of the digits."""
        return self.rng.random(self.n) < p


def path(*points) -> np.ndarray:
    """Control points (n, m, 2) from m (x, y) pairs whose coordinates are scalars or (n,) arrays."""
    xs = np.broadcast_arrays(*[np.asarray(c, dtype=np.float64) for p in points for c in p])
    return np.stack(xs, axis=-1).reshape(xs[0].shape + (len(points), 2))


def line(p, q, m: int = 4, bow=0.0) -> np.ndarray:
    """``m`` points from p to q, bent sideways by ``bow`` (a fraction of the length) in the middle."""
    t = np.linspace(0.0, 1.0, m)
    px, py, qx, qy, bow = [np.asarray(v, np.float64)[..., None] for v in (*p, *q, bow)]
    bulge = bow * 4 * t * (1 - t)
    x = px + (qx - px) * t + bulge * (qy - py)
    y = py + (qy - py) * t - bulge * (qx - px)
    return np.stack(np.broadcast_arrays(x, y), axis=-1)


def arc(cx, cy, rx, ry, start, sweep, m: int, spiral=1.0) -> np.ndarray:
    """``m`` points (n, m, 2) on an ellipse arc. Angles in degrees, 0 = right, -90 = top (y grows
    down), a negative sweep turns anticlockwise on screen; the radius is scaled from 1 to
    ``spiral`` along the arc, so an overlapping end can cross inside or outside the start."""
    t = np.linspace(0.0, 1.0, m)
    args = [np.asarray(a, np.float64)[..., None] for a in (cx, cy, rx, ry, start, sweep, spiral)]
    cx, cy, rx, ry, start, sweep, spiral = args
    angle = np.radians(start + sweep * t)
    scale = 1 + (spiral - 1) * t
    return np.stack([cx + rx * scale * np.cos(angle), cy + ry * scale * np.sin(angle)], axis=-1)


def join(*parts) -> np.ndarray:
    """One stroke through several pieces (n, m_i, 2), dropping a point a piece repeats."""
    n = max(part.shape[0] for part in parts if part.ndim == 3)
    parts = [np.broadcast_to(part, (n,) + part.shape[-2:]) for part in parts]
    out = [parts[0]]
    for part in parts[1:]:
        same = np.allclose(out[-1][:, -1], part[:, 0])
        out.append(part[:, 1:] if same else part)
    return np.concatenate(out, axis=1)


def lerp(a, b, t):
    return a + (b - a) * t

"""Built-in handwritten-looking digits, generated procedurally in NumPy (no fonts, files or network).

Each digit is drawn like MNIST's: a pen path (a per-digit stroke template, see ``digit_templates``)
randomly perturbed, slanted, rotated and stretched; the path is fitted into a 20x20 box preserving its
aspect ratio, centred by its centre of mass in a 28x28 image, and inked as a soft white stroke of random
thickness on black. Everything is vectorised over all images that share a template, so 60,000 digits
take a few seconds. The same seed always gives the same digits.
"""

from __future__ import annotations

import numpy as np

from cnnviz.data.digit_templates import TEMPLATES

SIZE = 28          # image side, pixels
BOX = 20.0         # the ink is fitted into BOX x BOX, as MNIST does
CENTRE = 14.0      # MNIST's mean centre of mass (row and column, pixel-centre coordinates)
SAMPLES_PER_SEGMENT = 12
FLOOR = 0.25
JITTER, WARP, ASPECT, SLANT = 0.025, 0.05, 0.2, 0.25  # spread of the random variations
# Per digit: mean slant (shear, > 0 leans right) and width factor. They were matched to the
# second moments (skew) and ink widths of real handwriting, so each digit leans and narrows as
# people really write it (a 1 leans right, a 9 is narrow...).
SLANT_MEAN = np.array([0.21, 0.23, 0.02, 0.08, 0.23, 0.30, -0.02, -0.02, 0.16, 0.22])
WIDTH = np.array([0.87, 0.85, 0.88, 0.74, 0.78, 0.95, 0.9, 0.72, 0.78, 0.72])
SIGMA_LEVELS = np.linspace(0.7, 1.2, 11)  # stroke blur (pixels), quantised so kernels are shared


def catmull_rom_basis(num_points: int, samples: int = SAMPLES_PER_SEGMENT) -> np.ndarray:
    """Matrix B, shape (S, num_points), such that ``B @ ctrl`` samples the Catmull-Rom spline.

    The end points are mirrored so the curve starts and ends on the first and last control point.
    S = (num_points - 1) * samples + 1. A single point gives a dot.
    """
    if num_points == 1:
        return np.ones((1, 1))
    t = np.linspace(0.0, 1.0, samples, endpoint=False)
    # Uniform Catmull-Rom weights of P[i-1], P[i], P[i+1], P[i+2] at parameter t.
    w = 0.5 * np.stack([-t**3 + 2 * t**2 - t, 3 * t**3 - 5 * t**2 + 2,
                        -3 * t**3 + 4 * t**2 + t, t**3 - t**2], axis=1)
    # Work on the padded list [2P0-P1, P0..Pn-1, 2Pn-1 - Pn-2]; map it back to P at the end.
    pad = np.zeros((num_points + 2, num_points))
    pad[1:-1] = np.eye(num_points)
    pad[0, 0], pad[0, 1] = 2.0, -1.0
    pad[-1, -1], pad[-1, -2] = 2.0, -1.0
    rows = []
    for seg in range(num_points - 1):
        rows.append(w @ pad[seg:seg + 4])
    rows.append(pad[-2:-1])  # the last control point itself
    return np.concatenate(rows, axis=0)


def _gaussian_matrices(sigmas: np.ndarray) -> np.ndarray:
    """Blur matrices G, shape (len(sigmas), 28, 28): ``G @ img @ G.T`` is a Gaussian blur."""
    idx = np.arange(SIZE, dtype=np.float64)
    d = idx[None, :, None] - idx[None, None, :]
    g = np.exp(-0.5 * (d / sigmas[:, None, None]) ** 2)
    return g / (np.sqrt(2 * np.pi) * sigmas[:, None, None])


_BLUR = _gaussian_matrices(SIGMA_LEVELS).astype(np.float32)


def _perturb(ctrl: np.ndarray, digit: int, rng: np.random.Generator) -> np.ndarray:
    """Random handwriting variation of control points ``ctrl`` (n, M, 2) in the unit box."""
    n = ctrl.shape[0]
    pts = ctrl + rng.normal(0.0, JITTER, ctrl.shape)
    # A smooth random warp: two low-frequency sine displacements, like elastic distortion.
    for _ in range(2):
        freq = rng.normal(0.0, 2.0, (n, 1, 2))
        phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
        amp = rng.normal(0.0, WARP, (n, 1, 2))
        pts = pts + amp * np.sin((pts * freq).sum(-1, keepdims=True) + phase)
    pts = pts - 0.5
    aspect = np.exp(rng.normal(np.log(WIDTH[digit]), ASPECT, (n, 1)))
    pts[..., 0] *= aspect
    slant = rng.normal(SLANT_MEAN[digit], SLANT, (n, 1))  # > 0 leans right
    pts[..., 0] -= slant * pts[..., 1]
    angle = rng.normal(0.0, 0.12, (n, 1))         # radians
    c, s = np.cos(angle), np.sin(angle)
    x, y = pts[..., 0], pts[..., 1]
    return np.stack([c * x - s * y, s * x + c * y], axis=-1)


def _sample_template(strokes, ctrl: np.ndarray):
    """Pen positions along all strokes of a template, shape (n, S, 2), and each sample's arc length."""
    points, lengths, start = [], [], 0
    for stroke in strokes:
        m = len(stroke)
        p = np.einsum("sm,nmc->nsc", catmull_rom_basis(m), ctrl[:, start:start + m])
        start += m
        seg = np.linalg.norm(np.diff(p, axis=1), axis=-1)
        # Each sample stands for half of each neighbouring segment.
        ln = np.zeros(p.shape[:2])
        ln[:, 1:] += seg / 2
        ln[:, :-1] += seg / 2
        points.append(p)
        lengths.append(ln)
    return np.concatenate(points, axis=1), np.concatenate(lengths, axis=1)


def _fit_and_centre(points: np.ndarray, lengths: np.ndarray, margin: np.ndarray, rng):
    """Scale points (n, S, 2) into the 20x20 box (minus the stroke margin) and centre by mass."""
    lo, hi = points.min(axis=1), points.max(axis=1)
    extent = (hi - lo).max(axis=1)
    scale = (BOX - 2 * margin) / np.maximum(extent, 1e-6)
    points = points * scale[:, None, None]
    lengths = lengths * scale[:, None]
    mass = lengths.sum(axis=1, keepdims=True)
    centre = (points * lengths[..., None]).sum(axis=1) / mass
    shift = CENTRE - centre + rng.normal(0.0, 0.25, centre.shape)
    return points + shift[:, None, :], lengths


def _splat(points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Bilinear splat of weighted points (n, S, 2) [x, y] into images (n, 28, 28)."""
    n, s, _ = points.shape
    x, y = points[..., 0], points[..., 1]
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = x - x0, y - y0
    img_index = np.repeat(np.arange(n), s).reshape(n, s) * SIZE * SIZE
    out = np.zeros(n * SIZE * SIZE)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi, yi = x0 + dx, y0 + dy
            ok = (xi >= 0) & (xi < SIZE) & (yi >= 0) & (yi < SIZE)
            flat = (img_index + yi * SIZE + xi)[ok]
            out += np.bincount(flat, weights=(weights * wx * wy)[ok], minlength=out.size)
    return out.reshape(n, SIZE, SIZE)


def _render_group(strokes, digit: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` images (n, 28, 28) float in 0..1 of one template of ``digit``."""
    ctrl = np.array([p for stroke in strokes for p in stroke], dtype=np.float64)
    ctrl = _perturb(np.broadcast_to(ctrl, (n,) + ctrl.shape), digit, rng)
    points, lengths = _sample_template(strokes, ctrl)
    level = rng.integers(0, len(SIGMA_LEVELS), n)
    sigma = SIGMA_LEVELS[level]
    gain = rng.uniform(1.4, 3.0, n)                 # how far the flat top of the stroke reaches
    half_width = sigma * np.sqrt(2 * np.log(gain)) + sigma
    points, lengths = _fit_and_centre(points, lengths, 0.5 * half_width, rng)
    pressure = 1.0 + rng.normal(0.0, 0.08, (n, 1))
    line = _splat(points, lengths * pressure).astype(np.float32)
    blur = _BLUR[level]
    ink = blur @ line @ blur.transpose(0, 2, 1)
    peak = 1.0 / (np.sqrt(2 * np.pi) * sigma)       # a straight line's blurred centre value
    ink *= (gain / peak)[:, None, None].astype(np.float32)
    # Cut the Gaussian's long faint tail: MNIST's anti-aliased edge is about one pixel wide.
    return np.clip((ink - FLOOR) / (1.0 - FLOOR), 0.0, 1.0)


def generate_digits(n: int, seed: int = 0, labels: np.ndarray | None = None):
    """Generate ``n`` handwritten-looking digits.

    Parameters
    ----------
    n : number of images.
    seed : the same seed gives the same images and labels.
    labels : optional int array (n,) of the digits to draw; by default balanced and shuffled.

    Returns
    -------
    images : uint8 (n, 28, 28), white (255) strokes on black (0), like MNIST.
    labels : int64 (n,), 0..9.
    """
    rng = np.random.default_rng(seed)
    if labels is None:
        labels = rng.permutation(np.arange(n) % 10)
    labels = np.asarray(labels, dtype=np.int64)
    images = np.zeros((n, SIZE, SIZE), dtype=np.uint8)
    for digit in range(10):
        where = np.flatnonzero(labels == digit)
        weights = np.array([w for w, _ in TEMPLATES[digit]], dtype=np.float64)
        choice = rng.choice(len(weights), size=where.size, p=weights / weights.sum())
        for t, (_, strokes) in enumerate(TEMPLATES[digit]):
            idx = where[choice == t]
            for chunk in np.array_split(idx, max(1, idx.size // 4000)):
                if chunk.size:
                    ink = _render_group(strokes, digit, chunk.size, rng)
                    images[chunk] = np.round(ink * 255).astype(np.uint8)
    return images, labels

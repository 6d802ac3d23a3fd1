"""Built-in handwritten-looking digits, generated procedurally in NumPy (no fonts, files or network).

Each digit is made the way MNIST's were, from a pen path instead of a scan:
1. a style of the digit (``digit_templates``: open or closed 4, 7 with or without a bar...) gives its
   strokes' control points, each over a range of shapes;
2. the points are moved by a smooth random (elastic) displacement field, then jittered, stretched,
   slanted and rotated, as each writer does differently;
3. the path is scaled so its ink fits a 20x20 box (aspect kept, like MNIST) and moved so the centre
   of mass of its ink lands on the 28x28 image's centre to within MNIST's half pixel;
4. it is inked as a white stroke on black: pen pressure rises and falls along the stroke and eases
   at its ends (so the width varies along it), the pen's width and edge softness vary per digit, and
   a few digits get a gap, an overshoot or a speck, as real scans do.
Everything is vectorised over all images that share a style, so 60,000 digits take a few seconds.
The same seed always gives the same digits. ``digit_stats`` holds statistics measured on real MNIST
digits that the result is checked against (tests/data/test_digit_stats.py).
"""

from __future__ import annotations

import numpy as np

from cnnviz.data.digit_strokes import Pen
from cnnviz.data.digit_templates import STYLES

SIZE = 28          # image side, pixels
BOX = 20.0         # the ink is fitted into BOX x BOX, as MNIST does
CENTRE = 14.0      # MNIST's centre of mass (row and column index), to within its integer shift
MARGIN = 2         # digits are drawn on a canvas this much larger on each side, then cut out
CANVAS = SIZE + 2 * MARGIN
SAMPLES_PER_SEGMENT = 6
JITTER = 0.02      # control point noise, unit box
# Per digit: mean slant (shear, > 0 leans right) and width factor, matched to the slant and the
# bounding-box widths measured on real MNIST digits (digit_stats.MNIST).
SLANT_MEAN = np.array([0.27, 0.22, 0.09, 0.07, 0.22, 0.24, -0.04, -0.07, 0.09, 0.21])
# Spread of the slant per digit: lower where the shapes themselves already vary in lean (6, 9).
SLANT_SD = np.array([0.18, 0.2, 0.19, 0.19, 0.19, 0.2, 0.14, 0.18, 0.17, 0.15])
ASPECT = np.array([0.88, 0.71, 0.85, 0.8, 0.81, 0.94, 0.85, 0.8, 0.81, 0.9])
ASPECT_SD = 0.15   # of log width
ROTATION_SD = 0.08  # radians
# Elastic distortion in the unit box (a digit is ~17 pixels high). Simard et al. smooth noise over
# 4 pixels and move each coordinate ~1.4 pixels RMS; here 6 and 2. Measured (one epoch, Adam lr
# 0.003 decaying to 0, seeds 0-1), networks trained on them read real MNIST: 91.1% at 4/1.4 px,
# 92.4% at 4/2 px, 91.8% at 4/2.5 px, 91.9% at 6/2 px; and their own fresh test digits 97.7%, 94.6%,
# 89%, 97.3%: 6/2 transfers as well and stays learnable, and its loops keep their shape.
ELASTIC_SIGMA = 6.0 / 17
ELASTIC_RMS = 2.0 / 17
# A second, finer field (sigma 4, 1 pixel) on top wobbles the strokes locally, as a pixel-level
# elastic distortion does: real MNIST read 90.7% -> 91.6% (lr 0.001) and 90.2% -> 92.2% (lr 0.003,
# constant; seeds 0-2), while fresh digits of its own fall from ~97% to ~95%.
ELASTIC_FINE = (4.0 / 17, 1.0 / 17)
_NODE_SPACING = 0.2
_NODES = np.arange(-0.4, 1.41, _NODE_SPACING)   # grid lines of the nodes, in x and in y
# Pen: half its width (pixels; log-normal around a per-digit mean, matched to MNIST's stroke widths;
# 3% wider, matching them better, read 1% less of real MNIST over 3 seeds) and the width of its
# anti-aliased edge. SIGMA_LEVELS: the blur that measures the distance to the
# path (quantised so the blur matrices are shared); END_CAP: extra ink at stroke ends, in sigmas.
HALF_WIDTH = np.array([1.23, 1.3, 1.13, 1.06, 0.93, 0.97, 1.05, 1.1, 0.87, 0.9])
HALF_WIDTH_SD = 0.25
EDGE = (0.7, 1.4)
SIGMA_LEVELS = np.linspace(0.8, 1.2, 5)
END_CAP = 2.0      # > sqrt(2 pi) / 2, the half of a line's blur missing beyond its end: a round end
PRESSURE = 0.15    # amplitude of each of two pressure waves along the stroke (log scale)
END_PRESSURE = (-0.3, 0.5)  # how much lighter or heavier a stroke may start and end
P_BREAK, P_SPECK = 0.03, 0.02


def catmull_rom_basis(num_points: int, samples: int | None = None) -> np.ndarray:
    """Matrix B, shape (S, num_points), such that ``B @ ctrl`` samples the Catmull-Rom spline.

    The end points are mirrored so the curve starts and ends on the first and last control point.
    S = (num_points - 1) * samples + 1. A single point gives a dot.
    """
    if num_points == 1:
        return np.ones((1, 1))
    samples = samples or SAMPLES_PER_SEGMENT
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


def _gaussian_matrices(sigmas: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Blur matrices G, shape (len(sigmas), size, size): ``G @ img @ G.T`` is a Gaussian blur."""
    idx = np.arange(size, dtype=np.float64)
    d = idx[None, :, None] - idx[None, None, :]
    g = np.exp(-0.5 * (d / sigmas[:, None, None]) ** 2)
    return g / (np.sqrt(2 * np.pi) * sigmas[:, None, None])


_BLUR = _gaussian_matrices(SIGMA_LEVELS, CANVAS).astype(np.float32)


def _writer(ctrl: np.ndarray, digit: int, rng: np.random.Generator) -> np.ndarray:
    """Each writer's jitter, width, slant and rotation of control points (n, M, 2)."""
    n = ctrl.shape[0]
    pts = ctrl + rng.normal(0.0, JITTER, ctrl.shape) - 0.5
    pts[..., 0] *= np.exp(rng.normal(np.log(ASPECT[digit]), ASPECT_SD, (n, 1)))
    pts[..., 0] -= rng.normal(SLANT_MEAN[digit], SLANT_SD[digit], (n, 1)) * pts[..., 1]
    angle = rng.normal(0.0, ROTATION_SD, (n, 1))
    c, s = np.cos(angle), np.sin(angle)
    x, y = pts[..., 0], pts[..., 1]
    return np.stack([c * x - s * y, s * x + c * y], axis=-1)


def _elastic(ctrl: np.ndarray, rng: np.random.Generator, sigma: float = None, rms: float = None) -> np.ndarray:
    """Move control points (n, M, 2) by a smooth random displacement field, like Simard et al.'s
    elastic distortion of MNIST (white noise smoothed by a Gaussian of ``sigma``, scaled so each
    coordinate moves by ``rms`` on average; ELASTIC_SIGMA and ELASTIC_RMS unless given). The field is
    a sum of Gaussian bumps of random height on a grid of nodes, evaluated at the control points
    only: the pen path through them bends with it, at a fraction of the cost of warping every pixel."""
    sigma = ELASTIC_SIGMA if sigma is None else sigma
    rms = ELASTIC_RMS if rms is None else rms
    n = ctrl.shape[0]
    # Bumps on a square grid are separable: exp(-(dx^2 + dy^2) / 2s^2) = exp(-dx^2 / 2s^2) exp(-dy^2 / 2s^2).
    bump_x = np.exp((ctrl[..., 0, None] - _NODES) ** 2 * (-0.5 / sigma ** 2))   # (n, M, K)
    bump_y = np.exp((ctrl[..., 1, None] - _NODES) ** 2 * (-0.5 / sigma ** 2))
    heights = rng.normal(0.0, 1.0, (n, len(_NODES), len(_NODES) * 2))
    # A sum of bumps of width s on a grid of spacing h has standard deviation sqrt(pi) s / h.
    scale = rms * _NODE_SPACING / (np.sqrt(np.pi) * sigma)
    along_y = np.matmul(bump_x, heights).reshape(n, -1, len(_NODES), 2)             # (n, M, K, 2)
    return ctrl + scale * np.einsum("nmkc,nmk->nmc", along_y, bump_y)


def _sample(strokes, ctrl: np.ndarray):
    """Pen positions (n, S, 2) along all strokes, and each sample's stroke number (S,)."""
    points, owner, start = [], [], 0
    for i, stroke in enumerate(strokes):
        m = stroke.shape[-2]
        # One matrix product for all digits: (S, m) @ (m, n*2), rather than n small ones.
        part = ctrl[:, start:start + m].transpose(1, 0, 2).reshape(m, -1)
        points.append((catmull_rom_basis(m) @ part).reshape(-1, len(ctrl), 2).transpose(1, 0, 2))
        owner.append(np.full(points[-1].shape[1], i))
        start += m
    return np.concatenate(points, axis=1), np.concatenate(owner)


def _arc_lengths(points: np.ndarray, owner: np.ndarray, cap: np.ndarray):
    """Each sample's share of its stroke's length (half of each neighbouring segment; ``cap`` (n, 1)
    more at both ends of a stroke, so a blurred end is as dark as the middle and the stroke ends in
    a round cap rather than fading out), its distance along the path, and its distance along its
    stroke from the nearer end; all (n, S)."""
    seg = np.linalg.norm(np.diff(points, axis=1), axis=-1)
    seg[:, owner[1:] != owner[:-1]] = 0.0       # no ink between the end of one stroke and the next
    share = np.zeros(points.shape[:2])
    share[:, 1:] += seg / 2
    share[:, :-1] += seg / 2
    along = np.concatenate([np.zeros((len(points), 1)), np.cumsum(seg, axis=1)], axis=1)
    to_end = np.empty_like(along)
    for i in np.unique(owner):
        cols = owner == i
        s = along[:, cols] - along[:, cols][:, :1]
        to_end[:, cols] = np.minimum(s, s[:, -1:] - s)
        ends = np.flatnonzero(cols)[[0, -1]]
        share[:, ends] += cap
    return share, along, to_end


def _pressure(along: np.ndarray, to_end: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pen pressure (n, S) along the path (pixel arc lengths): a slow random wave, lighter at the
    ends of strokes, and for a few digits a gap where the pen skipped."""
    n = along.shape[0]
    wave = np.zeros_like(along)
    for _ in range(2):
        wavelength = rng.uniform(8.0, 30.0, (n, 1))
        wave += rng.uniform(0, PRESSURE, (n, 1)) * np.sin(2 * np.pi * along / wavelength
                                                          + rng.uniform(0, 2 * np.pi, (n, 1)))
    taper = 1.0 + rng.uniform(*END_PRESSURE, (n, 1)) * np.exp(-to_end / 1.5)
    pressure = np.exp(wave) * taper
    gap_at = along[np.arange(n), rng.integers(0, along.shape[1], n)][:, None]
    gap = (rng.random((n, 1)) < P_BREAK) & (np.abs(along - gap_at) < rng.uniform(0.8, 1.8, (n, 1)))
    return np.where(gap, 0.0, pressure)


def _splat(points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Bilinear splat of weighted points (n, S, 2) [x, y] into canvases (n, CANVAS, CANVAS) whose
    pixel (MARGIN, MARGIN) is the image's (0, 0). Points beyond the canvas are left out."""
    n, s, _ = points.shape
    xy = points + MARGIN
    corner = np.floor(xy)
    frac = xy - corner
    corner = corner.astype(np.int64)
    inside = ((corner >= 0) & (corner < CANVAS - 1)).all(axis=-1)
    weights = np.where(inside, weights, 0.0)
    corner = np.where(inside[..., None], corner, 0)
    base = (np.arange(n)[:, None] * CANVAS + corner[..., 1]) * CANVAS + corner[..., 0]
    fx, fy = frac[..., 0], frac[..., 1]
    index = np.concatenate([base, base + 1, base + CANVAS, base + CANVAS + 1], axis=None)
    share = np.concatenate([(1 - fx) * (1 - fy) * weights, fx * (1 - fy) * weights,
                            (1 - fx) * fy * weights, fx * fy * weights], axis=None)
    return np.bincount(index, weights=share, minlength=n * CANVAS * CANVAS).reshape(n, CANVAS, CANVAS)


def _render_group(style, digit: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` images (n, 28, 28) float in 0..1 of one style of ``digit``."""
    strokes = [np.broadcast_to(s, (n,) + s.shape[-2:]) for s in style(Pen(rng, n))]
    ctrl = _elastic(np.concatenate(strokes, axis=1), rng)
    ctrl = _elastic(ctrl, rng, *ELASTIC_FINE)
    ctrl = _writer(ctrl, digit, rng)
    points, owner = _sample(strokes, ctrl)
    # The pen: half its width (pixels) and how soft its anti-aliased edge is.
    half = np.clip(np.exp(rng.normal(np.log(HALF_WIDTH[digit]), HALF_WIDTH_SD, n)), 0.35, 2.5)
    edge = rng.uniform(*EDGE, n)
    level = rng.integers(0, len(SIGMA_LEVELS), n)
    sigma = SIGMA_LEVELS[level]
    lo, hi = points.min(axis=1), points.max(axis=1)
    scale = (BOX - 2 * half - edge) / np.maximum((hi - lo).max(axis=1), 1e-6)
    points = (points - (lo + hi)[:, None, :] / 2) * scale[:, None, None]
    share, along, to_end = _arc_lengths(points, owner, END_CAP * sigma[:, None])
    ink = share * _pressure(along, to_end, rng)
    points, ink = _add_specks(points, ink, sigma, rng)
    centre = (points * ink[..., None]).sum(axis=1) / np.maximum(ink.sum(axis=1), 1e-9)[:, None]
    points = points + (CENTRE + rng.uniform(-0.5, 0.5, (n, 2)) - centre)[:, None, :]
    line = _splat(points, ink).astype(np.float32)
    blur = _BLUR[level]
    # A blurred line of unit ink per pixel is exp(-d^2 / 2 sigma^2) at distance d from it, so the
    # blur gives each pixel's distance to the pen path; the ink covers the pixels nearer than half
    # the pen's width, with an edge ``edge`` pixels wide, as anti-aliasing a scanned stroke does.
    # Where strokes meet or the pen presses harder the blur adds up and the stroke grows wider.
    # (In place, in float32: this runs over every pixel of every digit.)
    ink = blur @ line @ blur.transpose(0, 2, 1)
    ink *= (np.sqrt(2 * np.pi) * sigma)[:, None, None].astype(np.float32)
    np.maximum(ink, 1e-30, out=ink)
    np.log(ink, out=ink)
    np.minimum(ink, 0.0, out=ink)
    ink *= -2.0
    np.sqrt(ink, out=ink)                                     # distance / sigma
    ink *= (-sigma / edge).astype(np.float32)[:, None, None]
    ink += ((half + edge / 2) / edge).astype(np.float32)[:, None, None]
    np.clip(ink, 0.0, 1.0, out=ink)
    # Half a straight ramp, half a smooth step: a scan's edge fades out slowly into the paper and
    # its core is not quite flat (MNIST has more faint and more nearly-white pixels than mid-grey).
    ink *= 0.5 + ink * (1.5 - ink)
    return _centre_by_mass(ink)


def _centre_by_mass(canvas: np.ndarray) -> np.ndarray:
    """Cut each digit's 28x28 image out of its canvas (n, CANVAS, CANVAS), moved by whole pixels so
    its centre of mass is nearest the image's centre, as MNIST did: the mass then lies within half a
    pixel of it (the path was placed near it already, so the move is at most MARGIN pixels)."""
    idx = np.arange(CANVAS, dtype=np.float32)
    row_mass = canvas.sum(axis=2)
    mass = np.maximum(row_mass.sum(axis=1), 1e-6)
    rows = row_mass @ idx / mass
    cols = canvas.sum(axis=1) @ idx / mass
    top = np.clip(np.round(rows - CENTRE), 0, 2 * MARGIN).astype(np.int64)
    left = np.clip(np.round(cols - CENTRE), 0, 2 * MARGIN).astype(np.int64)
    out = np.empty((len(canvas), SIZE, SIZE), dtype=canvas.dtype)
    for t in range(2 * MARGIN + 1):
        for lft in range(2 * MARGIN + 1):
            which = np.flatnonzero((top == t) & (left == lft))
            if which.size:
                out[which] = canvas[which, t:t + SIZE, lft:lft + SIZE]
    return out


def _add_specks(points: np.ndarray, ink: np.ndarray, sigma: np.ndarray, rng: np.random.Generator):
    """A dot of ink near the digit for a few images (a speck of dust or a touch of the pen)."""
    n = len(points)
    where = rng.normal(0.0, 7.0, (n, 1, 2))
    size = rng.uniform(0.8, 2.5, (n, 1)) * sigma[:, None]
    weight = np.where(rng.random((n, 1)) < P_SPECK, size, 0.0)
    return np.concatenate([points, where], axis=1), np.concatenate([ink, weight], axis=1)


def generate_digits(n: int, seed=0, labels: np.ndarray | None = None):
    """Generate ``n`` handwritten-looking digits.

    Parameters
    ----------
    n : number of images.
    seed : anything ``np.random.default_rng`` takes; the same seed gives the same images and labels.
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
        weights = np.array([w for w, _ in STYLES[digit]], dtype=np.float64)
        choice = rng.choice(len(weights), size=where.size, p=weights / weights.sum())
        for t, (_, style) in enumerate(STYLES[digit]):
            idx = where[choice == t]
            for chunk in np.array_split(idx, max(1, idx.size // 4000)):
                if chunk.size:
                    ink = _render_group(style, digit, chunk.size, rng)
                    images[chunk] = np.round(ink * 255).astype(np.uint8)
    return images, labels

"""Statistics of digit images, and their values measured on the real MNIST test digits.

The built-in digits (``digits``) are checked against these numbers (tests/data/test_digit_stats.py),
so that what the network learns from them looks, in ink and geometry, like real handwriting.
``benchmarks/bench_digits.py --stats`` recomputes ``MNIST`` from ../shared/data/mnist and prints it.
"""

from __future__ import annotations

import numpy as np

# Per class (0..9) means over the class's images, unless the name says "_sd" (the spread within it).
PER_CLASS = ("ink", "ink_sd", "stroke_width", "stroke_width_sd", "com_row", "com_col", "com_offset",
             "height", "width", "long_side", "sd_row", "sd_col", "slant", "slant_sd",
             "saturated", "faint")
# Fractions of all inked pixels (value > 0) in these value bins, over the whole set.
HISTOGRAM_EDGES = (1, 32, 64, 128, 192, 250, 256)

# Measured by ``benchmarks/bench_digits.py --stats`` (``digit_statistics`` of the 10,000 MNIST test
# digits, t10k-images-idx3-ubyte.gz, rounded to 3 decimals); tests/data/test_digit_stats.py checks
# them against the files when ../shared/data/mnist is there.
MNIST = {
    "ink": (135.091, 60.162, 117.745, 112.351, 96.171, 103.530, 112.564, 90.083, 120.052, 98.209),
    "ink_sd": (34.123, 18.158, 30.373, 30.790, 24.930, 28.902, 29.972, 23.805, 31.322, 23.883),
    "stroke_width": (2.253, 2.124, 2.162, 2.044, 2.003, 1.922, 2.140, 2.051, 2.043, 1.979),
    "stroke_width_sd": (0.627, 0.550, 0.566, 0.518, 0.498, 0.478, 0.623, 0.483, 0.608, 0.478),
    "com_row": (13.994, 13.968, 13.991, 13.999, 13.993, 13.987, 14.003, 13.999, 14.000, 14.001),
    "com_col": (14.017, 14.046, 13.991, 14.005, 13.991, 14.000, 13.997, 13.998, 14.015, 14.012),
    "com_offset": (0.386, 0.404, 0.381, 0.386, 0.379, 0.386, 0.380, 0.374, 0.384, 0.380),
    "height": (19.506, 19.997, 19.418, 19.866, 19.892, 19.076, 19.943, 19.907, 19.911, 19.988),
    "width": (17.862, 8.922, 18.111, 16.176, 16.249, 17.969, 15.667, 15.792, 15.570, 14.281),
    "long_side": (19.996, 19.997, 19.996, 19.998, 19.994, 19.992, 19.999, 19.997, 19.995, 20.000),
    "sd_row": (5.533, 5.526, 5.751, 6.034, 4.572, 5.754, 5.142, 5.649, 5.647, 5.105),
    "sd_col": (4.985, 1.947, 4.211, 3.711, 4.079, 4.128, 3.891, 3.685, 3.572, 3.444),
    "slant": (0.204, 0.220, 0.098, 0.036, 0.051, 0.207, -0.010, 0.017, 0.140, -0.023),
    "slant_sd": (0.208, 0.265, 0.241, 0.228, 0.301, 0.292, 0.218, 0.259, 0.231, 0.230),
    "saturated": (0.415, 0.403, 0.394, 0.376, 0.357, 0.349, 0.386, 0.380, 0.360, 0.356),
    "faint": (0.168, 0.173, 0.175, 0.186, 0.193, 0.195, 0.182, 0.183, 0.187, 0.190),
    "histogram": (0.106, 0.073, 0.124, 0.137, 0.167, 0.393),
}

# How far the built-in digits' statistics may be from MNIST's (per class, and per bin for the
# histogram): a fraction of the real value for the names in RELATIVE, else in the statistic's units.
# The earlier, cleaner generator (2024) failed them: its 8s carried 44% more ink than real ones, its
# strokes were 0.5-0.9 px too wide for 4, 6, 8, 9, and 58% of its ink was saturated against 39%.
RELATIVE = ("ink", "ink_sd")
TOLERANCES = {
    "ink": 0.15, "ink_sd": 0.3, "stroke_width": 0.2, "stroke_width_sd": 0.15,
    "com_row": 0.1, "com_col": 0.1, "com_offset": 0.1,
    "height": 1.0, "width": 1.5, "long_side": 0.5, "sd_row": 0.7, "sd_col": 0.5,
    "slant": 0.08, "slant_sd": 0.08, "saturated": 0.06, "faint": 0.04, "histogram": 0.04,
}


def digit_statistics(images: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Statistics of uint8 images (N, 28, 28), white on black, with labels (N,) in 0..9.

    Returns float64 arrays: each name of ``PER_CLASS`` -> (10,), and "histogram" -> (6,):
    - ink: sum of pixel values / 255 (how many full pixels of ink);
    - stroke_width: 2 * area / perimeter of the pixels >= 128 (a stroke of width w and length L
      has area w L and perimeter about 2 L); the perimeter counts pixel edges between ink and
      background, so a diagonal stroke reads a little thinner than it is, for real and made alike;
    - com_row, com_col: centre of mass (row and column index, pixel centres at 0..27);
      com_offset: its distance from (14, 14) (MNIST moved digits by whole pixels: up to ~0.7);
    - height, width: rows and columns holding any ink (> 0); long_side: the larger of the two;
    - sd_row, sd_col: square roots of the central second moments of the ink (pixels);
    - slant: -mu_rc / mu_rr, how far the ink's columns move right per row up (> 0 leans right);
    - saturated: fraction of a digit's inked pixels (> 0) at 250 or more; faint: below 64.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    x = images.astype(np.float64) / 255.0
    mass = np.maximum(x.sum(axis=(1, 2)), 1e-9)
    idx = np.arange(images.shape[1], dtype=np.float64)
    row_mass, col_mass = x.sum(axis=2), x.sum(axis=1)
    com_r, com_c = row_mass @ idx / mass, col_mass @ idx / mass
    dr = idx[None, :] - com_r[:, None]
    dc = idx[None, :] - com_c[:, None]
    mu_rr = (row_mass * dr ** 2).sum(axis=1) / mass
    mu_cc = (col_mass * dc ** 2).sum(axis=1) / mass
    mu_rc = np.einsum("nrc,nr,nc->n", x, dr, dc) / mass
    core = images >= 128
    area = core.sum(axis=(1, 2))
    edges = ((core[:, 1:] != core[:, :-1]).sum(axis=(1, 2))
             + (core[:, :, 1:] != core[:, :, :-1]).sum(axis=(1, 2))
             + core[:, 0].sum(axis=1) + core[:, -1].sum(axis=1) + core[:, :, 0].sum(axis=1)
             + core[:, :, -1].sum(axis=1))
    inked = images > 0
    n_inked = np.maximum(inked.sum(axis=(1, 2)), 1)
    height = inked.any(axis=2).sum(axis=1)
    width = inked.any(axis=1).sum(axis=1)
    per_image = {
        "ink": mass, "stroke_width": 2 * area / np.maximum(edges, 1), "com_row": com_r,
        "com_col": com_c, "com_offset": np.hypot(com_r - 14.0, com_c - 14.0), "height": height, "width": width, "long_side": np.maximum(height, width),
        "sd_row": np.sqrt(mu_rr), "sd_col": np.sqrt(mu_cc), "slant": -mu_rc / np.maximum(mu_rr, 1e-9),
        "saturated": (images >= 250).sum(axis=(1, 2)) / n_inked,
        "faint": (inked & (images < 64)).sum(axis=(1, 2)) / n_inked,
    }
    out = {}
    for name in PER_CLASS:
        base = name[:-3] if name.endswith("_sd") else name
        values = [per_image[base][labels == d] for d in range(10)]
        reduce = np.std if name.endswith("_sd") else np.mean
        out[name] = np.array([reduce(v) if v.size else np.nan for v in values], dtype=np.float64)
    counts = np.histogram(images[inked], bins=HISTOGRAM_EDGES)[0]
    out["histogram"] = counts / max(counts.sum(), 1)
    return out


def out_of_tolerance(made: dict, real: dict) -> list[str]:
    """Which statistics of ``made`` differ from ``real`` by more than ``TOLERANCES`` allows, as
    sentences like "stroke_width of 8: 2.61 vs 2.04 (tolerance 0.25)"; empty when all agree."""
    bad = []
    for name, tolerance in TOLERANCES.items():
        relative = name in RELATIVE
        for i, (m, r) in enumerate(zip(made[name], real[name])):
            off = abs(m - r) / abs(r) if relative else abs(m - r)
            if not off <= tolerance:
                which = f"bin {HISTOGRAM_EDGES[i]}-{HISTOGRAM_EDGES[i + 1] - 1}" if name == "histogram" else i
                bad.append(f"{name} of {which}: {m:.3f} vs {r:.3f} (tolerance "
                           + (f"{tolerance:.0%})" if relative else f"{tolerance:g})"))
    return bad

"""Data-layer measurements (never timed tests): digit generation speed and IDX reading speed
(medians of --rounds), and a picture of built-in digits (beside real ones with --compare, to look at locally).

    python benchmarks/bench_data.py                      # speeds
    python benchmarks/bench_data.py --grid docs/digits.png

How the built-in digits compare with real MNIST (statistics, transfer, learning curve) is measured by
benchmarks/bench_digits.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cnnviz.data import generate_digits, load_idx_pair  # noqa: E402
from cnnviz.data.png import tile, write_png  # noqa: E402

MNIST_DIR = REPO / ".." / "shared" / "data" / "mnist"


def real_mnist():
    return load_idx_pair(MNIST_DIR / "t10k-images-idx3-ubyte.gz", MNIST_DIR / "t10k-labels-idx1-ubyte.gz")


def bench_speed(rounds: int) -> dict:
    digits_s, idx_s = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        generate_digits(60_000, seed=0)
        digits_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        real_mnist()
        idx_s.append(time.perf_counter() - start)
    return {"digits_60000_seconds": round(statistics.median(digits_s), 2),
            "mnist_10000_idx_gz_seconds": round(statistics.median(idx_s), 3), "rounds": rounds}


def write_grid(path: Path, per_digit: int = 10, compare: bool = False) -> None:
    """One row per digit 0..9: ``per_digit`` built-in digits, enlarged 2x. With ``compare``, a gap
    and as many real MNIST test digits (the first of each class) follow: for looking at here only,
    never for the repository (the MNIST files are used from ../shared, not copied)."""
    images, labels = generate_digits(per_digit * 10 * 3, seed=2024)
    real, real_labels = real_mnist() if compare else (None, None)
    rows = []
    for d in range(10):
        made = tile(images[labels == d][:per_digit], per_digit)
        if compare:
            ref = tile(real[real_labels == d][:per_digit], per_digit)
            made = np.concatenate([made, np.zeros((made.shape[0], 8), np.uint8), ref], axis=1)
        rows.append(made)
    grid = np.concatenate(rows)
    write_png(path, np.kron(grid, np.ones((2, 2), np.uint8)))
    print(f"wrote {path}: built-in digits" + (" (left), real MNIST test digits (right)" if compare else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grid", type=Path, help="write a picture of built-in digits")
    parser.add_argument("--compare", action="store_true", help="with --grid: real MNIST digits beside them")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.grid:
        write_grid(args.grid, compare=args.compare)
        return
    print(json.dumps(bench_speed(args.rounds)))


if __name__ == "__main__":
    main()

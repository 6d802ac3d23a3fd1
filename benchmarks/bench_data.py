"""Data-layer measurements (never timed tests): digit generation speed, IDX reading speed, and how
well a network trained only on the built-in digits reads real MNIST.

    python benchmarks/bench_data.py                      # speeds
    python benchmarks/bench_data.py --grid docs/digits.png
    python benchmarks/bench_data.py --grid /tmp/compare.png --compare   # not for the repo
    python benchmarks/bench_data.py --transfer --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cnnviz.data import generate_digits, load_dataset, load_idx_pair, iterate_batches  # noqa: E402
from cnnviz.data.png import tile, write_png  # noqa: E402

MNIST_DIR = REPO / ".." / "shared" / "data" / "mnist"


def real_mnist():
    return load_idx_pair(MNIST_DIR / "t10k-images-idx3-ubyte.gz", MNIST_DIR / "t10k-labels-idx1-ubyte.gz")


def bench_speed() -> dict:
    start = time.perf_counter()
    generate_digits(60_000, seed=0)
    digits_s = time.perf_counter() - start
    start = time.perf_counter()
    real_mnist()
    idx_s = time.perf_counter() - start
    return {"digits_60000_seconds": round(digits_s, 2), "mnist_10000_idx_gz_seconds": round(idx_s, 3)}


def write_grid(path: Path, per_digit: int = 20, compare: bool = False) -> None:
    """Rows 0..9 of generated digits; with ``compare``, real MNIST rows below them.

    The grid committed to docs/ holds generated digits only: the MNIST files stay out of the
    repository, and so do pictures of them."""
    images, labels = generate_digits(per_digit * 10 * 3, seed=2024)
    grid = tile(np.concatenate([images[labels == d][:per_digit] for d in range(10)]), per_digit)
    if compare:
        real, real_labels = real_mnist()
        ref = tile(np.concatenate([real[real_labels == d][:per_digit] for d in range(10)]), per_digit)
        grid = np.concatenate([grid, np.zeros((12, grid.shape[1]), np.uint8), ref])
    write_png(path, np.kron(grid, np.ones((2, 2), np.uint8)))
    print(f"wrote {path}" + (": generated digits (top), real MNIST (bottom)" if compare else ""))


def transfer(seed: int) -> dict:
    """Seed network, one epoch on the default 20,000 generated digits; scored on both test sets."""
    from cnnviz.nn import Adam, SoftmaxCrossEntropy, build_model
    from cnnviz.session.training import evaluate, train_step

    data = load_dataset("digits", seed=seed)
    model = build_model("seed", seed=seed)
    optimizer, loss_fn = Adam(model.parameters()), SoftmaxCrossEntropy()
    for xb, yb in iterate_batches(data.x_train, data.y_train, 32, np.random.default_rng(seed)):
        train_step(model, loss_fn, optimizer, xb, yb)
    images, labels = real_mnist()
    real = evaluate(model, data.normalize(images[:, None]), labels)
    generated = evaluate(model, data.x_test, data.y_test)
    per_class = np.diag(real["confusion"]) / real["confusion"].sum(axis=1)
    return {"seed": seed, "generated_test_accuracy": generated["accuracy"],
            "real_mnist_accuracy": real["accuracy"], "real_per_class": np.round(per_class, 3).tolist()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grid", type=Path)
    parser.add_argument("--compare", action="store_true", help="add real MNIST rows to the grid")
    parser.add_argument("--transfer", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    if args.grid:
        write_grid(args.grid, compare=args.compare)
        return
    if args.transfer:
        runs = [transfer(s) for s in args.seeds]
        for run in runs:
            print(json.dumps(run))
        print(json.dumps({"mean_generated": float(np.mean([r["generated_test_accuracy"] for r in runs])),
                          "mean_real_mnist": float(np.mean([r["real_mnist_accuracy"] for r in runs]))}))
        return
    print(json.dumps(bench_speed()))


if __name__ == "__main__":
    main()

"""The built-in digits against real MNIST: statistics, transfer, and how fast a class sees them learned.

    python benchmarks/bench_digits.py --stats              # recompute digit_stats.MNIST from ../shared
    python benchmarks/bench_digits.py --transfer --seeds 0 1 2
    python benchmarks/bench_digits.py --curve --seeds 0 1 2

--stats prints the real statistics as the Python constants stored in cnnviz/data/digit_stats.py, then
generated against real per class, with the tolerance the tests allow.
--transfer trains the seed network one epoch on the default 20,000 built-in digits and scores it on all
10,000 real MNIST test digits (and on each half: the first 5,000 are the cleaner ones) and on fresh
built-in digits: with the program's defaults (through ``python main.py train``, so whatever they are)
and with Adam at lr 0.001 and 0.003 (beta 0.9/0.999, constant; --configs adam0.003-linear: falling
linearly to 0) through the cnnviz.nn API.
--curve trains as the window does (the session's Trainer with its defaults) and scores fresh digits after
100, 300, 1,000 and 3,000 batches. Every figure is the median over the seeds; run with ``nice -n 5``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cnnviz.data import generate_digits, iterate_batches, load_dataset, load_idx_pair  # noqa: E402
from cnnviz.data.digit_stats import (MNIST, PER_CLASS, TOLERANCES, digit_statistics,  # noqa: E402
                                     out_of_tolerance)

MNIST_DIR = REPO / ".." / "shared" / "data" / "mnist"
FRESH = 10_000    # extra fresh built-in digits scored besides the dataset's own 2,000
CURVE_AT = (100, 300, 1000, 3000)


def real_mnist():
    """The 10,000 real MNIST test digits, uint8 (N, 28, 28), and their labels."""
    return load_idx_pair(MNIST_DIR / "t10k-images-idx3-ubyte.gz", MNIST_DIR / "t10k-labels-idx1-ubyte.gz")


def print_stats() -> None:
    real = digit_statistics(*real_mnist())
    print("# Measured by benchmarks/bench_digits.py --stats on the 10,000 MNIST test digits.")
    print("MNIST = {")
    for name in PER_CLASS:
        print(f'    "{name}": ({", ".join(f"{v:.3f}" for v in real[name])}),')
    print(f'    "histogram": ({", ".join(f"{v:.3f}" for v in real["histogram"])}),')
    print("}")
    made = digit_statistics(*generate_digits(10_000, seed=[2024, 7]))
    print(f"\n{'statistic':16s} {'tolerance':>9s}  real/generated for 0..9")
    for name in PER_CLASS:
        pairs = " ".join(f"{r:6.2f}/{g:<6.2f}" for r, g in zip(real[name], made[name]))
        print(f"{name:16s} {TOLERANCES[name]:9.2f}  {pairs}")
    print(f"{'histogram':16s} {TOLERANCES['histogram']:9.2f}  "
          + " ".join(f"{r:6.3f}/{g:<6.3f}" for r, g in zip(real["histogram"], made["histogram"])))
    bad = out_of_tolerance(made, MNIST)
    print("\nall within tolerance" if not bad else "\nout of tolerance: " + "; ".join(bad))


def scores(model, normalize, fresh) -> dict:
    """Accuracy of ``model`` on the real digits (all, each half) and on ``fresh`` (x, y) digits."""
    from cnnviz.session.training import evaluate

    images, labels = real_mnist()
    x = normalize(images[:, None])
    pred = np.concatenate([model.forward(x[i:i + 500]).argmax(axis=1) for i in range(0, len(x), 500)])
    right = pred == labels
    return {"real": float(right.mean()), "real_first_5000": float(right[:5000].mean()),
            "real_last_5000": float(right[5000:].mean()),
            "fresh": evaluate(model, *fresh)["accuracy"]}


def fresh_digits(data, seed: int):
    images, labels = generate_digits(FRESH, seed=[seed, 2])   # a stream the dataset does not use
    return data.normalize(images[:, None]), labels


def run_defaults(seed: int) -> dict:
    """``python main.py train --seed S --save FILE``, then its checkpoint scored."""
    from cnnviz.cli import main as cli
    from cnnviz.nn import load_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "digits.npz"
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            status = cli(["train", "--data", "digits", "--seed", str(seed), "--save", str(path), "--json"])
        if status != 0:
            raise SystemExit(f"train failed with status {status}")
        summary = json.loads(out.getvalue().strip().splitlines()[-1])
        checkpoint = load_checkpoint(path)
    meta = checkpoint.meta
    data = load_dataset("digits", seed=seed)

    def normalize(raw):
        return ((raw.astype(np.float32) / 255 - np.float32(meta["mean"])) / np.float32(meta["std"]))

    result = scores(checkpoint.model, normalize, fresh_digits(data, seed))
    result["fresh_2000"] = summary["test_accuracy"]
    return result


def run_adam(seed: int, lr: float, decay: bool = False) -> dict:
    """One epoch, batch 32, Adam at ``lr`` with beta 0.9/0.999, constant or (``decay``) falling
    linearly to 0 over the epoch."""
    from cnnviz.nn import Adam, SoftmaxCrossEntropy, build_model
    from cnnviz.session.training import evaluate, train_step

    data = load_dataset("digits", seed=seed)
    model = build_model("seed", seed=seed)
    optimizer = Adam(model.parameters(), lr=lr, beta1=0.9, beta2=0.999)
    loss_fn = SoftmaxCrossEntropy()
    batches = -(-len(data.x_train) // 32)
    for i, (xb, yb) in enumerate(iterate_batches(data.x_train, data.y_train, 32, np.random.default_rng([seed, 0]))):
        optimizer.lr = lr * (1 - i / batches) if decay else lr
        train_step(model, loss_fn, optimizer, xb, yb)
    result = scores(model, data.normalize, fresh_digits(data, seed))
    result["fresh_2000"] = evaluate(model, data.x_test, data.y_test)["accuracy"]
    return result


def run_curve(seed: int) -> dict:
    """Accuracy on fresh digits after CURVE_AT batches of the window's own training loop."""
    from cnnviz.session.trainer import Trainer
    from cnnviz.session.training import evaluate

    data = load_dataset("digits", seed=seed)
    fresh = fresh_digits(data, seed)
    trainer = Trainer(data, seed=seed)
    out = {}
    for batch in range(1, max(CURVE_AT) + 1):
        trainer.train_batch(track_delta=False)
        if batch in CURVE_AT:
            out[f"after_{batch}"] = evaluate(trainer.model, *fresh)["accuracy"]
    return out


def median_table(runs: dict[str, list[dict]]) -> None:
    for name, results in runs.items():
        keys = results[0].keys()
        medians = {k: round(statistics.median(r[k] for r in results), 4) for k in keys}
        print(json.dumps({"config": name, "seeds": len(results), **medians}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stats", action="store_true")
    parser.add_argument("--transfer", action="store_true")
    parser.add_argument("--curve", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--configs", nargs="+", default=["defaults", "adam0.001", "adam0.003"])
    parser.add_argument("--mnist", type=Path, default=MNIST_DIR, help="folder of the real t10k files")
    args = parser.parse_args()
    globals()["MNIST_DIR"] = args.mnist
    if args.stats:
        print_stats()
    if args.transfer:
        makers = {"defaults": run_defaults, "adam0.001": lambda s: run_adam(s, 0.001),
                  "adam0.003": lambda s: run_adam(s, 0.003),
                  "adam0.003-linear": lambda s: run_adam(s, 0.003, decay=True)}
        runs = {}
        for name in args.configs:
            runs[name] = []
            for seed in args.seeds:
                runs[name].append(makers[name](seed))
                print(json.dumps({"config": name, "seed": seed, **runs[name][-1]}), flush=True)
        median_table(runs)
    if args.curve:
        results = []
        for seed in args.seeds:
            results.append(run_curve(seed))
            print(json.dumps({"curve": "window defaults", "seed": seed, **results[-1]}), flush=True)
        median_table({"curve (window defaults)": results})


if __name__ == "__main__":
    main()

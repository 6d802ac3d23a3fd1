"""Memory under a 4 GB address-space limit (issue 14): every hostile input of the issue, and the largest
inputs the stated limits still accept, run in a child process under ``setrlimit(RLIMIT_AS, 4 GB)``;
the table gives each child's exit status, peak resident memory and first line of stderr.

    nice -n 5 python benchmarks/bench_memory_limit.py [--json] [--skip-largest]

The largest accepted cases: an IDX folder of 340,000 28x28 images (266 MB of pixels, just under the
256 MiB dataset limit), loaded whole, trained for a few batches and scored; and the seed net trained
at the largest batch size the memory rule allows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "data"), str(REPO / "tests" / "nn")]

from idx_hostile import idx_header  # noqa: E402
from test_memory_limit import LIMIT, hostile_cases, run_limited  # noqa: E402  (the test's cases and runner)


def run(args: list[str], python_args=("-m", "cnnviz.cli")) -> dict:
    start = time.perf_counter()
    code, err, peak, out = run_limited(args, python_args=python_args)
    lines = [line for line in err.strip().splitlines() if not line.startswith("epoch ")]
    return {"exit": code, "peak_rss_mb": round(peak / 2**20), "seconds": round(time.perf_counter() - start, 1),
            "stderr": (lines or [""])[0][:110], "stdout": out.strip().splitlines()[-1][:110] if out.strip() else "",
            "memory_error": "MemoryError" in err}


def largest_dataset(tmp: Path) -> Path:
    folder = tmp / "largest"
    folder.mkdir()
    n = 340_000
    rng = np.random.default_rng(0)
    with open(folder / "train-images-idx3-ubyte", "wb") as out:
        out.write(idx_header((n, 28, 28)))
        for start in range(0, n, 20_000):
            out.write(rng.integers(0, 256, (20_000, 28, 28), dtype=np.uint8).tobytes())
    with open(folder / "train-labels-idx1-ubyte", "wb") as out:
        out.write(idx_header((n,)) + rng.integers(0, 10, n).astype(np.uint8).tobytes())
    return folder


LARGEST_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from cnnviz.data import load_dataset, iterate_batches
    from cnnviz.nn import Adam, SoftmaxCrossEntropy, build_model
    from cnnviz.nn.memory import max_batch_size
    from cnnviz.session.training import evaluate, train_step
    data = load_dataset(sys.argv[1])
    model = build_model("seed", seed=0)
    model.input_gradient = False
    batch = max_batch_size(model)
    opt, loss = Adam(model.parameters(), lr=0.001), SoftmaxCrossEntropy()
    for i, (x, y) in enumerate(iterate_batches(data.x_train, data.y_train, batch, np.random.default_rng(0))):
        train_step(model, loss, opt, x, y)
        if i == 2:
            break
    result = evaluate(model, data.x_test[:20000], data.y_test[:20000])
    print(f"{len(data.y_train)} training images, batch {batch}, accuracy {result['accuracy']:.3f}")
""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-largest", action="store_true", help="only the hostile inputs")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for what, argv, _ in hostile_cases(tmp):
            rows.append({"case": what, **run(argv)})
        if not args.skip_largest:
            from cnnviz.nn import build_model
            from cnnviz.nn.memory import max_batch_size

            folder = largest_dataset(tmp)
            rows.append({"case": "largest accepted IDX folder (266 MB pixels), 3 batches, scored",
                         **run([str(folder)], python_args=("-c", LARGEST_SCRIPT))})
            model = build_model("seed")
            model.input_gradient = False
            most = max_batch_size(model)
            rows.append({"case": f"seed net at the largest batch ({most}), digits",
                         **run(["train", "--batch-size", str(most), "--limit", str(3 * most)])})
    if args.json:
        print(json.dumps({"limit_bytes": LIMIT, "rows": rows}))
        return
    print(f"address-space limit {LIMIT >> 30} GB; peak resident memory of each child")
    print(f"{'case':<62} {'exit':>4} {'peak MB':>8} {'s':>6}  first line")
    for row in rows:
        line = row["stderr"] or row["stdout"]
        print(f"{row['case']:<62} {row['exit']:>4} {row['peak_rss_mb']:>8} {row['seconds']:>6}  {line}")
    if any(row["memory_error"] for row in rows):
        print("MemoryError seen")


if __name__ == "__main__":
    main()

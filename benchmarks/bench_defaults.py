"""Which training settings keep every channel alive and train well: the defaults, the paper's, and the
candidates they were chosen from, on seeds 0-2.

For each dataset (the built-in digits 1 epoch, real MNIST from ../shared/data/mnist with holdout 0.2
1 epoch, Fashion-MNIST 2 epochs when installed) and each candidate, it trains the seed network with
``cnnviz.cli.train_model`` (what ``train`` runs) and prints test accuracy and the dead channels per
conv layer (never positive on 1,000 test images) for each seed, and the median accuracy.

Usage: python benchmarks/bench_defaults.py [--datasets digits,mnist,fashion] [--candidates a,b]
       [--seeds 0,1,2] [--limit N] [--json] [--list]
A quick look: --datasets digits --candidates defaults,paper --seeds 0 --limit 4000.
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")   # as the CLI: one BLAS thread is fastest for these small matrices

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cnnviz.cli import DEAD_IMAGES, train_model  # noqa: E402
from cnnviz.nn import DEFAULTS, PAPER_SETTINGS, TrainingSettings, build_model, dead_channels  # noqa: E402
from cnnviz.nn.defaults import LAYER_INIT  # noqa: E402
from cnnviz.session.training import evaluate  # noqa: E402

DATASETS = {   # name -> (what load_dataset takes, epochs)
    "digits": ("digits", 1),
    "mnist": (str(REPO.parent / "shared" / "data" / "mnist"), 1),
    "fashion": ("fashion-mnist", 2),
}

# The candidates spell out every setting, so they mean the same whatever the defaults become.
ADAM = TrainingSettings(optimizer="adam", lr=0.003, beta1=0.9, beta2=0.999, eps=1e-8, batch_size=32,
                        schedule="constant", warmup=0.0, final=0.0, init="he")
# Every candidate that was tried; "defaults" and "paper" are the two the program offers.
CANDIDATES = {
    "defaults": DEFAULTS,
    "paper": PAPER_SETTINGS,
    "before": replace(PAPER_SETTINGS, init="before"),   # the program before issue 10: paper optimizer, fan-in conv init
    "he-lr0.001": replace(ADAM, lr=0.001),
    "he-lr0.003": replace(ADAM, lr=0.003),
    "he-lr0.003-linear": replace(ADAM, lr=0.003, schedule="linear"),
    "he-lr0.003-cosine": replace(ADAM, lr=0.003, schedule="cosine"),
    "he-lr0.003-linear-b95": replace(ADAM, lr=0.003, schedule="linear", beta1=0.95, beta2=0.99),
    "he-lr0.005-linear": replace(ADAM, lr=0.005, schedule="linear"),
    "he-lr0.002-linear": replace(ADAM, lr=0.002, schedule="linear"),
    "he-lr0.003-linear-warmup5%": replace(ADAM, lr=0.003, schedule="linear", warmup=0.05),
    "he-lr0.003-linear-to5%": replace(ADAM, lr=0.003, schedule="linear", final=0.05),
    "he-lr0.01-linear": replace(ADAM, lr=0.01, schedule="linear"),
    "paperinit-lr0.003-linear": replace(ADAM, lr=0.003, schedule="linear", init="paper"),
    "lecun-lr0.003-linear": replace(ADAM, lr=0.003, schedule="linear", init="lecun"),
    "lecun-lr0.003-linear-to5%": replace(ADAM, lr=0.003, schedule="linear", init="lecun", final=0.05),
    "lecun-lr0.003-cosine": replace(ADAM, lr=0.003, schedule="cosine", init="lecun"),
}


def before_init(model, seed: int) -> None:
    """The weights the program drew before issue 10: conv std 1/sqrt(C*k*k), dense std 0.01 (the
    layer seeds are re-derived as build_model derives them)."""
    seeds = np.random.SeedSequence(seed).generate_state(len(model.layers))
    for index, layer in enumerate(model.layers):
        if "W" in layer.params:
            w = layer.params["W"]
            rng = np.random.default_rng(int(seeds[index]))
            std = 1 / np.sqrt(np.prod(w.shape[1:])) if w.ndim == 4 else 0.01
            w[...] = rng.standard_normal(w.shape) * std


def run_one(data, settings, epochs: int, seed: int) -> dict:
    model = None
    if settings.init == "before":
        model = build_model("seed", seed=seed, input_shape=data.input_shape, num_classes=data.num_classes)
        before_init(model, seed)
    model, _, _, seconds = train_model(data, "seed", settings, epochs, seed, model=model)
    result = evaluate(model, data.x_test, data.y_test)
    dead = dead_channels(model, data.x_test[:DEAD_IMAGES])
    return {"seed": seed, "accuracy": result["accuracy"], "dead": {str(k): v for k, v in dead.items()},
            "seconds": seconds}


def describe(settings) -> str:
    init = settings.init or f"the preset's ({LAYER_INIT} for seed)"
    opt = (f"adam lr {settings.lr:g} b {settings.beta1:g}/{settings.beta2:g}" if settings.optimizer == "adam"
           else f"sgd lr {settings.lr:g}")
    return f"{opt}, {settings.schedule_object().describe()}, init {init}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,mnist,fashion")
    parser.add_argument("--candidates", default="defaults,paper")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--limit", type=int, default=None, help="train on at most N images (quick runs)")
    parser.add_argument("--json", action="store_true", help="one JSON line per run as well")
    parser.add_argument("--list", action="store_true", help="list the candidates and stop")
    args = parser.parse_args()
    if args.list:
        for name, settings in CANDIDATES.items():
            print(f"{name:28s} {describe(settings)}")
        return 0
    from cnnviz.data import load_dataset
    from cnnviz.errors import CnnvizError

    seeds = [int(s) for s in args.seeds.split(",")]
    names = args.candidates.split(",")
    for name in names:
        if name not in CANDIDATES:
            parser.error(f"unknown candidate {name!r}; --list shows them")
    print(f"{'dataset':8s} {'candidate':28s} {'accuracy per seed':26s} {'median':>7s}  dead channels per conv layer, per seed")
    for dataset in args.datasets.split(","):
        if dataset not in DATASETS:
            parser.error(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
        source, epochs = DATASETS[dataset]
        for name in names:
            rows = []
            for seed in seeds:
                try:
                    data = load_dataset(source, holdout=0.2, limit=args.limit, seed=seed)
                except CnnvizError as error:
                    print(f"{dataset:8s} skipped: {error}")
                    break
                rows.append(run_one(data, CANDIDATES[name], epochs, seed))
                if args.json:
                    print(json.dumps({"dataset": dataset, "candidate": name, **rows[-1]}), flush=True)
            if not rows:
                break
            accuracies = " ".join(f"{row['accuracy']:.4f}" for row in rows)
            dead = "  ".join("/".join(str(len(v)) for v in row["dead"].values()) for row in rows)
            median = statistics.median(row["accuracy"] for row in rows)
            print(f"{dataset:8s} {name:28s} {accuracies:26s} {median:7.4f}  {dead}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

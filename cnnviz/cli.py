"""Command line: ``python main.py [train|eval|download] ...`` (no subcommand: the window).

Every ``CnnvizError`` (bad dataset, checkpoint, architecture...) is printed as its one sentence on
stderr with exit status 2 and no traceback; argparse's usage errors exit 2 as well.
"""

from __future__ import annotations

import os

# One BLAS thread, set before NumPy loads: the engine's matrices are small, so a second thread
# gains little alone and, beside the window's thread on a 2-core machine, made training 5-10x
# slower (threads spinning against each other). The user's own setting wins.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from cnnviz.errors import CheckpointError, CnnvizError, TrainingError
from cnnviz.files import check_writable
from cnnviz.nn.defaults import DEFAULTS, PAPER_SETTINGS
from cnnviz.nn.schedule import SCHEDULES

DATA_HELP = ("digits (built in), mnist, fashion-mnist, cifar10, or a folder of IDX files "
             "(train-images-idx3-ubyte[.gz] etc.)")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def seed_int(text: str) -> int:
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {2**32 - 1}, not {text}")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1, not {text}")
    return value


def probe_choice(text: str):
    """--probe: a test image number, or hardest / misclassified / least_confident."""
    if text in ("hardest", "misclassified", "least_confident"):
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a test image number or hardest, misclassified, "
                                         f"least_confident, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnnviz", description="Watch a NumPy CNN learn. With no command, opens the window.")
    window = parser.add_argument_group("the window (no COMMAND)")
    window.add_argument("--data", default=None, help=DATA_HELP + " (default: digits)")
    window.add_argument("--preset", default=None, help="architecture preset (default: seed)")
    window.add_argument("--lr", type=positive_float, default=None, help=f"learning rate (default: {DEFAULTS.lr:g})")
    window.add_argument("--batch-size", type=positive_int, default=None,
                        help=f"batch size (default: {DEFAULTS.batch_size})")
    window.add_argument("--optimizer", choices=("adam", "sgd"), default=None)
    window.add_argument("--seed", type=seed_int, default=None)
    window.add_argument("--schedule", choices=SCHEDULES, default=None,
                        help=f"learning-rate schedule over the first {DEFAULTS.schedule_epochs:g} epochs "
                             f"(default: {DEFAULTS.schedule})")
    window.add_argument("--paper-settings", action="store_true",
                        help=f"the paper's settings (Adam lr {PAPER_SETTINGS.lr:g}, beta {PAPER_SETTINGS.beta1:g}/"
                             f"{PAPER_SETTINGS.beta2:g}, constant rate): watch ReLU channels die")
    window.add_argument("--probe", type=probe_choice, default=None, metavar="N|hardest|misclassified|least_confident",
                        help="the probe image: test image N, or one the network picks")
    window.add_argument("--layer", type=seed_int, default=None, metavar="N",
                        help="show layer N in the panels (0 = the first)")
    window.add_argument("--play", action="store_true", help="start training at once")
    window.add_argument("--open", metavar="RUN", help="replay a recorded run (.cnnviz) instead of training")
    window.add_argument("--compare", metavar="RUN", help="with --open: a second run, shown beside it at the same step")
    window.add_argument("--lecture", action="store_true",
                        help="start in lecture mode: larger text, full screen, a caption of each step (F11)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser("train", help="train a network without the window")
    train.add_argument("--data", default=None, help=DATA_HELP + " (default: digits; with --from: the run's)")
    train.add_argument("--preset", default=None, help="architecture preset (default: seed; with --from: the run's)")
    train.add_argument("--epochs", type=positive_int, default=None,
                       help="epochs (default 1); with --from counted from the run's start (default: the run's)")
    train.add_argument("--batch-size", type=positive_int, default=None,
                       help=f"images per update (default: {DEFAULTS.batch_size})")
    train.add_argument("--lr", type=positive_float, default=None,
                       help=f"base learning rate (default: {DEFAULTS.lr:g}; with --paper-settings {PAPER_SETTINGS.lr:g})")
    train.add_argument("--optimizer", choices=("adam", "sgd"), default=None,
                       help=f"default: {DEFAULTS.optimizer}")
    train.add_argument("--schedule", choices=SCHEDULES, default=None,
                       help=f"learning rate over the run: constant, or a linear or cosine decay to "
                            f"{DEFAULTS.final:.0%} of the base rate at the end (default: {DEFAULTS.schedule})")
    train.add_argument("--paper-settings", action="store_true",
                       help=f"the paper's settings instead of the defaults: Adam lr {PAPER_SETTINGS.lr:g}, "
                            f"beta1 {PAPER_SETTINGS.beta1:g}, beta2 {PAPER_SETTINGS.beta2:g}, a constant rate and "
                            f"its initialisation (they kill conv channels: a lesson on dying ReLUs); "
                            f"options given explicitly still win")
    train.add_argument("--seed", type=seed_int, default=None, help="default 0 (with --from: the run's)")
    train.add_argument("--limit", type=positive_int, default=None,
                       help="train on at most N images")
    train.add_argument("--holdout", type=fraction, default=None,
                       help="test fraction of a folder with one images/labels pair (default 0.2)")
    train.add_argument("--save", metavar="FILE", help="write the trained network to FILE (.npz)")
    train.add_argument("--record", metavar="FILE",
                       help="record the run to FILE (.cnnviz): snapshots, curves, statistics and the state to "
                            "branch from, for the window's --open, eval, inspect and --from")
    train.add_argument("--from", dest="from_run", metavar="RUN@STEP",
                       help="branch a recorded run: go on exactly from its last point at or before STEP (default: "
                            "its last), with any of --lr, --optimizer, --batch-size, --schedule changed")
    train.add_argument("--json", action="store_true", help="end with one JSON line of results")

    ev = sub.add_parser("eval", help="score a saved network on a test set")
    ev.add_argument("--model", required=True, metavar="FILE",
                    help="checkpoint written by --save, or a run file FILE.cnnviz[@STEP] (its weights at the "
                         "last point at or before STEP; default the last)")
    ev.add_argument("--data", default=None, help=DATA_HELP + "; default: the checkpoint's dataset")
    ev.add_argument("--holdout", type=fraction, default=None,
                    help="test fraction of a one-pair folder (default: as when trained)")
    ev.add_argument("--json", action="store_true", help="end with one JSON line of results")

    inspect = sub.add_parser("inspect", help="describe a run file or a checkpoint")
    inspect.add_argument("file", metavar="FILE", help="a run file (.cnnviz) or a checkpoint (.npz)")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")

    bench = sub.add_parser("bench-gui", help="measure training speed in the window against headless")
    bench.add_argument("--seconds", type=positive_float, default=10.0,
                       help="seconds of training in each mode (default 10)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")

    dl = sub.add_parser("download", help="download a named dataset into the cache")
    dl.add_argument("name", help="mnist, fashion-mnist or cifar10")
    dl.add_argument("--cache", metavar="DIR", default=None,
                    help="cache folder (default $XDG_CACHE_HOME/cnnviz or ~/.cache/cnnviz)")
    return parser


class TrainingProgress:
    """Progress of training: a live bar on a terminal, one plain line per epoch otherwise."""

    def __init__(self, total: int, epochs: int, stream=None):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.total, self.epochs = total, epochs
        self.start = time.perf_counter()
        self.last_draw = 0.0

    def update(self, epoch: int, done: int, loss: float, accuracy: float, final: bool = False):
        now = time.perf_counter()
        if not final and (not self.live or now - self.last_draw < 0.1):
            return
        self.last_draw = now
        rate = (epoch * self.total + done) / max(now - self.start, 1e-9)
        text = (f"epoch {epoch + 1}/{self.epochs} {done}/{self.total} loss {loss:.4f} "
                f"accuracy {accuracy:.1%} {rate:.0f} images/s")
        if self.live:
            filled = int(20 * done / max(self.total, 1))
            self.stream.write(f"\r[{'#' * filled}{'.' * (20 - filled)}] {text}\x1b[K")
            if final:
                self.stream.write("\n")
        elif final:
            self.stream.write(text + "\n")
        self.stream.flush()


def training_settings(args):
    """The defaults (or with --paper-settings the paper's), with every option the user gave on top."""
    from dataclasses import replace

    base = PAPER_SETTINGS if args.paper_settings else DEFAULTS
    given = {name: getattr(args, name) for name in ("lr", "batch_size", "optimizer", "schedule")
             if getattr(args, name) is not None}
    return replace(base, **given)


# batches between the statistics records of a recorded run: twice the window's 25, since at 25 they
# were 2% of the training time (benchmarks/bench_runs.py); 12 records for a 1-epoch digits run
RECORD_STATS_EVERY = 50


def cli_trainer(data, preset: str, settings, epochs: int, seed: int, model=None, record: bool = False):
    """The window's Trainer as the command line trains: no validation, statistics or ΔW tracking
    (with ``record``: statistics every RECORD_STATS_EVERY batches, for the run file, which change no weight; the
    recorder validates once at the end: every 250 batches it cost 4% of the training time), the schedule spanning ``epochs`` epochs, a diverged loss raising only "the loss became
    ..." for the caller to finish the sentence. ``model``: train this one (fresh optimizer) instead
    of a new one."""
    from cnnviz.session.trainer import Trainer
    from cnnviz.session.training import new_optimizer

    trainer = Trainer(data, preset=preset, seed=seed, settings=settings, val_every=0,
                      stats_every=RECORD_STATS_EVERY if record else 0, after_divergence=None)
    if model is not None:
        trainer.use_model(model, new_optimizer(settings.optimizer, model, settings.lr, settings), step=0)
    trainer.set_schedule(settings.schedule, epochs)
    return trainer


def run_epochs(trainer, epochs: int, progress=None, stopped=None, recorder=None, first_epoch: int = 0) -> float:
    """Train ``epochs`` epochs -> seconds. ``progress(epoch, seen, mean loss, accuracy, final)`` after
    every batch; when a batch diverges, the exception ``stopped(error, updates, epoch)`` returns is
    raised (default: the TrainingError itself). ``recorder`` (a ``runs.RunRecorder``) keeps its
    points as they fall due, with the ΔW of the update before each. first_epoch: the epoch the
    progress counts from (a branch's)."""
    start = time.perf_counter()
    for epoch in range(first_epoch, first_epoch + epochs):
        totals = [0, 0.0, 0.0]   # images, loss x images, right answers in this epoch

        def on_batch(images: int, loss: float, accuracy: float, epoch=epoch) -> None:
            totals[0] += images
            totals[1] += loss * images
            totals[2] += accuracy * images
            if recorder is not None:
                recorder.keep_if_due()
            if progress:
                progress(epoch, totals[0], totals[1] / totals[0], totals[2] / totals[0], False)

        try:
            trainer.train_epoch(on_batch, track_delta=None if recorder is None else recorder.due)
        except TrainingError as error:
            if stopped is None:
                raise
            raise stopped(error, trainer.batches, epoch) from None
        if progress:
            seen = max(totals[0], 1)
            progress(epoch, totals[0], totals[1] / seen, totals[2] / seen, True)
    return time.perf_counter() - start


def train_model(data, preset: str, settings, epochs: int, seed: int, progress=None, model=None, stopped=None):
    """Train a fresh ``preset`` network (or ``model``, when given) on ``data`` (a loaded Dataset) with
    ``settings`` (a TrainingSettings), as ``train`` does -> (model, optimizer, updates, seconds).
    The learning rate follows ``settings``' schedule over the whole run; progress and stopped as
    ``run_epochs`` takes them."""
    trainer = cli_trainer(data, preset, settings, epochs, seed, model)
    seconds = run_epochs(trainer, epochs, progress, stopped)
    return trainer.model, trainer.optimizer, trainer.step, seconds


DEAD_IMAGES = 1000   # test images on which a dead channel must never be positive


def dead_channel_words(model, dead: dict[int, list[int]], images: int) -> str:
    """E.g. "dead channels (never positive on 1000 test images): layer 0 (conv) none of 8; layer 2
    (conv) 5 of 8 (1, 2, 4, 6, 7)"."""
    parts = []
    for index, channels in dead.items():
        total = model.layers[index].out_channels
        found = f"{len(channels)} of {total} ({', '.join(map(str, channels))})" if channels else f"none of {total}"
        parts.append(f"{model.layers[index].name} {found}")
    return f"dead channels (never positive on {images} test images): " + ("; ".join(parts) or "no ReLU conv layer")


BRANCH_FIXED = ("data", "preset", "seed", "limit", "holdout")   # what a branch takes from its run


def train_plan(args):
    """(settings, preset, dataset arguments, epochs, the run and point to branch from or None):
    the defaults, or with --from the run's, with the options given on top."""
    from dataclasses import replace

    if args.from_run is None:
        dataset = {"name": args.data or "digits", "holdout": 0.2 if args.holdout is None else args.holdout,
                   "limit": args.limit, "seed": args.seed or 0}
        return training_settings(args), args.preset or "seed", dataset, args.epochs or 1, None, None
    from cnnviz.runs import open_run, split_at

    given = [f"--{name}" for name in BRANCH_FIXED if getattr(args, name) is not None]
    if given:
        raise TrainingError(f"--from trains on its run's dataset, preset and seed; leave out {', '.join(given)}.")
    path, step = split_at(args.from_run)
    run = open_run(path)
    point = run.point_at(step, resumable=True)
    base = PAPER_SETTINGS if args.paper_settings else run.settings
    settings = replace(base, **{name: getattr(args, name) for name in ("lr", "batch_size", "optimizer", "schedule")
                                if getattr(args, name) is not None})
    facts = run.header["dataset"]
    dataset = {"name": facts.get("dataset"), "holdout": facts.get("holdout"), "limit": facts.get("limit"),
               "seed": run.header["seed"]}
    if not isinstance(dataset["name"], str) or not isinstance(dataset["holdout"], (int, float)) or \
            not (dataset["limit"] is None or isinstance(dataset["limit"], int)):
        raise TrainingError(f"run file {path} does not say which dataset it was trained on.")
    epochs = args.epochs or run.header["epochs"]
    return settings, run.header["preset"], dataset, epochs, run, point


def run_train(args) -> int:
    from cnnviz.data import load_dataset
    from cnnviz.errors import RecordError
    from cnnviz.nn import dead_channels, save_checkpoint
    from cnnviz.nn.checkpoint import checkpoint_bytes
    from cnnviz.nn.memory import batch_size_problem
    from cnnviz.nn.presets import load_preset
    from cnnviz.session.training import evaluate

    settings, preset, dataset, epochs, run, point = train_plan(args)
    load_preset(preset)   # an unknown preset is refused before the data loads
    if args.save is not None:   # a bad destination is found now, not after hours of training
        check_writable(args.save, "checkpoint", CheckpointError)
    if args.record is not None:
        check_writable(args.record, "run file", RecordError)
    data = load_dataset(dataset["name"], holdout=dataset["holdout"], limit=dataset["limit"], seed=dataset["seed"])
    seed = dataset["seed"]
    trainer = cli_trainer(data, preset, settings, epochs, seed, record=args.record is not None)
    if run is not None:
        from cnnviz.runs import resume

        resume(run, point, trainer)
    cursor = trainer.cursor
    done = cursor.epoch + (cursor.position >= cursor.n_train)
    if done >= epochs:
        raise TrainingError(f"{args.from_run}: the run is past epoch {done} at step {point.step}; "
                            f"--epochs counts from the run's start, so give more than {done}.")
    model, optimizer = trainer.model, trainer.optimizer
    problem = batch_size_problem(model, min(settings.batch_size, len(data.x_train)))
    if problem:   # found now, not as a MemoryError after the first batch
        raise TrainingError(f"--batch-size {settings.batch_size}: {problem}")
    if args.save is not None:   # and the disk has room for it
        check_writable(args.save, "checkpoint", CheckpointError, size=checkpoint_bytes(model, optimizer))
    recorder = None
    if args.record is not None:
        from cnnviz.runs import RunRecorder, run_info

        parent = None if run is None else {"file": str(run.path), "step": point.step}
        recorder = RunRecorder(trainer, run_info(trainer, data, settings, epochs, seed, dataset["limit"], parent))
        recorder.keep()   # the start: fresh weights, or the branch point
    bar = TrainingProgress(len(data.x_train), epochs)
    seconds = run_epochs(trainer, epochs - done, progress=bar.update, recorder=recorder, first_epoch=done,
                         stopped=lambda error, steps, epoch: training_stopped(error, steps, epoch, args, bar, settings.lr))
    model, optimizer = trainer.model, trainer.optimizer
    if recorder is not None:
        recorder.finish()   # the end, whatever the spacing, with a validation
        recorder.save(args.record)
    result = evaluate(model, data.x_test, data.y_test)
    probe = data.x_test[:DEAD_IMAGES]
    dead = dead_channels(model, probe)
    trained = len(data.x_train) * (epochs - done) - (point.images_seen - done * len(data.x_train) if point else 0)
    summary = {
        "dataset": data.name, "preset": preset, "epochs": epochs,
        "train_images": len(data.x_train), "test_images": len(data.x_test),
        "test_accuracy": result["accuracy"], "test_loss": result["loss"],
        "seconds": seconds, "images_per_second": trained / seconds, "steps": trainer.step,
        "dead_channels": {str(index): channels for index, channels in dead.items()},
        "dead_channel_images": len(probe),
        "settings": {"optimizer": settings.optimizer, "lr": settings.lr, "beta1": settings.beta1,
                     "beta2": settings.beta2, "batch_size": settings.batch_size,
                     "schedule": settings.schedule_object().describe(),
                     "init": settings.init or model_init(preset), "paper_settings": args.paper_settings},
    }
    if run is not None:
        summary["branched_from"] = {"file": str(run.path), "step": point.step}
    if args.save is not None:
        meta = {**data.meta(), "seed": seed, "test_accuracy": result["accuracy"], "epoch": trainer.cursor.epoch,
                "images_seen": trainer.images_seen,
                "curves": {name: values.tolist() for name, values in trainer.curves.as_arrays().items()}}
        save_checkpoint(args.save, trainer.model, trainer.optimizer, step=trainer.step, meta=meta)
        summary["saved"] = str(args.save)
    if args.record is not None:
        summary["recorded"] = str(args.record)
    print(f"test accuracy {result['accuracy']:.2%} (loss {result['loss']:.4f}) on "
          f"{len(data.x_test)} images after training on {len(data.x_train)} x {epochs} "
          f"in {seconds:.1f} s ({summary['images_per_second']:.0f} images/s)")
    print(dead_channel_words(model, dead, len(probe)))
    if args.save is not None:
        print(f"saved {args.save}")
    if args.record is not None:
        print(f"recorded {args.record} ({len(recorder.points)} points, steps {recorder.points.entries()[0][0]}"
              f"-{trainer.step})")
    if args.json:
        print(json.dumps(summary))
    return 0


def model_init(preset: str) -> str:
    """The initialisation a preset's weights start with when the settings name none."""
    from cnnviz.nn.defaults import LAYER_INIT
    from cnnviz.nn.presets import load_preset

    return load_preset(preset).get("init") or LAYER_INIT


def training_stopped(error, steps: int, epoch: int, args, progress, lr: float) -> TrainingError:
    """The one sentence for a run that diverged. Nothing is saved: the last good weights are those of
    a run whose rate was too high, and a --save file must never be taken for a finished network
    (an earlier checkpoint of that name is left as it was)."""
    if progress.live:
        progress.stream.write("\n")   # end the progress bar's line
    kept = f"; nothing was saved to {args.save}" if args.save is not None else ""
    return TrainingError(f"training stopped at step {steps} (epoch {epoch + 1}): {error} with learning "
                         f"rate {lr:g}{kept}. Try a smaller learning rate.")


def run_eval(args) -> int:
    from cnnviz.data import load_dataset
    from cnnviz.data.pipeline import normalize
    from cnnviz.nn.memory import batch_size_problem
    from cnnviz.session.training import check_fits, evaluate

    from cnnviz.runs import load_model

    checkpoint = load_model(args.model)
    too_big = batch_size_problem(checkpoint.model, 1)
    if too_big:
        raise CheckpointError(f"checkpoint {args.model}: {too_big}")
    meta = checkpoint.meta or {}
    name = args.data or meta.get("dataset", "digits")
    holdout = args.holdout if args.holdout is not None else float(meta.get("holdout", 0.2))
    # Only the test split is scored; limit=1 skips preparing a whole training set.
    data = load_dataset(name, holdout=holdout, limit=1, seed=int(meta.get("seed", 0)))
    check_fits(checkpoint.model, data, args.model)
    # Normalise with the training statistics stored in the checkpoint, as the network saw them.
    mean, std = float(meta.get("mean", data.mean)), float(meta.get("std", data.std))
    result = evaluate(checkpoint.model, normalize(data.raw_test, mean, std), data.y_test)
    if not np.isfinite(result["loss"]):   # finite weights so large that the outputs overflow
        raise CheckpointError(f"checkpoint {args.model}: its network's outputs overflow on these images "
                              f"(its weights come from a run that diverged), so it is not scored.")
    print(f"accuracy {result['accuracy']:.2%} (loss {result['loss']:.4f}) on "
          f"{len(data.y_test)} test images of {data.name}")
    print("confusion (rows: true class, columns: predicted):")
    for row in result["confusion"]:
        print(" ".join(f"{v:5d}" for v in row))
    if args.json:
        print(json.dumps({"dataset": data.name, "accuracy": result["accuracy"],
                          "loss": result["loss"], "test_images": len(data.y_test),
                          "confusion": result["confusion"].tolist()}))
    return 0


def run_inspect(args) -> int:
    from cnnviz.runs import is_run_file, open_run

    if is_run_file(args.file):
        info = open_run(args.file).describe()
        lines = [f"run file {args.file}: {info['snapshots']} points, steps {info['first_step']}-{info['last_step']} "
                 f"({len(info['resumable_steps'])} resumable), {len(info['bookmarks'])} bookmarks, "
                 f"{info['walks']} walks",
                 f"dataset {info['dataset'].get('dataset')} (limit {info['dataset'].get('limit')}), preset "
                 f"{info['preset']}, seed {info['seed']}, {info['epochs']} epochs",
                 "settings " + ", ".join(f"{k} {v}" for k, v in info["settings"].items())]
        lines += [f"bookmark at step {b['step']}: {b['caption']}" for b in info["bookmarks"]]
    else:
        from cnnviz.nn.checkpoint import read_checkpoint_file

        header, _ = read_checkpoint_file(args.file)
        meta = dict(header["meta"])
        curves = meta.pop("curves", None)
        optimizer = header["optimizer"]
        info = {"kind": "checkpoint", "path": str(args.file), "step": header["step"],
                "epoch": meta.get("epoch"), "images_seen": meta.get("images_seen"),
                "preset": header["architecture"].get("preset"),
                "layers": [layer.get("type") for layer in header["architecture"].get("layers", [])
                           if isinstance(layer, dict)],
                "optimizer": None if optimizer is None else {**optimizer["config"], "t": optimizer["t"]},
                "curves": {} if not isinstance(curves, dict) else
                {name: len(v[0]) if isinstance(v, list) and v and isinstance(v[0], list) else 0
                 for name, v in curves.items()},
                "meta": meta}
        lines = [f"checkpoint {args.file}: step {info['step']}, epoch {info['epoch']}, preset {info['preset']} "
                 f"({' '.join(map(str, info['layers']))})",
                 f"optimizer {info['optimizer']}",
                 f"dataset {meta.get('dataset')}, curves: " + (", ".join(f"{k} {n} points" for k, n in
                                                                       info["curves"].items()) or "none")]
    print("\n".join(lines))
    if args.json:
        print(json.dumps(info))
    return 0


def run_download(args) -> int:
    from cnnviz.data.download import TerminalProgress, download

    bar = TerminalProgress() if sys.stderr.isatty() else None
    try:
        folder = download(args.name, cache_dir=args.cache, progress=bar)
    finally:
        if bar:
            bar.close()
    print(f"{args.name} is ready in {folder}")
    return 0


def run_gui(args) -> int:
    from cnnviz.gui.app import run_gui as open_window

    return open_window(args)


def run_bench_gui(args) -> int:
    from cnnviz.gui.bench import bench_gui

    bench_gui(args.seconds, args.json, args)
    return 0


COMMANDS = {"train": run_train, "eval": run_eval, "inspect": run_inspect, "download": run_download, "bench-gui": run_bench_gui}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: usage errors exit 2, --help exits 0
        return int(exit_.code or 0)
    try:
        return COMMANDS.get(args.command, run_gui)(args)
    except CnnvizError as error:
        print(f"cnnviz: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cnnviz: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

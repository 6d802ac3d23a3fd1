"""What live snapshots cost training: images/s with no snapshots versus snapshots taken at 30 Hz.

Two set-ups, each as rounds that alternate between the two modes (so both see the same load on a
shared machine), reporting medians and the ratio:
- in-loop: the Qt-free Session ticked by hand; "30 Hz" takes a snapshot from the mailbox every 1/30 s,
  as the GUI's timer would. This is the pure cost of building snapshots in the training loop.
- threaded: the real SessionController worker thread, with a 30 Hz QTimer in the main thread calling
  take() (offscreen Qt), versus the same timer not taking anything.
Also reports the cost of one live snapshot and of one ΔW copy, and so the share of each second
that 30 snapshots take: on a loaded machine batches can take longer than 1/30 s, and then fewer
than 30 snapshots/s are built and the measured ratio understates the 30 Hz cost.
Usage: python benchmarks/bench_session.py [--rounds R] [--seconds S] [--limit N] [--no-threaded] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnviz.data import load_dataset  # noqa: E402
from cnnviz.session.builder import live_snapshot  # noqa: E402
from cnnviz.session.session import Session  # noqa: E402

GUI_RATE = 30.0


def in_loop_round(session: Session, seconds: float, take: bool) -> tuple[float, float]:
    """Tick a playing session for ``seconds`` -> (training images/s, snapshots built/s)."""
    trainer, box = session.trainer, session.mailbox
    box.take()
    seen, built = trainer.images_seen, box.next_seq()
    start = now = time.perf_counter()
    next_take = start
    while now - start < seconds:
        session.tick()
        now = time.perf_counter()
        if take and now >= next_take:
            box.take()
            next_take += 1 / GUI_RATE
    elapsed = time.perf_counter() - start
    return (trainer.images_seen - seen) / elapsed, (box.next_seq() - built - 1) / elapsed


def threaded_round(controller, app, seconds: float, take: bool) -> tuple[float, float]:
    """The worker thread trains; this thread's 30 Hz timer takes snapshots (or only ticks)."""
    from PyQt6.QtCore import QTimer

    trainer = controller._session.trainer
    taken = []
    timer = QTimer()
    timer.setInterval(round(1000 / GUI_RATE))
    timer.timeout.connect(lambda: taken.extend(controller.take()) if take else None)
    seen = trainer.images_seen
    start = time.perf_counter()
    timer.start()
    while time.perf_counter() - start < seconds:
        app.processEvents()
        time.sleep(0.002)
    timer.stop()
    elapsed = time.perf_counter() - start
    return (trainer.images_seen - seen) / elapsed, len(taken) / elapsed


def alternate(run_round, rounds: int, seconds: float) -> dict:
    """Rounds alternating no-snapshot / 30 Hz -> medians and ratio."""
    results = {False: [], True: []}
    run_round(seconds / 2, False)   # warm-up
    for r in range(rounds):
        for take in ((False, True) if r % 2 == 0 else (True, False)):
            results[take].append(run_round(seconds, take))
    plain = statistics.median(ips for ips, _ in results[False])
    live = statistics.median(ips for ips, _ in results[True])
    rate = statistics.median(fps for _, fps in results[True])
    return {"no_snapshots_images_per_second": plain, "snapshots_30hz_images_per_second": live,
            "ratio": live / plain, "snapshots_per_second": rate}


def snapshot_costs(session: Session, repeats: int = 50) -> dict:
    """Median milliseconds of one live snapshot and of one ΔW (W_before) copy."""
    trainer = session.trainer
    trainer.train_batch(track_delta=True)
    builds, copies = [], []
    for i in range(repeats):
        start = time.perf_counter()
        live_snapshot(trainer, seq=i)
        builds.append(time.perf_counter() - start)
        start = time.perf_counter()
        trainer.delta.before_update(trainer.model, track=True)
        copies.append(time.perf_counter() - start)
    snapshot_ms = 1000 * statistics.median(builds)
    return {"snapshot_ms": snapshot_ms, "delta_copy_ms": 1000 * statistics.median(copies),
            "share_at_30hz": GUI_RATE * snapshot_ms / 1000}


def make_session(dataset, batch_size: int) -> Session:
    session = Session(dataset_obj=dataset, batch_size=batch_size)
    session.start_up()
    session.send("play")
    session.tick(wait=0)
    return session


def bench_threaded(dataset, args) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtWidgets import QApplication

    from cnnviz.gui.worker import SessionController

    app = QApplication.instance() or QApplication([])
    controller = SessionController(dataset_obj=dataset, batch_size=args.batch_size)
    controller.start()
    while controller.latest() is None:
        app.processEvents()
        time.sleep(0.01)
    controller.send("play")
    try:
        return alternate(lambda s, take: threaded_round(controller, app, s, take), args.rounds, args.seconds)
    finally:
        controller.stop(timeout=5.0)


def report(name: str, result: dict) -> None:
    print(f"{name:>9}: no snapshots {result['no_snapshots_images_per_second']:7.0f} images/s | "
          f"snapshots at 30 Hz {result['snapshots_30hz_images_per_second']:7.0f} images/s "
          f"({result['snapshots_per_second']:.1f} snapshots/s) | ratio {result['ratio']:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.5, help="length of one round")
    parser.add_argument("--limit", type=int, default=4000, help="training images of the built-in digits")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--no-threaded", action="store_true", help="skip the QThread measurement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    dataset = load_dataset("digits", limit=args.limit)
    session = make_session(dataset, args.batch_size)
    results = {"costs": snapshot_costs(session)}
    results["in_loop"] = alternate(lambda s, take: in_loop_round(session, s, take), args.rounds, args.seconds)
    if not args.no_threaded:
        results["threaded"] = bench_threaded(dataset, args)
    if args.json:
        print(json.dumps(results))
        return 0
    costs = results["costs"]
    print(f"seed net, batch {args.batch_size}, {args.rounds} rounds of {args.seconds} s per mode, medians")
    print(f"one live snapshot {costs['snapshot_ms']:.2f} ms; one ΔW copy {costs['delta_copy_ms']:.3f} ms; "
          f"30 snapshots cost {costs['share_at_30hz']:.1%} of each second of training (load-independent)")
    report("in-loop", results["in_loop"])
    if "threaded" in results:
        report("threaded", results["threaded"])
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())

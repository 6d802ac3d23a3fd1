"""What live snapshots cost training: images/s with no snapshots versus snapshots taken at 30 Hz.

Rounds alternate between the two modes (so both see the same load on a shared machine), reporting
medians and the ratio: the Qt-free Session ticked by hand; "30 Hz" takes a snapshot from the mailbox
every 1/30 s, as the GUI's timer would. This is the pure cost of building snapshots in the training
loop (what they cost on their way to the window: benchmarks/bench_transport.py; in the real window:
``python main.py bench-gui``). Given per wall-clock second and per CPU second of the thread: on a
loaded machine the wall-clock figures mostly measure the neighbours, CPU time much less so. Also reports one live snapshot's cost, one ΔW copy's, and the time spent building snapshots,
and what the run's history costs: statistics every STATS_EVERY batches and each validation (as shares
of training time) and the timeline (bytes per kept snapshot, how many fit, the share of training time
spent building them). Timeline snapshots are built in both modes, so both include that small cost.
Usage: python benchmarks/bench_session.py [--rounds R] [--seconds S] [--limit N] [--history-only] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # as cnnviz.cli sets it: see the README
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cnnviz.session.session as session_module  # noqa: E402
from cnnviz.data import load_dataset  # noqa: E402
from cnnviz.session.outlet import MAX_BYTES, TIMELINE_EVERY, snapshot_nbytes  # noqa: E402
from cnnviz.session.session import Session  # noqa: E402
from cnnviz.session.snapshot import live_snapshot  # noqa: E402
from cnnviz.session.stats import STATS_EVERY  # noqa: E402
from cnnviz.session.trainer import VAL_EVERY  # noqa: E402

GUI_RATE = 30.0


class BuildTimer:
    """Wraps the session's snapshot builder to add up the CPU time spent building (worker thread)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._build = session_module.live_snapshot
        session_module.live_snapshot = self

    def __call__(self, *args, **kwargs):
        start = time.thread_time()
        try:
            return self._build(*args, **kwargs)
        finally:
            self.seconds += time.thread_time() - start


def rates(images: int, snapshots: int, wall: float, cpu: float) -> dict:
    return {"wall": images / wall, "cpu": images / max(cpu, 1e-9), "snapshots": snapshots / wall}


def in_loop_round(session: Session, seconds: float, take: bool) -> dict:
    """Tick a playing session for ``seconds``; the GUI's part is played by take() at 30 Hz."""
    trainer, box = session.trainer, session.outlet.mailbox
    box.take()
    seen, first_seq = trainer.images_seen, box.next_seq()
    start, cpu_start = time.perf_counter(), time.thread_time()
    now = next_take = start
    while now - start < seconds:
        session.tick()
        now = time.perf_counter()
        if take and now >= next_take:
            box.take()
            next_take += 1 / GUI_RATE
    wall, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
    return rates(trainer.images_seen - seen, box.next_seq() - first_seq - 1, wall, cpu)


def alternate(run_round, rounds: int, seconds: float) -> dict:
    """Rounds alternating no-snapshot / 30 Hz -> medians and ratios."""
    results = {False: [], True: []}
    run_round(seconds / 2, False)   # warm-up
    for r in range(rounds):
        for take in ((False, True) if r % 2 == 0 else (True, False)):
            results[take].append(run_round(seconds, take))

    def median(take, key):
        return statistics.median(result[key] for result in results[take])

    summary = {"snapshots_per_second": median(True, "snapshots")}
    for key in ("wall", "cpu"):
        summary[f"{key}_no_snapshots"] = median(False, key)
        summary[f"{key}_30hz"] = median(True, key)
        summary[f"{key}_ratio"] = summary[f"{key}_30hz"] / summary[f"{key}_no_snapshots"]
    return summary


def snapshot_costs(session: Session, repeats: int = 50) -> dict:
    """Median milliseconds of one live snapshot (right after a batch) and of one ΔW copy."""
    trainer = session.trainer
    builds, copies = [], []
    for i in range(repeats):
        trainer.train_batch()
        start = time.perf_counter()
        live_snapshot(trainer, seq=i)
        builds.append(time.perf_counter() - start)
        start = time.perf_counter()
        trainer.delta.before_update(trainer.model, track=True)
        copies.append(time.perf_counter() - start)
    snapshot_ms = 1000 * statistics.median(builds)
    return {"snapshot_ms": snapshot_ms, "delta_copy_ms": 1000 * statistics.median(copies),
            "share_at_30hz": GUI_RATE * snapshot_ms / 1000}


def median_ms(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def history_costs(session: Session, repeats: int = 30) -> dict:
    """Median milliseconds of a batch, a statistics record, a validation and a timeline snapshot;
    their shares of training time at their spacing; the timeline's bytes per snapshot."""
    trainer = session.trainer
    batch_ms = median_ms(trainer.train_batch, repeats)
    stats_ms = median_ms(trainer.record_stats, repeats)
    validate_ms = median_ms(trainer.validate, 5)
    snapshot = live_snapshot(trainer, seq=0)
    timeline_ms = median_ms(lambda: live_snapshot(trainer, seq=0), repeats)
    records = trainer.stats_history.records
    record_bytes = sum(v.nbytes for r in records for e in r["layers"] for v in e.values()
                       if isinstance(v, np.ndarray)) / max(1, len(records))
    nbytes = snapshot_nbytes(snapshot)
    return {"batch_ms": batch_ms, "stats_ms": stats_ms, "stats_share": stats_ms / (STATS_EVERY * batch_ms),
            "validate_ms": validate_ms, "validate_share": validate_ms / (VAL_EVERY * batch_ms),
            "timeline_snapshot_ms": timeline_ms, "timeline_share": timeline_ms / (TIMELINE_EVERY * batch_ms),
            "timeline_snapshot_mb": nbytes / 2**20, "timeline_capacity": MAX_BYTES // nbytes,
            "stats_record_kb": record_bytes / 1024}


def report_history(h: dict) -> None:
    print(f"one batch {h['batch_ms']:.1f} ms; statistics record {h['stats_ms']:.2f} ms every {STATS_EVERY} "
          f"batches = {h['stats_share']:.2%} of training ({h['stats_record_kb']:.1f} KB each); validation "
          f"{h['validate_ms']:.0f} ms every {VAL_EVERY} = {h['validate_share']:.2%}")
    print(f"timeline: {h['timeline_snapshot_mb']:.2f} MB per snapshot, {h['timeline_capacity']} fit in "
          f"{MAX_BYTES / 2**20:.0f} MB; building one every {TIMELINE_EVERY} steps = {h['timeline_share']:.2%} of training")


def make_session(dataset, batch_size: int, preset: str = "seed") -> Session:
    session = Session(dataset_obj=dataset, batch_size=batch_size, preset=preset)
    session.start_up()
    session.send("play")
    session.tick(wait=0)
    return session


def report(name: str, result: dict) -> None:
    for key, unit in (("wall", "images/s"), ("cpu", "images/CPU-s")):
        print(f"{name:>9} {key:>4}: no snapshots {result[f'{key}_no_snapshots']:6.0f} {unit} | at 30 Hz "
              f"{result[f'{key}_30hz']:6.0f} | ratio {result[f'{key}_ratio']:.3f}")
    print(f"{'':>15}{result['snapshots_per_second']:.1f} snapshots/s built and taken")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one round")
    parser.add_argument("--limit", type=int, default=4000, help="training images of the built-in digits")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--preset", default="seed", help="network for the in-loop and history measurements")
    parser.add_argument("--history-only", action="store_true", help="only the statistics and timeline costs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    dataset = load_dataset("digits", limit=args.limit)
    session = make_session(dataset, args.batch_size, args.preset)
    results = {"history": history_costs(session)}
    if args.history_only:
        if not args.json:
            print(f"{args.preset} net, batch {args.batch_size}")
        print(json.dumps(results)) if args.json else report_history(results["history"])
        return 0
    results["costs"] = snapshot_costs(session)
    build_timer, cpu_start = BuildTimer(), time.thread_time()
    results["in_loop"] = alternate(lambda s, take: in_loop_round(session, s, take), args.rounds, args.seconds)
    # only the 30 Hz rounds (about half the CPU time) build snapshots
    results["in_loop"]["build_share_of_cpu"] = build_timer.seconds / ((time.thread_time() - cpu_start) / 2)
    if args.json:
        print(json.dumps(results))
        return 0
    costs = results["costs"]
    print(f"{args.preset} net, batch {args.batch_size}, {args.rounds} rounds of {args.seconds} s per mode, medians; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print(f"one live snapshot {costs['snapshot_ms']:.2f} ms, one ΔW copy {costs['delta_copy_ms']:.3f} ms: "
          f"30 snapshots would take {costs['share_at_30hz']:.1%} of a second")
    report_history(results["history"])
    report("in-loop", results["in_loop"])
    print(f"{'':>15}CPU time spent building snapshots in the 30 Hz rounds: "
          f"{results['in_loop']['build_share_of_cpu']:.1%}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())

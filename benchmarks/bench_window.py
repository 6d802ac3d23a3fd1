"""What the window costs training, with training in a child process (the default) and in a thread
of the window's process: ``python main.py bench-gui`` for each worker, in alternating runs (process,
thread, thread, process, ...) so load from other programs falls on both alike. Reports the median
of each figure per worker and the ratio of the two workers' in-window ratios.

Each bench-gui run itself alternates headless and in-window rounds of the same worker, so its ratio
(in-window images/s over headless) is measured side by side too.
Usage: python benchmarks/bench_window.py [--runs N] [--seconds S] [--preset P] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKERS = ("process", "thread")
FIGURES = ("ratio", "cpu_ratio", "headless_images_per_second", "window_images_per_second", "panel_fps",
           "ui_latency_p95_ms", "startup_seconds", "window_gui_cores", "window_training_cores",
           "window_other_cores")


def bench_once(worker: str, seconds: float, preset: str) -> dict:
    """One bench-gui run in a fresh process (its last stdout line is the JSON result)."""
    command = [sys.executable, str(REPO / "main.py"), "--preset", preset, "bench-gui", "--seconds", str(seconds),
               "--json", "--worker", worker]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"bench-gui --worker {worker} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, help="bench-gui runs per worker (default 4)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per mode in each run (default 10)")
    parser.add_argument("--preset", default="seed")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {w: [] for w in WORKERS}
    for i in range(args.runs):
        for worker in (WORKERS if i % 2 == 0 else WORKERS[::-1]):
            result = bench_once(worker, args.seconds, args.preset)
            results[worker].append(result)
            if not args.json:
                print(f"  run {i + 1} {worker:7s}: ratio {result['ratio']:.2f}, {result['panel_fps']:.1f} frames/s, "
                      f"p95 {result['ui_latency_p95_ms']:.1f} ms, load {result.get('load_average', 0):.1f}", flush=True)
    medians = {w: {k: statistics.median(r[k] for r in results[w]) for k in FIGURES if all(k in r for r in results[w])}
               for w in WORKERS}
    summary = {"runs": args.runs, "seconds": args.seconds, "preset": args.preset, "medians": medians,
               "ratio_process_over_thread": medians["process"]["ratio"] / medians["thread"]["ratio"]}
    if args.json:
        print(json.dumps(summary))
        return
    print(f"bench_window: {args.preset}, {args.runs} runs per worker, {args.seconds:g} s per mode; medians")
    print(f"  {'':28s}{'process':>10s}{'thread':>10s}")
    for key in FIGURES:
        if key in medians["process"] and key in medians["thread"]:
            print(f"  {key:28s}{medians['process'][key]:10.2f}{medians['thread'][key]:10.2f}")
    print(f"  in-window ratio, process over thread: {summary['ratio_process_over_thread']:.2f}x")


if __name__ == "__main__":
    main()

"""What the window costs training: ``python main.py bench-gui`` run N times, each in a fresh process,
reporting every run and the median of each figure (the aims are a median of 3 runs).

Each bench-gui run itself alternates headless and in-window rounds of the same training process, so
its ratio (in-window images/s over headless) is measured side by side. On a shared machine the
wall-clock ratio mostly measures the other programs; ``cpu_ratio`` (images per CPU second of the
training process, window over headless) is what the window costs training itself.
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
FIGURES = ("ratio", "cpu_ratio", "headless_images_per_second", "window_images_per_second", "panel_fps",
           "snapshots_per_second", "ui_latency_p95_ms", "startup_seconds", "window_gui_cores",
           "window_training_cores", "window_other_cores", "load_average")


def bench_once(seconds: float, preset: str) -> dict:
    """One bench-gui run in a fresh process (its last stdout line is the JSON result)."""
    command = [sys.executable, str(REPO / "main.py"), "--preset", preset, "bench-gui", "--seconds", str(seconds),
               "--json"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"bench-gui failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="bench-gui runs (default 3)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per mode in each run (default 10)")
    parser.add_argument("--preset", default="seed")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for i in range(args.runs):
        result = bench_once(args.seconds, args.preset)
        results.append(result)
        if not args.json:
            cpu = result.get("cpu_ratio")
            print(f"  run {i + 1}: ratio {result['ratio']:.2f} (CPU {'?' if cpu is None else f'{cpu:.2f}'}), "
                  f"{result['panel_fps']:.1f} frames/s, p95 {result['ui_latency_p95_ms']:.1f} ms, "
                  f"load {result.get('load_average') or 0:.1f}", flush=True)
    medians = {key: statistics.median(r[key] for r in results) for key in FIGURES
               if all(isinstance(r.get(key), (int, float)) for r in results)}
    summary = {"runs": args.runs, "seconds": args.seconds, "preset": args.preset, "medians": medians,
               "all": [{key: r.get(key) for key in FIGURES} for r in results]}
    if args.json:
        print(json.dumps(summary))
        return
    print(f"bench_window: {args.preset}, {args.runs} runs, {args.seconds:g} s per mode; medians")
    for key, value in medians.items():
        print(f"  {key:28s}{value:10.2f}")


if __name__ == "__main__":
    main()

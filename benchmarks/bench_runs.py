"""What recording a run costs: bytes per kept point, the time to save and to open a run file, and
training speed with and without recording, measured side by side.

One epoch of the built-in digits (20,000 images, 625 batches of the seed network), as
``python main.py train --record`` trains it: plain (no statistics, validation or recorder, as ``train``
without ``--record``) and recording (the window's statistics every 25 batches, one validation at the
end, a kept point every 10 steps thinned to at most 32 points and 40 MB of arrays), alternating, ROUNDS
times each; medians. Then the recorded run is saved and opened (header, then every snapshot) ROUNDS
times.
Usage: python benchmarks/bench_runs.py [--rounds N] [--limit IMAGES] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # as cnnviz.cli sets it: see the README
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnviz.cli import cli_trainer, run_epochs  # noqa: E402
from cnnviz.data import load_dataset  # noqa: E402
from cnnviz.nn.defaults import DEFAULTS  # noqa: E402
from cnnviz.runs import RunRecorder, open_run, run_info  # noqa: E402


def train_once(data, record: bool):
    trainer = cli_trainer(data, "seed", DEFAULTS, 1, 0, record=record)
    recorder = RunRecorder(trainer, run_info(trainer, data, DEFAULTS, 1, 0, None)) if record else None
    if recorder:
        recorder.keep()
    start = time.perf_counter()
    run_epochs(trainer, 1, recorder=recorder)
    if recorder:
        recorder.finish()
    return time.perf_counter() - start, trainer, recorder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="training images (default: all 20,000)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = load_dataset("digits", limit=args.limit, seed=0)
    plain, recording, recorder = [], [], None
    for _ in range(args.rounds):
        plain.append(train_once(data, False)[0])
        seconds, _, recorder = train_once(data, True)
        recording.append(seconds)
    saves, opens, header_opens = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.cnnviz"
        for _ in range(args.rounds):
            start = time.perf_counter()
            recorder.save(path)
            saves.append(time.perf_counter() - start)
            start = time.perf_counter()
            run = open_run(path)
            header_opens.append(time.perf_counter() - start)
            run.snapshots()
            opens.append(time.perf_counter() - start)
        size = path.stat().st_size
    points = len(recorder.points)
    result = {
        "train_images": len(data.y_train), "steps": recorder.trainer.step, "points": points,
        "steps_kept": [step for step, _ in recorder.points.entries()],
        "file_bytes": size, "bytes_per_point": size / points,
        "seconds_plain": statistics.median(plain), "seconds_recording": statistics.median(recording),
        "recording_cost": statistics.median(recording) / statistics.median(plain) - 1,
        "save_seconds": statistics.median(saves), "open_header_seconds": statistics.median(header_opens),
        "open_all_snapshots_seconds": statistics.median(opens),
        "plain_runs": plain, "recording_runs": recording,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['train_images']} images, {result['steps']} steps, {points} points kept "
          f"(steps {result['steps_kept'][0]}..{result['steps_kept'][-1]})")
    print(f"file {size / 1e6:.1f} MB, {result['bytes_per_point'] / 1e6:.2f} MB per point")
    print(f"training: plain {result['seconds_plain']:.2f} s, recording {result['seconds_recording']:.2f} s "
          f"(cost {result['recording_cost']:+.1%}; runs {', '.join(f'{s:.2f}' for s in plain)} vs "
          f"{', '.join(f'{s:.2f}' for s in recording)})")
    print(f"save {result['save_seconds']:.2f} s, open {result['open_header_seconds'] * 1000:.0f} ms "
          f"(header), {result['open_all_snapshots_seconds']:.2f} s (every snapshot)")


if __name__ == "__main__":
    main()

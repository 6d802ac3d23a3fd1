"""What one live snapshot costs on its way from the training process to the window: bytes and
milliseconds per snapshot through the record codec (cnnviz.session.records) and a real pipe between
two processes.

A seed network is trained on the built-in digits for a few hundred batches (so the snapshot carries
curves, statistics records and a validation, as in a real run). In this process: build
(live_snapshot), pack + encode, decode + unpack, medians over N snapshots. Then the same script runs
as a child process that sends N snapshots through its stdout at 30 a second (as the window asks for
them), and this process reads them as the window's receiving thread does: the CPU time of the child's
sending (pack + write) and of the reader (read + decode + unpack) per snapshot, and the wall time from
the child starting to pack to the reader holding the Snapshot. Bytes are the steady state (the
statistics records shared by consecutive snapshots cross once, at their first snapshot).
Usage: python benchmarks/bench_transport.py [--snapshots N] [--batches B] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # as cnnviz.cli sets it: see the README
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnviz.data import load_dataset  # noqa: E402
from cnnviz.session.process import widen_pipe  # noqa: E402
from cnnviz.session.records import (SnapshotPacker, SnapshotUnpacker, decode_frame, encode_frame,  # noqa: E402
                                    read_frame, write_frame)
from cnnviz.session.snapshot import live_snapshot  # noqa: E402
from cnnviz.session.trainer import Trainer  # noqa: E402


def median_ms(values) -> float:
    return 1000 * statistics.median(values)


def trained_snapshots(batches: int, count: int) -> tuple[list, list, object]:
    trainer = Trainer(load_dataset("digits", limit=4000))
    for _ in range(batches):
        trainer.train_batch()
    snapshots, builds = [], []
    for seq in range(1, count + 1):
        trainer.train_batch()
        start = time.perf_counter()
        snapshots.append(live_snapshot(trainer, seq))
        builds.append(time.perf_counter() - start)
    return snapshots, builds, trainer


def send_as_child(batches: int, count: int) -> None:
    """The child's part: build the snapshots first, then send them at 30 a second through stdout."""
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    snapshots, _, _ = trained_snapshots(batches, count)
    packer = SnapshotPacker()
    for snapshot in snapshots:
        sent_at, cpu = time.perf_counter(), time.thread_time()
        records = packer.pack(snapshot)
        total = 0
        for i, (header, arrays) in enumerate(records):
            meta = {"record": header}
            if i == len(records) - 1:
                meta.update(sent_at=sent_at, cpu_before=cpu)
            total += write_frame(out, meta, arrays)
        write_frame(out, {"sender_cpu": time.thread_time() - cpu, "bytes": total}, {})
        time.sleep(max(0.0, 1 / 30 - (time.perf_counter() - sent_at)))
    out.close()


def through_pipe(batches: int, count: int) -> dict:
    """Read what a child sends (see send_as_child) -> medians per snapshot."""
    child = subprocess.Popen([sys.executable, __file__, "--child", "--batches", str(batches), "--snapshots",
                              str(count)], stdout=subprocess.PIPE, bufsize=0)
    widen_pipe(child.stdout)   # as the window widens the pipe from its training process
    unpacker, latency, reader_cpu, sender_cpu, sizes = SnapshotUnpacker(), [], [], [], []
    cpu = time.thread_time()
    while True:
        frame = read_frame(child.stdout)
        if frame is None:
            break
        meta, arrays = frame
        if "sender_cpu" in meta:
            sender_cpu.append(meta["sender_cpu"])
            sizes.append(meta["bytes"])
            cpu = time.thread_time()
            continue
        if unpacker.unpack(meta["record"], arrays) is not None:
            latency.append(time.perf_counter() - meta["sent_at"])   # CLOCK_MONOTONIC: one clock for both
            reader_cpu.append(time.thread_time() - cpu)
    child.wait()
    return {"pipe_ms": median_ms(latency[1:]), "sender_cpu_ms": median_ms(sender_cpu[1:]),
            "reader_cpu_ms": median_ms(reader_cpu[1:]), "bytes_first": sizes[0],
            "bytes": statistics.median(sizes[1:])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=60)
    parser.add_argument("--batches", type=int, default=300, help="training batches before measuring")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    np.seterr(all="ignore")
    if args.child:
        send_as_child(args.batches, args.snapshots)
        return 0
    snapshots, builds, trainer = trained_snapshots(args.batches, args.snapshots)
    encodes, decodes = [], []
    packer, unpacker = SnapshotPacker(), SnapshotUnpacker()
    for snapshot in snapshots:
        start = time.perf_counter()
        frames = [encode_frame({"record": header}, arrays) for header, arrays in packer.pack(snapshot)]
        encodes.append(time.perf_counter() - start)
        joined = [b"".join(pieces) for pieces in frames]   # what the reader's buffer holds
        start = time.perf_counter()
        for frame in joined:
            meta, arrays = decode_frame(frame)
            unpacker.unpack(meta["record"], arrays)
        decodes.append(time.perf_counter() - start)
    result = {"build_ms": median_ms(builds), "encode_ms": median_ms(encodes), "decode_ms": median_ms(decodes),
              "snapshots": args.snapshots, "step": trainer.step, "stats_records": len(trainer.stats_history),
              **through_pipe(args.batches, args.snapshots)}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"seed net at step {result['step']} ({result['stats_records']} statistics records), "
          f"{args.snapshots} live snapshots, medians")
    print(f"  build {result['build_ms']:.2f} ms | pack + encode {result['encode_ms']:.2f} ms | "
          f"decode + unpack {result['decode_ms']:.2f} ms")
    print(f"  child process -> pipe -> this process, 30 a second: {result['pipe_ms']:.2f} ms from packing to "
          f"the reader's Snapshot; CPU {result['sender_cpu_ms']:.2f} ms sending, {result['reader_cpu_ms']:.2f} ms "
          f"receiving")
    print(f"  {result['bytes'] / 2**20:.3f} MB per live snapshot ({result['bytes_first'] / 2**20:.3f} MB for the "
          f"first, which carries the statistics records); a snapshot both live and kept is sent once")
    return 0


if __name__ == "__main__":
    sys.exit(main())

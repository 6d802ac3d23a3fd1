"""What one live snapshot costs on its way from the training process to the window: bytes and
milliseconds per snapshot through the record codec (cnnviz.session.records) and a real OS pipe.

A seed network is trained on the built-in digits for a few hundred batches (so the snapshot carries
curves, statistics records and a validation, as in a real run), then for each of N snapshots:
build (live_snapshot, in the training thread), pack + encode (the child's sending thread), write
through an os.pipe, read + decode + unpack (the window's receiving thread). The pipe has a writer
thread and a reader thread, as the two processes do. Reports medians; bytes are the steady state (the
statistics records shared by consecutive snapshots cross once, at their first snapshot).
Usage: python benchmarks/bench_transport.py [--snapshots N] [--batches B] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
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


def through_pipe(snapshots: list) -> dict:
    """Send ``snapshots`` through an os.pipe (writer thread: pack + write_frame; this thread: read_frame
    + unpack) -> per-snapshot medians of the reader's wall time and the writer's."""
    read_fd, write_fd = os.pipe()
    reader, writer = os.fdopen(read_fd, "rb", buffering=0), os.fdopen(write_fd, "wb", buffering=0)
    widen_pipe(reader)   # as the window widens the pipe from its training process
    sent_at, written, bytes_sent = {}, [], []

    def write_all():
        packer = SnapshotPacker()
        for snapshot in snapshots:
            start = time.perf_counter()
            sent_at[snapshot.seq] = start
            total = 0
            for header, arrays in packer.pack(snapshot):
                total += write_frame(writer, {"record": header}, arrays)
            written.append(time.perf_counter() - start)
            bytes_sent.append(total)
        writer.close()

    thread = threading.Thread(target=write_all)
    unpacker, latency, decode = SnapshotUnpacker(), [], []
    thread.start()
    while True:
        frame = read_frame(reader)
        if frame is None:
            break
        start = time.perf_counter()
        snapshot = unpacker.unpack(frame[0]["record"], frame[1])
        decode.append(time.perf_counter() - start)
        if snapshot is not None:
            latency.append(time.perf_counter() - sent_at[snapshot.seq])
    thread.join()
    reader.close()
    return {"pipe_ms": median_ms(latency), "write_ms": median_ms(written),
            "bytes_first": bytes_sent[0], "bytes": statistics.median(bytes_sent[1:])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=60)
    parser.add_argument("--batches", type=int, default=300, help="training batches before measuring")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    np.seterr(all="ignore")
    trainer = Trainer(load_dataset("digits", limit=4000))
    for _ in range(args.batches):
        trainer.train_batch()
    builds, encodes, decodes, snapshots = [], [], [], []
    packer, unpacker = SnapshotPacker(), SnapshotUnpacker()
    for seq in range(1, args.snapshots + 1):
        trainer.train_batch()
        start = time.perf_counter()
        snapshot = live_snapshot(trainer, seq)
        builds.append(time.perf_counter() - start)
        snapshots.append(snapshot)
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
              **through_pipe(snapshots)}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"seed net at step {result['step']} ({result['stats_records']} statistics records), "
          f"{args.snapshots} live snapshots, medians")
    print(f"  build {result['build_ms']:.2f} ms | pack + encode {result['encode_ms']:.2f} ms | "
          f"decode + unpack {result['decode_ms']:.2f} ms")
    print(f"  through an os.pipe, writer start to reader done: {result['pipe_ms']:.2f} ms "
          f"(writer {result['write_ms']:.2f} ms)")
    print(f"  {result['bytes'] / 2**20:.3f} MB per live snapshot ({result['bytes_first'] / 2**20:.3f} MB for the "
          f"first, which carries the statistics records); a snapshot both live and kept is sent once")
    return 0


if __name__ == "__main__":
    sys.exit(main())

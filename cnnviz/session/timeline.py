"""Snapshots kept every few training steps, for scrubbing back through a run. Without Qt.

The worker adds, the GUI reads: every method may be called from any thread. Snapshots are frozen,
so the timeline keeps the very objects the worker built and hands out references, never copies.
Memory is bounded by bytes: when full, every other snapshot goes (the first and the newest always
stay) and from then on snapshots are kept twice as far apart, so the run stays evenly covered.
"""

from __future__ import annotations

import threading
from collections import Counter

import numpy as np

from cnnviz.session.snapshot import Snapshot

TIMELINE_EVERY = 50           # steps between kept snapshots at the start of a run
MAX_BYTES = 96 * 2**20        # the seed network's snapshot is ~1.3 MB: ~70 of them


def snapshot_arrays(snapshot: Snapshot) -> dict[int, np.ndarray]:
    """The arrays a snapshot keeps alive, by id: layer arrays, the probe, the curves and the last
    validation's. Not the statistics records: all snapshots share them, and those that fall out of
    the statistics history stay alive only through old snapshots, a few MB even for long runs."""
    arrays = [snapshot.probe_image, snapshot.probe_display, snapshot.probs, *snapshot.curves.values()]
    arrays += [a for a in (snapshot.validation or {}).values() if isinstance(a, np.ndarray)]
    for layer in snapshot.layers:
        arrays += [layer.input, layer.output, layer.pre_activation, layer.dL_dout, layer.dL_dinput, layer.mask]
        for group in (layer.params, layer.grads, layer.update):
            arrays += list(group.values())
    return {id(a): a for a in arrays if a is not None}


def snapshot_nbytes(snapshot: Snapshot) -> int:
    """Bytes of the arrays a snapshot keeps alive (see ``snapshot_arrays``), each counted once."""
    return sum(a.nbytes for a in snapshot_arrays(snapshot).values())


class Timeline:
    """(step, Snapshot) pairs, oldest first, at most about ``max_bytes`` of arrays. An array shared
    by several snapshots (a validation record, unchanged curves) is counted once."""

    def __init__(self, every: int = TIMELINE_EVERY, max_bytes: int = MAX_BYTES) -> None:
        self.every, self.max_bytes = every, max_bytes
        self.interval = every                 # steps between kept snapshots now
        self._lock = threading.Lock()
        self._entries: list[tuple[int, Snapshot]] = []
        self._holders: Counter = Counter()   # array id -> how many kept snapshots hold it
        self._sizes: dict[int, int] = {}     # array id -> nbytes, while held
        self._bytes = 0

    def due(self, step: int) -> bool:
        """True when a snapshot of ``step`` should be kept: the first, or ``interval`` steps on."""
        with self._lock:
            return not self._entries or step >= self._entries[-1][0] + self.interval

    def offer(self, step: int, snapshot: Snapshot) -> bool:
        """Keep the snapshot if it is due; True when kept."""
        with self._lock:
            if self._entries and step < self._entries[-1][0] + self.interval:
                return False
            self._entries.append((int(step), snapshot))
            self._count(snapshot, +1)
            while self._bytes > self.max_bytes and len(self._entries) > 2:
                self._thin()
            return True

    def _count(self, snapshot: Snapshot, change: int) -> None:
        """Take a snapshot's arrays into the byte count (+1) or out of it (-1)."""
        for key, array in snapshot_arrays(snapshot).items():
            self._holders[key] += change
            if change > 0 and self._holders[key] == 1:
                self._sizes[key] = array.nbytes
                self._bytes += array.nbytes
            elif change < 0 and self._holders[key] == 0:
                del self._holders[key]
                self._bytes -= self._sizes.pop(key)

    def _thin(self) -> None:
        """Drop every other entry, keeping the first and the newest; double the spacing."""
        n = len(self._entries)
        keep = list(range(0, n, 2))
        keep[-1] = n - 1   # the newest stays (in place of its older neighbour when n is even)
        for i in set(range(n)) - set(keep):
            self._count(self._entries[i][1], -1)
        self._entries = [self._entries[i] for i in keep]
        self.interval *= 2

    def entries(self) -> list[tuple[int, Snapshot]]:
        """[(step, snapshot), ...] oldest first: a new list of the kept, shared snapshots."""
        with self._lock:
            return list(self._entries)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        """Forget the run (a new model, preset or dataset starts a new one)."""
        with self._lock:
            self._entries, self._bytes, self.interval = [], 0, self.every
            self._holders.clear()
            self._sizes.clear()

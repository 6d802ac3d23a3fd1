"""Snapshots kept every few training steps, for scrubbing back through a run. Without Qt.

The worker adds, the GUI reads: every method may be called from any thread. Snapshots are frozen,
so the timeline keeps the very objects the worker built and hands out references, never copies.
Memory is bounded by bytes: when full, every other snapshot goes (the first and the newest always
stay) and from then on snapshots are kept twice as far apart, so the run stays evenly covered.
"""

from __future__ import annotations

import threading

from cnnviz.session.snapshot import Snapshot

TIMELINE_EVERY = 50           # steps between kept snapshots at the start of a run
MAX_BYTES = 96 * 2**20        # the seed network's snapshot is ~1.3 MB: ~70 of them


def snapshot_nbytes(snapshot: Snapshot) -> int:
    """Bytes of the arrays this snapshot holds for itself: layer arrays, the probe and the curves.
    The statistics history and the validation record are shared by all snapshots, so not counted."""
    arrays = [snapshot.probe_image, snapshot.probe_display, snapshot.probs, *snapshot.curves.values()]
    for layer in snapshot.layers:
        arrays += [layer.input, layer.output, layer.pre_activation, layer.dL_dout, layer.dL_dinput, layer.mask]
        for group in (layer.params, layer.grads, layer.update):
            arrays += list(group.values())
    unique = {id(a): a for a in arrays if a is not None}
    return sum(a.nbytes for a in unique.values())


class Timeline:
    """(step, Snapshot) pairs, oldest first, at most about ``max_bytes`` of arrays."""

    def __init__(self, every: int = TIMELINE_EVERY, max_bytes: int = MAX_BYTES) -> None:
        self.every, self.max_bytes = every, max_bytes
        self.interval = every                 # steps between kept snapshots now
        self._lock = threading.Lock()
        self._entries: list[tuple[int, Snapshot, int]] = []   # step, snapshot, its bytes
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
            size = snapshot_nbytes(snapshot)
            self._entries.append((int(step), snapshot, size))
            self._bytes += size
            while self._bytes > self.max_bytes and len(self._entries) > 2:
                self._thin()
            return True

    def _thin(self) -> None:
        """Drop every other entry, keeping the first and the newest; double the spacing."""
        kept = self._entries[::2]
        if kept[-1] is not self._entries[-1]:
            kept[-1] = self._entries[-1]   # the newest stays; its older neighbour goes instead
        self._entries = kept
        self._bytes = sum(entry[2] for entry in kept)
        self.interval *= 2

    def entries(self) -> list[tuple[int, Snapshot]]:
        """[(step, snapshot), ...] oldest first: a new list of the kept, shared snapshots."""
        with self._lock:
            return [(step, snapshot) for step, snapshot, _ in self._entries]

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

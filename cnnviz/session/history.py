"""A run's history in bounded memory, without Qt: the one rule every history of cnnviz follows.

A long run is thinned, never cut at its start: when a history is full, every other entry goes (the first
and the newest stay) and from then on entries are kept twice as far apart, so the whole run stays
covered at an even density however long it is. ``EvenHistory`` holds objects (the timeline's snapshots,
the statistics records; with ``thin=False`` the stepping history, whose oldest records go instead because
stepping back must reach every step one by one); ``Curve`` holds numbers and averages neighbouring pairs
instead of dropping one of them, so a thinned loss curve is a smoothed one, not a sample of noise.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

MAX_POINTS = 2000
CURVE_NAMES = ("loss", "accuracy", "val_accuracy")


@dataclass(frozen=True)
class HistoryState:
    """Everything an EvenHistory holds; immutable, so a step record can keep it by reference."""

    entries: tuple = ()   # (key, item) pairs, oldest first
    interval: int = 1     # keys between kept entries now


class EvenHistory:
    """(key, item) pairs, oldest first, keys rising: an entry is due every ``interval`` keys (the
    first at once), at most ``max_items`` of them and about ``max_bytes`` of arrays. ``arrays_of(item)``
    lists an item's arrays; one shared by several items is counted once. Not thread-safe by itself."""

    def __init__(self, every: int = 1, max_items: int | None = None, max_bytes: int | None = None,
                 arrays_of=None, thin: bool = True) -> None:
        if max_items is not None and (max_items < 2 or (thin and max_items % 2)):
            raise ValueError(f"a history needs an even number of entries >= 2, not {max_items}")
        self.every, self.max_items, self.max_bytes = every, max_items, max_bytes
        self.arrays_of, self.thin = arrays_of, thin
        self._state = HistoryState(interval=every)
        self._items: tuple = (None, ())         # (the state they were taken from, its items)
        self._holders: Counter = Counter()   # array id -> how many kept items hold it
        self._sizes: dict[int, int] = {}     # array id -> nbytes, while held
        self._bytes = 0

    # -- the state, as one value --------------------------------------------------------------------
    @property
    def state(self) -> HistoryState:
        return self._state

    @state.setter
    def state(self, state: HistoryState) -> None:
        """Go back to an earlier state (e.g. a stepped-back history)."""
        self._state = state
        self._recount()

    @property
    def interval(self) -> int:
        return self._state.interval

    @interval.setter
    def interval(self, interval: int) -> None:
        self._state = HistoryState(self._state.entries, int(interval))

    def entries(self) -> tuple:
        return self._state.entries

    def items(self) -> tuple:
        """The items, oldest first: the same tuple until the history changes (snapshots share it)."""
        if self._items[0] is not self._state:
            self._items = (self._state, tuple(item for _, item in self._state.entries))
        return self._items[1]

    @property
    def last(self):
        return self._state.entries[-1][1] if self._state.entries else None

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._state.entries)

    # -- adding ---------------------------------------------------------------------------------------
    def due(self, key: int) -> bool:
        """True when an entry for ``key`` would be kept: the first, or ``interval`` keys on."""
        entries = self._state.entries
        return not entries or key >= entries[-1][0] + self._state.interval

    def offer(self, key: int, item) -> bool:
        """Keep ``item`` if it is due; True when kept."""
        if not self.due(key):
            return False
        self.push(key, item)
        return True

    def push(self, key: int, item) -> None:
        """Keep ``item`` (due or not), then thin or drop until within the bounds."""
        state = self._state
        self._state = HistoryState(state.entries + ((int(key), item),), state.interval)
        self._count(item, +1)
        while self._over():
            self._shrink()

    def back(self):
        """Drop the newest entry and return the item before it (None when there is none)."""
        entries = self._state.entries
        if len(entries) < 2:
            return None
        self._count(entries[-1][1], -1)
        self._state = HistoryState(entries[:-1], self._state.interval)
        return entries[-2][1]

    def clear(self) -> None:
        self._state = HistoryState(interval=self.every)
        self._holders.clear()
        self._sizes.clear()
        self._bytes = 0

    # -- bounds ---------------------------------------------------------------------------------------
    def _over(self) -> bool:
        n = len(self._state.entries)
        floor = 2 if self.thin else 1   # the first and the newest stay, whatever they cost
        return n > floor and ((self.max_items is not None and n > self.max_items) or
                              (self.max_bytes is not None and self._bytes > self.max_bytes))

    def _shrink(self) -> None:
        entries = self._state.entries
        if not self.thin:
            self._count(entries[0][1], -1)
            self._state = HistoryState(entries[1:], self._state.interval)
            return
        keep = list(range(0, len(entries), 2))
        keep[-1] = len(entries) - 1   # the newest stays (in place of its older neighbour when n is even)
        kept = set(keep)
        for i, (_, item) in enumerate(entries):
            if i not in kept:
                self._count(item, -1)
        self._state = HistoryState(tuple(entries[i] for i in keep), self._state.interval * 2)

    def _count(self, item, change: int) -> None:
        """Take an item's arrays into the byte count (+1) or out of it (-1)."""
        if self.arrays_of is None:
            return
        for array in self.arrays_of(item):
            key = id(array)
            self._holders[key] += change
            if change > 0 and self._holders[key] == 1:
                self._sizes[key] = array.nbytes
                self._bytes += array.nbytes
            elif change < 0 and self._holders[key] == 0:
                del self._holders[key]
                self._bytes -= self._sizes.pop(key)

    def _recount(self) -> None:
        self._holders.clear()
        self._sizes.clear()
        self._bytes = 0
        for _, item in self._state.entries:
            self._count(item, +1)


class Curve:
    """(x, y) points, at most ``max_points`` of them; ``as_array()`` -> read-only (2, n) float64.
    Stored in NumPy (a point per batch; a snapshot 30 times a second copies the curve) rather than in
    an EvenHistory, with the same rule: when full, pairs are averaged and the spacing doubles."""

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        if max_points < 2 or max_points % 2:
            raise ValueError(f"a curve needs an even number of points >= 2, not {max_points}")
        self.max_points = max_points
        self._points = np.empty((2, max_points), dtype=np.float64)
        self._count = 0
        self.stride = 1          # raw points per stored point
        self._bucket = [0.0, 0.0, 0]   # running sums of x, y and the count not yet stored
        self._frozen: np.ndarray | None = None

    def __len__(self) -> int:
        return self._count

    def append(self, x: float, y: float) -> None:
        bucket = self._bucket
        bucket[0] += x
        bucket[1] += y
        bucket[2] += 1
        if bucket[2] < self.stride:
            return
        if self._count == self.max_points:
            self._halve()
        n = bucket[2]
        self._points[:, self._count] = (bucket[0] / n, bucket[1] / n)
        self._count += 1
        self._bucket = [0.0, 0.0, 0]
        self._frozen = None

    def _halve(self) -> None:
        """Average neighbouring pairs: half the points, each standing for twice as many."""
        half = self._count // 2
        pairs = self._points[:, : half * 2].reshape(2, half, 2)
        self._points[:, :half] = pairs.mean(axis=2)
        self._count = half
        self.stride *= 2

    def as_array(self) -> np.ndarray:
        """Read-only (2, n) copy: row 0 images seen, row 1 the value. Cached until the next point."""
        if self._frozen is None:
            frozen = self._points[:, : self._count].copy()
            frozen.setflags(write=False)
            self._frozen = frozen
        return self._frozen

    def clear(self) -> None:
        self._count = 0
        self.stride = 1
        self._bucket = [0.0, 0.0, 0]
        self._frozen = None

    def state(self) -> dict:
        """Everything the curve holds, for a run file: its (2, n) points, the stride and the partly
        filled bucket, so a restored curve goes on exactly as this one would."""
        return {"points": self.as_array(), "stride": self.stride, "bucket": list(self._bucket)}

    def restore(self, state) -> None:
        """Back to a ``state()``; ValueError (one sentence) when it does not fit this curve."""
        points = np.asarray(state["points"], dtype=np.float64)
        stride, bucket = state["stride"], [float(v) for v in state["bucket"]]
        if points.ndim != 2 or points.shape[0] != 2 or points.shape[1] > self.max_points or \
                not isinstance(stride, int) or stride < 1 or len(bucket) != 3:
            raise ValueError("a recorded curve has the wrong shape.")
        self.clear()
        self._count = points.shape[1]
        self._points[:, : self._count] = points
        self.stride, self._bucket = stride, [bucket[0], bucket[1], int(bucket[2])]


class Curves:
    """The named curves of one run (``CURVE_NAMES``), each a bounded ``Curve``."""

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        self.curves = {name: Curve(max_points) for name in CURVE_NAMES}

    def add(self, name: str, images_seen: int, value: float) -> None:
        self.curves[name].append(float(images_seen), float(value))

    def as_arrays(self) -> dict[str, np.ndarray]:
        """name -> read-only (2, n) array (images_seen, value), as the Snapshot carries them."""
        return {name: curve.as_array() for name, curve in self.curves.items()}

    def clear(self) -> None:
        for curve in self.curves.values():
            curve.clear()

    def state(self) -> dict:
        return {name: curve.state() for name, curve in self.curves.items()}

    def restore(self, state) -> None:
        """Back to a ``state()`` (curves it does not name start empty)."""
        for name, curve in self.curves.items():
            if name in state:
                curve.restore(state[name])
            else:
                curve.clear()

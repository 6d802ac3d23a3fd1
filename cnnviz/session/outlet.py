"""Where a Session's results go, without Qt: the ``Outlet`` a Session is given at construction, and the
one-slot mailbox and the timeline that the GUI reads.

A Session calls its outlet only: ``wants_live()`` (should a live snapshot be built now?),
``timeline_due(step)``, ``publish_live`` / ``publish_step`` (a snapshot for the GUI, ``keep``: also
offered to the timeline), ``keep_for_timeline`` (only offered), ``clear_timeline`` and ``notify(kind,
text)`` with kind "error", "message" or "state". Two outlets exist: ``LocalOutlet`` here (a mailbox and a
timeline in this process: the Session driven in a thread, a script or a test) and the training
process's ``ProcessOutlet`` (cnnviz.session.process), which sends each snapshot once through the pipe to
a receiver that feeds a LocalOutlet in the window's process. Every method may be called from any thread.

Live training fills a one-slot mailbox: a newer snapshot replaces an unread one, so nothing queues up
however fast training runs (rule 5). Step snapshots go into a bounded deque instead, because in step
mode every step must be seen. A ``LivePacer`` decides when a live snapshot is wanted: when the GUI took
(or asked for) the last one, at most every ``min_interval`` seconds, and never costing more than
``BUILD_BUDGET`` of the builder's time. A build's cost is the CPU time of the thread that builds it
(from the ``wants_live`` that said yes to the ``built_live`` after it), not wall-clock time: while the
GUI thread paints, a worker thread waits for Python's lock (the GIL), and counting that wait made a
1 ms build look like 8 ms and throttled snapshots to ~5/s exactly when the window was busiest.

The timeline keeps a snapshot every few training steps for scrubbing back, bounded by bytes and thinned
evenly (``history.EvenHistory``). Snapshots are frozen, so it keeps the very objects it is given and
hands out references, never copies.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol

import numpy as np

from cnnviz.session.history import EvenHistory
from cnnviz.session.snapshot import Snapshot

# seconds between live snapshots at least. The GUI pulls at ~30 Hz and a snapshot is built only after
# it took the last one, which already keeps builds to its pace; a floor of 1/30 s, the same period as
# the pull timer, beat against it: a build that came late after one pull could not be ready for the
# next, and a third of the frames were lost.
LIVE_INTERVAL = 1 / 60
# at most this share of the worker's time goes into building live snapshots. A seed-network snapshot
# costs ~1.5-1.7 ms of CPU (most of it the probe's backward pass), so 30 a second need ~5%: at 4%
# the window was capped at 24 frames/s, under the aim of 25. The window's aim allows it 10% of
# training speed in all; snapshots take most of that.
BUILD_BUDGET = 0.06
BUILD_CREDIT = 0.25      # seconds of budget that may be saved up, so builds need not keep an exact beat
MAX_STEPS = 128          # unread step snapshots kept when the GUI does not poll
TIMELINE_EVERY = 50      # steps between kept snapshots at the start of a run
MAX_BYTES = 96 * 2**20   # the seed network's snapshot is ~1.6 MB: ~60 of them


class Outlet(Protocol):
    """What a Session hands its results to (see the module text)."""

    def notify(self, kind: str, text: str) -> None: ...
    def next_seq(self) -> int: ...
    def wants_live(self) -> bool: ...
    def timeline_due(self, step: int) -> bool: ...
    def publish_live(self, snapshot: Snapshot, keep: bool = False, build_seconds: float | None = None) -> None: ...
    def publish_step(self, snapshot: Snapshot, keep: bool = False) -> None: ...
    def keep_for_timeline(self, snapshot: Snapshot) -> None: ...
    def clear_timeline(self) -> None: ...


class LivePacer:
    """When is a live snapshot wanted? ``request()`` when the GUI took the last one; ``wants_live()``
    before building; ``built_live(seconds)`` / ``built_step()`` after. Thread-safe."""

    def __init__(self, min_interval: float = LIVE_INTERVAL, budget: float = BUILD_BUDGET,
                 clock=time.monotonic, cpu_clock=time.thread_time) -> None:
        self.min_interval, self.budget = min_interval, budget
        self.build_seconds = 0.0     # running average of the CPU seconds one live snapshot takes to build
        self._clock, self._cpu_clock = clock, cpu_clock
        self._builder = threading.local()   # .started: cpu_clock() when wants_live said yes
        self._lock = threading.Lock()
        self._requested = True       # a fresh session builds its first live snapshot unasked
        self._last_build = -float("inf")
        # build time spent beyond the budget (seconds; negative: budget saved up, at most
        # BUILD_CREDIT seconds' worth), as of self._debt_at
        self._debt = 0.0
        self._debt_at: float | None = None

    def request(self) -> None:
        with self._lock:
            self._requested = True

    def wants_live(self) -> bool:
        """True when a live snapshot should be built now: asked for, and not too soon."""
        with self._lock:
            now = self._clock()
            self._pay_debt(now)
            wanted = (self._requested and now - self._last_build >= self.min_interval
                      and self._debt <= 1e-12)
        if wanted:
            self._builder.started = self._cpu_clock()
        return wanted

    def built_live(self, build_seconds: float | None = None) -> None:
        """A live snapshot was published. build_seconds: how long it took to build (wall clock; None:
        not a timed build, e.g. an idle snapshot). When this thread's ``wants_live`` said yes before,
        the thread's CPU time since then is used instead (see the module text)."""
        started = getattr(self._builder, "started", None)
        self._builder.started = None
        if build_seconds is not None and started is not None:
            build_seconds = min(build_seconds, max(0.0, self._cpu_clock() - started))
        with self._lock:
            if build_seconds is not None:
                blend = 0.2 if self.build_seconds else 1.0
                self.build_seconds += blend * (build_seconds - self.build_seconds)
                self._pay_debt(self._clock())
                self._debt += build_seconds
            self._requested = False
            self._last_build = self._clock()

    def built_step(self) -> None:
        with self._lock:
            self._last_build = self._clock()

    def _pay_debt(self, now: float) -> None:
        """The budget earned since the last call pays off build time (lock held). Builds are spaced
        build_seconds / budget apart on average, but one may come early after one came late."""
        if self._debt_at is not None:
            earned = self.budget * max(0.0, now - self._debt_at)
            self._debt = max(-self.budget * BUILD_CREDIT, self._debt - earned)
        self._debt_at = now


class Mailbox:
    """One slot for the newest live snapshot, a bounded queue of step snapshots, the newest of either.
    ``pacer`` hears when the GUI takes (``request``) and when a snapshot arrives (``built_*``): a
    LivePacer here, or in the window's process one that asks the training process for the next."""

    __slots__ = ("pacer", "_lock", "_slot", "_steps", "_latest", "_seq")   # a mistyped setting fails loudly

    def __init__(self, max_steps: int = MAX_STEPS, pacer=None) -> None:
        self.pacer = pacer if pacer is not None else LivePacer()
        self._lock = threading.Lock()
        self._slot: Snapshot | None = None
        self._steps: deque[Snapshot] = deque(maxlen=max_steps)
        self._latest: Snapshot | None = None
        self._seq = 0

    # -- worker side ---------------------------------------------------------------------
    def next_seq(self) -> int:
        """The sequence number for the snapshot about to be built (1, 2, ...)."""
        with self._lock:
            self._seq += 1
            return self._seq

    def wants_live(self) -> bool:
        return self.pacer.wants_live()

    def put_live(self, snapshot: Snapshot, build_seconds: float | None = None) -> None:
        """Replace the unread live snapshot (if any)."""
        with self._lock:
            self._slot = snapshot
            self._latest = snapshot
        self.pacer.built_live(build_seconds)

    def put_step(self, snapshot: Snapshot) -> None:
        """Queue a step snapshot; the GUI receives every one (the oldest go if it never polls)."""
        with self._lock:
            self._steps.append(snapshot)
            self._latest = snapshot
        self.pacer.built_step()

    # -- GUI side ------------------------------------------------------------------------
    def take(self) -> list[Snapshot]:
        """Unread snapshots, oldest first: every queued step, plus the live one if unread."""
        with self._lock:
            items = list(self._steps)
            self._steps.clear()
            if self._slot is not None:
                items.append(self._slot)
                self._slot = None
        self.pacer.request()
        items.sort(key=lambda snap: snap.seq)
        return items

    def latest(self) -> Snapshot | None:
        """The newest snapshot built so far (read or not); also asks for a fresh one."""
        with self._lock:
            latest = self._latest
        self.pacer.request()
        return latest

    @property
    def pending(self) -> int:
        """How many snapshots wait unread (at most max_steps + 1)."""
        with self._lock:
            return len(self._steps) + (self._slot is not None)


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
    """(step, Snapshot) pairs, oldest first, one every ``every`` steps at first, at most about
    ``max_bytes`` of arrays (one shared by several snapshots counted once); thinned evenly when full."""

    def __init__(self, every: int = TIMELINE_EVERY, max_bytes: int = MAX_BYTES) -> None:
        self._lock = threading.Lock()
        self._history = EvenHistory(every=every, max_bytes=max_bytes,
                                    arrays_of=lambda snapshot: snapshot_arrays(snapshot).values())

    @property
    def every(self) -> int:
        return self._history.every

    @every.setter
    def every(self, every: int) -> None:
        with self._lock:
            self._history.every = self._history.interval = every

    @property
    def interval(self) -> int:
        """Steps between kept snapshots now (``every``, doubled at each thinning)."""
        return self._history.interval

    @interval.setter
    def interval(self, interval: int) -> None:
        with self._lock:
            self._history.interval = interval

    @property
    def max_bytes(self) -> int:
        return self._history.max_bytes

    def due(self, step: int) -> bool:
        """True when a snapshot of ``step`` would be kept: the first, or ``interval`` steps on."""
        with self._lock:
            return self._history.due(step)

    def offer(self, step: int, snapshot: Snapshot) -> bool:
        """Keep the snapshot if it is due; True when kept."""
        with self._lock:
            return self._history.offer(step, snapshot)

    def entries(self) -> list[tuple[int, Snapshot]]:
        """[(step, snapshot), ...] oldest first: a new list of the kept, shared snapshots."""
        with self._lock:
            return list(self._history.entries())

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._history.nbytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._history)

    def clear(self) -> None:
        """Forget the run (a new model, preset or dataset starts a new one)."""
        with self._lock:
            self._history.clear()


class LocalOutlet:
    """An Outlet that keeps what it is given in this process: ``mailbox`` and ``timeline`` for the
    GUI (or a test) to read, notices to ``notify``. The window's process feeds one from the pipe."""

    def __init__(self, notify=None, mailbox: Mailbox | None = None, timeline: Timeline | None = None) -> None:
        self._notify = notify or (lambda kind, text: None)
        self.mailbox = mailbox if mailbox is not None else Mailbox()
        self.timeline = timeline if timeline is not None else Timeline()

    def notify(self, kind: str, text: str) -> None:
        self._notify(kind, text)

    def next_seq(self) -> int:
        return self.mailbox.next_seq()

    def wants_live(self) -> bool:
        return self.mailbox.wants_live()

    def timeline_due(self, step: int) -> bool:
        return self.timeline.due(step)

    def publish_live(self, snapshot: Snapshot, keep: bool = False, build_seconds: float | None = None) -> None:
        self.mailbox.put_live(snapshot, build_seconds)
        if keep:
            self.timeline.offer(snapshot.step, snapshot)

    def publish_step(self, snapshot: Snapshot, keep: bool = False) -> None:
        self.mailbox.put_step(snapshot)
        if keep:
            self.timeline.offer(snapshot.step, snapshot)

    def keep_for_timeline(self, snapshot: Snapshot) -> None:
        self.timeline.offer(snapshot.step, snapshot)

    def clear_timeline(self) -> None:
        self.timeline.clear()

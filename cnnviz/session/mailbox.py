"""Where the worker leaves Snapshots for the GUI (rule 5), without Qt.

Live training fills a one-slot mailbox: a newer snapshot replaces an unread one, so nothing queues up
however fast training runs. Step snapshots go into a bounded deque instead, because in step mode every
step must be seen. The worker builds a live snapshot only when it is wanted (the GUI took or asked for
the last one) and at most every ``min_interval`` seconds; copying arrays is then per snapshot, never
per batch. When building is slow (a big network, a busy machine) snapshots are spaced further apart,
so building them never takes more than ``BUILD_BUDGET`` of the worker's time.
A build's cost is the CPU time of the thread that builds it (from the ``wants_live`` that said yes to
its ``put_live``), not wall-clock time: while the GUI thread paints, the worker waits for Python's
lock (the GIL), and counting that wait made a 1 ms build look like 8 ms and throttled snapshots to ~5/s
exactly when the window was busiest. Every method may be called from any thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from cnnviz.session.snapshot import Snapshot

# seconds between live snapshots at least. The GUI pulls at ~30 Hz and a snapshot is built only after
# it took the last one, which already keeps builds to its pace; a floor of 1/30 s, the same period as
# the pull timer, beat against it: a build that came late after one pull could not be ready for the
# next, and a third of the frames were lost.
LIVE_INTERVAL = 1 / 60
# at most this share of the worker's time goes into building live snapshots. A seed-network snapshot
# costs ~1.5-1.7 ms of CPU (most of it the probe's backward pass), so 30 a second need ~5%: at 4%
# the window was capped at 24 frames/s, under the aim of 25. The window's aim allows it 30% of
# training speed in all; snapshots take a sixth of that at most.
BUILD_BUDGET = 0.06
BUILD_CREDIT = 0.25      # seconds of budget that may be saved up, so builds need not keep an exact beat
MAX_STEPS = 128          # unread step snapshots kept when the GUI does not poll


class Mailbox:
    def __init__(self, min_interval: float = LIVE_INTERVAL, max_steps: int = MAX_STEPS,
                 clock=time.monotonic, budget: float = BUILD_BUDGET, cpu_clock=time.thread_time) -> None:
        self.min_interval = min_interval
        self.budget = budget
        self.build_seconds = 0.0     # running average of the CPU seconds one live snapshot takes to build
        self._clock = clock
        self._cpu_clock = cpu_clock  # CPU time of the calling thread
        self._builder = threading.local()   # .started: cpu_clock() when wants_live said yes
        self._lock = threading.Lock()
        self._slot: Snapshot | None = None
        self._steps: deque[Snapshot] = deque(maxlen=max_steps)
        self._latest: Snapshot | None = None
        self._seq = 0
        self._requested = True       # the GUI wants a fresh snapshot
        self._last_build = -float("inf")
        # build time spent beyond the budget (seconds; negative: budget saved up, at most
        # BUILD_CREDIT seconds' worth), as of self._debt_at
        self._debt = 0.0
        self._debt_at: float | None = None

    # -- worker side ---------------------------------------------------------------------
    def next_seq(self) -> int:
        """The sequence number for the snapshot about to be built (1, 2, ...)."""
        with self._lock:
            self._seq += 1
            return self._seq

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

    def put_live(self, snapshot: Snapshot, build_seconds: float | None = None) -> None:
        """Replace the unread live snapshot (if any). build_seconds: how long it took to build (wall
        clock; None: not a timed build, e.g. an idle snapshot). When this thread's ``wants_live``
        said yes before, the thread's CPU time since then is used instead (see the module text)."""
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
            self._slot = snapshot
            self._latest = snapshot
            self._requested = False
            self._last_build = self._clock()

    def _pay_debt(self, now: float) -> None:
        """The budget earned since the last call pays off build time (lock held). Builds are spaced
        build_seconds / budget apart on average, but one may come early after one came late."""
        if self._debt_at is not None:
            earned = self.budget * max(0.0, now - self._debt_at)
            self._debt = max(-self.budget * BUILD_CREDIT, self._debt - earned)
        self._debt_at = now

    def put_step(self, snapshot: Snapshot) -> None:
        """Queue a step snapshot; the GUI receives every one (the oldest go if it never polls)."""
        with self._lock:
            self._steps.append(snapshot)
            self._latest = snapshot
            self._last_build = self._clock()

    # -- GUI side ------------------------------------------------------------------------
    def take(self) -> list[Snapshot]:
        """Unread snapshots, oldest first: every queued step, plus the live one if unread."""
        with self._lock:
            items = list(self._steps)
            self._steps.clear()
            if self._slot is not None:
                items.append(self._slot)
                self._slot = None
            self._requested = True
        items.sort(key=lambda snap: snap.seq)
        return items

    def latest(self) -> Snapshot | None:
        """The newest snapshot built so far (read or not); also asks for a fresh one."""
        with self._lock:
            self._requested = True
            return self._latest

    @property
    def pending(self) -> int:
        """How many snapshots wait unread (at most max_steps + 1)."""
        with self._lock:
            return len(self._steps) + (self._slot is not None)

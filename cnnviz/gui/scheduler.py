"""PanelScheduler: which panel draws which snapshot, and when.

It owns what each panel shows (the snapshot's ``seq`` and the selected layer it drew), when it drew
it, and the frame count the status bar and bench-gui report. A panel is drawn only while its dock
is visible, at most once per (snapshot, layer); slow-changing panels (the curves) at most a few times
a second while training live. ``draw_staggered`` draws one due panel per turn of the event loop, so a
frame is never one long block of the GUI thread (input and timers run in between).
"""

from __future__ import annotations

import sys
import time
import traceback
from collections import deque
from typing import Callable

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

# Panels whose picture changes slowly, redrawn at most this often while training live: the curves
# cost about as much to paint as all other panels together and gain nothing from 30 Hz.
LIVE_MAX_FPS = {"curves": 5.0}


def title_matches(title: str, name: str) -> bool:
    """Panel titles may say more than the layout plan's names: "Kernels (weights W)", "Training curves"."""
    return name.lower() in title.lower()


def panel_title(panel) -> str:
    return str(getattr(panel, "title", type(panel).__name__))


class PanelScheduler(QObject):
    """Draws ``panels`` (widgets with ``title`` and ``show_snapshot(snapshot, layer_index)``).

    source() -> (snapshot or None, layer index): what the panels should show now (the window's
    shown snapshot and selected layer). visible(title) -> bool: whether a panel's dock is on
    screen. clock: seconds, monotonic (tests pass a clock they move by hand).
    Signal ``panel_failed(title, error)``: a panel raised while drawing (said once per panel; the
    other panels go on drawing)."""

    panel_failed = pyqtSignal(str, str)

    def __init__(self, panels, source: Callable[[], tuple], visible: Callable[[str], bool],
                 clock: Callable[[], float] = time.monotonic, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.panels = list(panels)
        self.source, self.visible, self.clock = source, visible, clock
        self.frames_drawn = 0                 # new (snapshot, layer) pairs put on screen
        self._frame_times: deque[float] = deque(maxlen=120)
        self._shows: dict[str, tuple] = {}     # title -> (snapshot seq, layer) it shows
        self._drawn_at: dict[str, float] = {}
        self._last_frame: tuple | None = None
        self._failed: set[str] = set()
        self._pending = False

    # -- what is on screen ----------------------------------------------------------------------
    def shows(self, title: str) -> tuple | None:
        """(snapshot seq, layer index) the panel ``title`` shows, None before its first draw."""
        return self._shows.get(title)

    def forget(self, title: str | None = None) -> None:
        """Panel ``title`` (None: every panel) draws again when next due, e.g. reopened or re-themed."""
        if title is None:
            self._shows.clear()
        else:
            self._shows.pop(title, None)

    def hurry(self) -> None:
        """The next draw ignores the live limit of the slow panels (the user chose another snapshot)."""
        self._drawn_at.clear()

    @property
    def pending(self) -> bool:
        """A staggered frame is still being drawn (its remaining panels come on later turns)."""
        return self._pending

    def fps(self) -> float:
        """Frames per second over the last two seconds."""
        now = self.clock()
        recent = [t for t in self._frame_times if now - t <= 2.0]
        if len(recent) < 2 or now - recent[0] <= 0:
            return 0.0
        return (len(recent) - 1) / max(now - recent[0], 1e-6)

    # -- drawing --------------------------------------------------------------------------------
    def due(self) -> list:
        """The visible panels that do not yet show the source's (snapshot, layer)."""
        snapshot, layer = self.source()
        if snapshot is None:
            return []
        key, now = (snapshot.seq, layer), self.clock()
        return [p for p in self.panels if self._shows.get(panel_title(p)) != key
                and self.visible(panel_title(p)) and self._due(p, snapshot, layer, now)]

    def draw(self) -> int:
        """Draw at once every due panel; returns how many drew."""
        return sum(self._draw(panel) for panel in self.due())

    def draw_staggered(self) -> None:
        """Draw one due panel now and the next on a later turn of the event loop (after Qt has
        painted this one and served input and timers), until none is due."""
        self._pending = False
        due = self.due()
        if due:
            self._draw(due[0])
        if len(due) > 1:
            self._pending = True
            QTimer.singleShot(1, self.draw_staggered)   # a real timer: runs after the paint event

    def _due(self, panel, snapshot, layer, now: float) -> bool:
        """Slow-changing panels are redrawn at most ``max_fps`` times a second while training live;
        stepping, a new layer choice, or a first draw always go through at once."""
        title = panel_title(panel)
        limit = getattr(panel, "max_fps", None) or next(
            (fps for name, fps in LIVE_MAX_FPS.items() if title_matches(title, name)), None)
        shown = self._shows.get(title)
        if not limit or snapshot.phase != "training" or shown is None or shown[1] != layer:
            return True
        return now - self._drawn_at.get(title, float("-inf")) >= 1.0 / limit

    def _draw(self, panel) -> bool:
        snapshot, layer = self.source()
        title, key = panel_title(panel), (snapshot.seq, layer)
        self._shows[title] = key
        self._drawn_at[title] = self.clock()
        try:
            panel.show_snapshot(snapshot, layer)
        except Exception as exc:  # one broken panel must not stop the others or the window
            if title not in self._failed:
                self._failed.add(title)
                traceback.print_exc(file=sys.stderr)
                self.panel_failed.emit(title, f"{type(exc).__name__}: {exc}")
            return False
        if key != self._last_frame:
            # a frame is a new (snapshot, layer) on screen, not a throttled panel catching up later
            self._last_frame = key
            self.frames_drawn += 1
            self._frame_times.append(self.clock())
        return True

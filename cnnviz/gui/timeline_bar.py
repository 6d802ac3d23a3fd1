"""The timeline: a slider that scrubs back through the snapshots the worker keeps every ~50 steps
(``controller.timeline()`` -> [(step, Snapshot), ...]), and the banner that says the panels show the
past. The far right of the slider is "live". Keys: [ older, ] newer, Esc back to live, K compares
kernels and feature maps then and now side by side; back at live the comparison closes.
"""

from __future__ import annotations

import time
from typing import Callable

from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QLabel, QSlider, QToolBar, QWidget

from cnnviz.gui.controls import enlarge
from cnnviz.gui.dock_layout import COMPARE_DOCKS, CONV_DOCK, STATS_DOCK, DockLayout

TIMELINE_POLL_S = 1.0          # how often the slider asks the worker for its kept snapshots


class TimelineBar(QToolBar):
    """Signals: ``snapshot_chosen(object)``: a kept Snapshot, or None for live; ``compare_toggled(bool)``.
    ``set_entries(list of (step, snapshot))`` refreshes what the slider can reach."""

    snapshot_chosen = pyqtSignal(object)
    compare_toggled = pyqtSignal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Timeline", parent)
        self.setObjectName("timeline_toolbar")
        enlarge(self)
        self.entries: list[tuple[int, object]] = []
        self.caption = QLabel(" Timeline ")
        self.caption.setToolTip("Snapshots kept every ~50 steps: drag to see the network as it was then")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(260)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)      # the arrows stay layer steps
        self.slider.setToolTip("Drag left to see an earlier moment of training; far right is live "
                               "([ older, ] newer, Esc live)")
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._moved)
        self.where = QLabel("live")
        self.where.setMinimumWidth(170)
        self.addWidget(self.caption)
        self.addWidget(self.slider)
        self.addWidget(self.where)
        self.actions_by_name: dict[str, QAction] = {}
        for name, text, key, tip in (
                ("older", "Older", "[", "Show the previous kept snapshot ([)"),
                ("newer", "Newer", "]", "Show the next kept snapshot, or live after the last (])"),
                ("live", "Live", "End", "Back to the live network (End or Esc)"),
                ("compare", "Compare then and now", "K", "Show the kernels and feature maps then and now side by side (K)")):
            action = QAction(text, self, shortcut=QKeySequence(key), toolTip=tip, statusTip=tip)
            action.setObjectName(f"timeline_{name}")
            self.addAction(action)
            self.actions_by_name[name] = action
        self.actions_by_name["older"].triggered.connect(lambda: self.move_by(-1))
        self.actions_by_name["newer"].triggered.connect(lambda: self.move_by(1))
        self.actions_by_name["live"].triggered.connect(self.go_live)
        compare = self.actions_by_name["compare"]
        compare.setCheckable(True)
        compare.toggled.connect(self.compare_toggled)

    @property
    def live_position(self) -> int:
        return len(self.entries)

    def is_live(self) -> bool:
        return self.slider.value() >= self.live_position

    def set_entries(self, entries) -> None:
        """New list of kept snapshots (oldest first); a scrubbed position stays on its step."""
        entries = list(entries or ())
        steps = [step for step, _snap in entries]
        if steps == [step for step, _snap in self.entries]:
            return
        live = self.is_live()
        current = None if live else self.entries[self.slider.value()][0]
        self.entries = entries
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(entries))
        self.slider.setValue(len(entries) if live or current not in steps else steps.index(current))
        self.slider.blockSignals(False)
        if not live and current not in steps:    # its snapshot was dropped (a reset): back to live
            self._moved(self.slider.value())

    def move_by(self, delta: int) -> None:
        self.slider.setValue(max(0, min(self.live_position, self.slider.value() + delta)))

    def go_live(self) -> None:
        self.slider.setValue(self.live_position)

    def show_step(self, step: int) -> bool:
        """Scrub to the kept snapshot of ``step``; False when none was kept for it."""
        for position, (kept, _snap) in enumerate(self.entries):
            if kept == step:
                self.slider.setValue(position)
                return True
        return False

    def _moved(self, position: int) -> None:
        if position >= self.live_position:
            self.where.setText("live")
            self.snapshot_chosen.emit(None)
        else:
            step, snap = self.entries[position]
            self.where.setText(f"step {step} ({position + 1} of {len(self.entries)})")
            self.snapshot_chosen.emit(snap)


class TimelineBanner(QLabel):
    """The yellow line over the panels while they show the past."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline_banner")
        self.setStyleSheet("QLabel#timeline_banner { background:#fff3b0; color:#4a3b00; "
                           "border-bottom:2px solid #d4a800; padding:4px; }")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.setFont(font)
        self.hide()

    def show_then(self, then_step: int, now_step: int | None) -> None:
        now = "" if now_step is None else f" (now: {now_step})"
        self.setText(f"Showing step {then_step}{now} — press Esc to return to live")
        self.show()


class TimelineController(QObject):
    """Which snapshot the panels show: the newest (live) or one the timeline was scrubbed back to
    (``then``). It owns the bar and the banner, polls the controller's kept snapshots, and names
    the docks "then: step N" / "now: step M" while the panels show the past.

    entries() -> [(step, snapshot), ...] (the controller's ``timeline``); latest() -> the newest
    snapshot; then_titles() -> the docks that draw the shown snapshot. Signal ``shown_changed``:
    the panels must show ``shown()`` now. ``failed(str)``: the kept snapshots could not be read."""

    shown_changed = pyqtSignal()
    failed = pyqtSignal(str)

    def __init__(self, bar: TimelineBar, banner: TimelineBanner, layout: DockLayout,
                 entries: Callable[[], list], latest: Callable[[], object], then_titles: Callable[[], list],
                 clock: Callable[[], float] = time.monotonic, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bar, self.banner, self.layout = bar, banner, layout
        self.entries, self.latest, self.then_titles, self.clock = entries, latest, then_titles, clock
        self.then = None                 # the older Snapshot shown, or None while live
        self._polled = float("-inf")
        bar.snapshot_chosen.connect(self.show_then)
        bar.compare_toggled.connect(self.show_compare)

    def shown(self):
        """What the panels show: the scrubbed-to snapshot, else the newest."""
        return self.then if self.then is not None else self.latest()

    def show_then(self, snapshot) -> None:
        """Show an older snapshot in every panel (None: back to live), with the banner saying so."""
        self.then = snapshot
        if snapshot is None:
            self.banner.hide()
            self.bar.actions_by_name["compare"].setChecked(False)   # live: nothing to compare
        else:
            self.live_arrived()
        self._retitle()
        self.shown_changed.emit()

    def live_arrived(self) -> None:
        """A new live snapshot came while the past is shown: the banner and titles say its step."""
        if self.then is None:
            return
        latest = self.latest()
        self.banner.show_then(self.then.step, latest.step if latest is not None else None)
        self._retitle()

    def go_live(self) -> None:
        self.bar.go_live()
        self.show_then(None)

    def show_compare(self, on: bool = True) -> None:
        """K: open (or close) the live "now" kernels and feature maps docks beside the "then" ones."""
        for title in COMPARE_DOCKS:
            if title in self.layout.docks:
                self.layout.show(title, on)

    def poll(self, force: bool = False) -> None:
        """Ask for the kept snapshots, at most every TIMELINE_POLL_S seconds unless ``force``."""
        now = self.clock()
        if not force and now - self._polled < TIMELINE_POLL_S:
            return
        self._polled = now
        try:
            entries = self.entries()
        except Exception as exc:  # the worker's list is a nicety: never let it stop the window
            self.failed.emit(f"Could not read the timeline: {exc}")
            return
        self.bar.set_entries(entries)

    def _retitle(self) -> None:
        """While scrubbing, every dock that draws the older snapshot (each panel, the statistics and
        the convolution animation) says "then: step N" and the comparison docks say "now"."""
        then, now, docks = self.then, self.latest(), self.layout.docks
        titles = [t for t in self.then_titles() if t not in COMPARE_DOCKS]
        titles += [t for t in (STATS_DOCK, CONV_DOCK) if t in docks and t not in titles]
        for title in titles:
            if title in docks:
                self.layout.set_title(title, title if then is None else f"{title} — then: step {then.step}")
        for compare in COMPARE_DOCKS:
            if compare in docks:
                self.layout.set_title(compare, compare if then is None or now is None
                                      else compare.replace("now (live)", f"now: step {now.step} (live)"))

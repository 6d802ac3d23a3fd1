"""The timeline: a slider that scrubs back through the snapshots the worker keeps every ~50 steps
(``controller.timeline()`` -> [(step, Snapshot), ...]), and the banner that says the panels show the
past. The far right of the slider is "live". Keys: [ older, ] newer, Esc back to live, K compares
kernels and feature maps then and now side by side; back at live the comparison closes.
"""

from __future__ import annotations

import time

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QLabel, QSlider, QToolBar, QWidget

from cnnviz.gui.controls import enlarge
from cnnviz.gui.docks import COMPARE_DOCKS, CONV_DOCK, STATS_DOCK

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


class TimelineMixin:
    """MainWindow's side of the timeline: which snapshot the panels show, the banner, Esc."""

    def shown_snapshot(self):
        """What the panels show: the scrubbed-to snapshot of the timeline, else the newest."""
        return self.timeline_snapshot if self.timeline_snapshot is not None else self.latest

    def show_then(self, snapshot) -> None:
        """Show an older snapshot in every panel (None: back to live), with the banner saying so."""
        self.timeline_snapshot = snapshot
        self._drawn_at.clear()     # a user's choice: even the throttled curves redraw at once
        if snapshot is None:
            self.banner.hide()
            self.timeline_bar.actions_by_name["compare"].setChecked(False)   # live: nothing to compare
        else:
            self.banner.show_then(snapshot.step, self.latest.step if self.latest is not None else None)
        self._title_then_and_now()
        self._show_snapshot_changed()

    def _title_then_and_now(self) -> None:
        """While scrubbing, every dock that draws the older snapshot (each panel, the statistics and
        the convolution animation) says "then: step N" and the comparison docks say "now"."""
        then, now = self.timeline_snapshot, self.latest
        then_docks = [p.title for p in self.panels if p.title not in COMPARE_DOCKS]
        then_docks += [t for t in (STATS_DOCK, CONV_DOCK) if t in self.docks and t not in then_docks]
        for title in then_docks:
            if title in self.docks:
                self.docks[title].setTitle(title if then is None else f"{title} — then: step {then.step}")
        for compare in COMPARE_DOCKS:
            if compare in self.docks:
                self.docks[compare].setTitle(compare if then is None or now is None
                                             else compare.replace("now (live)", f"now: step {now.step} (live)"))

    def show_compare(self, on: bool = True) -> None:
        """K: open (or close) the live "now" kernels and feature maps docks beside the "then" ones."""
        for title in COMPARE_DOCKS:
            if title in self.docks:
                self.show_dock(title, on)

    def go_live(self) -> None:
        self.timeline_bar.go_live()
        self.show_then(None)

    def poll_timeline(self, force: bool = False) -> None:
        now = time.monotonic()
        timeline = getattr(self.controller, "timeline", None)
        if timeline is None or (not force and now - self._timeline_polled < TIMELINE_POLL_S):
            return
        self._timeline_polled = now
        try:
            self.timeline_bar.set_entries(timeline())
        except Exception as exc:  # the worker's list is a nicety: never let it stop the window
            self.show_error(f"Could not read the timeline: {exc}")

    def escape(self) -> None:
        """Esc: back to live when the panels show the past; the keys go back to the window."""
        if self.timeline_snapshot is not None:
            self.go_live()
        self.give_keys_back()

    def _show_snapshot_changed(self) -> None:
        snap = self.shown_snapshot()
        if snap is None:
            return
        self.lecture.show_caption(snap)
        self.opener.refresh(snap)
        self.draw_panels()
        self.teach.feed()

"""The main window: a dock area holding the network strip and one dock per panel, the toolbars, a
message bar for errors, and a status bar. Around it (issue 6): clicks open the explain windows
(``self.opener``), teaching docks (``docks.TeachDocks``), lecture mode (``lecture``), the timeline
(``timeline_bar``) and File > Export (``menus``).

Data flow (rules 5 and 6): a ~30 Hz QTimer pulls snapshots with ``controller.take()``; the newest
one is drawn into the panels that are visible, each at most once per (snapshot, selected layer).
User actions become ``controller.send(command, **kwargs)``; the window never touches the model.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections import deque
from pathlib import Path

import numpy as np
from pyqtgraph.dockarea import DockArea
from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (QAbstractSpinBox, QApplication, QComboBox, QFileDialog, QLabel, QMainWindow,
                             QVBoxLayout, QWidget)

from cnnviz.gui.controls import MessageBar, RunBar, SettingsBar, SpeedBar
from cnnviz.gui.docks import (COMPARE_DOCK, STRIP_DOCK, DockLayoutMixin, make_teach_docks, panel_title,  # noqa: F401
                              title_matches)
from cnnviz.gui.lecture import LectureMode, LectureWindowMixin
from cnnviz.gui.menus import MenusMixin
from cnnviz.gui.network_strip import NetworkStrip
from cnnviz.gui.status_bar import STATUS_MAX_HZ, STATUS_TEMPLATES, StatusBarMixin  # noqa: F401
from cnnviz.gui.timeline_bar import TimelineBanner, TimelineBar, TimelineMixin

PULL_INTERVAL_MS = 33          # ~30 Hz: the most a screen or a viewer can use (rule 5)
PLACEHOLDER_TITLES = ("Input", "Kernels", "Feature maps", "Pooling", "Gradients", "Prediction", "Curves")
# Panels whose picture changes slowly, redrawn at most this often while training live: the curves
# cost about as much to paint as all other panels together and gain nothing from 30 Hz.
LIVE_MAX_FPS = {"curves": 5.0}
class PlaceholderPanel(QLabel):
    """Stands in for a panel while ``cnnviz.gui.panels`` cannot be imported: one line of text."""

    def __init__(self, title: str) -> None:
        super().__init__(f"{title}: waiting for data")
        self.title = title
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)

    def show_snapshot(self, snapshot, layer_index: int | None) -> None:
        layer = snapshot.layers[layer_index] if layer_index is not None and snapshot.layers else None
        where = f"layer {layer.index}: {layer.label}" if layer else "no layer"
        self.setText(f"{self.title}\n{where}\nstep {snapshot.step}, phase {snapshot.phase}")


def make_panels() -> tuple[list[QWidget], str | None]:
    """Instances of every real panel, or placeholders and the reason the panels did not load."""
    try:
        from cnnviz.gui.panels import ALL_PANELS
        panels = [cls() if isinstance(cls, type) else cls for cls in ALL_PANELS]
        if panels:
            return panels, None
        reason = "cnnviz.gui.panels lists no panels"
    except Exception as exc:  # panels not written yet, or broken: the window still runs
        reason = f"the panels could not be loaded ({type(exc).__name__}: {exc})"
    return [PlaceholderPanel(title) for title in PLACEHOLDER_TITLES], reason


def default_settings() -> QSettings:
    return QSettings("cnnviz", "cnnviz")


class MainWindow(DockLayoutMixin, MenusMixin, StatusBarMixin, LectureWindowMixin, TimelineMixin, QMainWindow):
    """The cnnviz window around a SessionController (or anything with its API).

    controller: sends commands (``send``), hands over snapshots (``take``), signals ``error``,
    ``message`` and ``state_changed``; the window stops it when it closes. settings: where the
    layout is remembered (tests pass a temporary QSettings). panels: widgets with ``title`` and
    ``show_snapshot(snapshot, layer_index)``; default: every panel of ``cnnviz.gui.panels``.
    """

    def __init__(self, controller, settings: QSettings | None = None, panels=None,
                 restore_layout: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.settings = settings if settings is not None else default_settings()
        self.setWindowTitle("cnnviz: watch a CNN learn")
        self.latest = None                # newest Snapshot received
        self.selected_layer: int | None = None
        self.frames_drawn = 0             # ticks that redrew at least one panel
        self.snapshots_received = 0
        self._frame_times: deque[float] = deque(maxlen=120)
        self._drawn: dict[str, tuple] = {}          # title -> (snapshot seq, layer) it shows
        self._drawn_at: dict[str, float] = {}
        self._last_frame: tuple | None = None       # the (seq, layer) of the last counted frame
        self._panel_errors: set[str] = set()
        self.stagger = True               # draw panels one per event-loop turn (see _draw_staggered)
        self._stagger_pending = False
        self._stopped = False

        self.messages = MessageBar()
        self.timeline_snapshot = None     # an older Snapshot the panels show while scrubbing, else None
        self._timeline_polled = 0.0
        self.area = DockArea()
        self.lecture = LectureMode(self)
        self.banner = TimelineBanner()
        central = QWidget()
        central.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for widget in (self.messages, self.lecture.caption, self.banner):
            layout.addWidget(widget)
        layout.addWidget(self.area, 1)
        self.setCentralWidget(central)

        self.strip = NetworkStrip()
        self.strip.layer_selected.connect(self.select_layer)
        reason = None
        if panels is None:
            panels, reason = make_panels()
            if reason:
                print(f"cnnviz: {reason}; showing placeholders.", file=sys.stderr)
        self.panels = list(panels)
        self.teach = make_teach_docks(self)
        self._connect_panel_signals()
        self.docks = {}
        self._home: dict[str, tuple[str, str]] = {}   # title -> (side, neighbour) in the default layout
        self._build_docks(self.teach.widgets())
        self.dock_widgets = {title: dock.widgets[0] for title, dock in self.docks.items()}
        self._default_layout = self._layout_state()

        self.run_bar = RunBar(self)
        self.settings_bar = SettingsBar(self)
        self.speed_bar = SpeedBar(self)
        self.timeline_bar = TimelineBar(self)
        self._speed_place = ""
        self._arrange_toolbars()                # the speed bar's row depends on the window's width
        self.addToolBar(Qt.ToolBarArea.BottomToolBarArea, self.timeline_bar)
        for bar in (self.run_bar, self.settings_bar, self.speed_bar):
            bar.command_requested.connect(lambda name, kwargs: self.send(name, **kwargs))
        self.timeline_bar.snapshot_chosen.connect(self.show_then)
        self.timeline_bar.compare_toggled.connect(self.show_compare)
        self._build_view_actions()
        for action in (*self.run_bar.actions_by_name.values(), *self.timeline_bar.actions_by_name.values(),
                       self.lecture_action, self.colour_blind_action, self.full_screen_action):
            self.addAction(action)  # keys work with the toolbars hidden
        self.addAction(QAction("Back to live / give the keys back to the window", self,
                               shortcut=QKeySequence("Escape"), triggered=self.escape))
        self._build_menus()
        self._build_status_bar()

        from cnnviz.gui.teach.explain_opener import ExplainOpener
        self.opener = ExplainOpener(self, latest=self.shown_snapshot)
        controller.error.connect(self.show_error)
        controller.message.connect(self.show_info)
        controller.state_changed.connect(self._state_changed)
        self.run_bar.set_state(getattr(controller, "state", "paused"))

        self.resize(*default_size(self))
        self._restored = restore_layout and self.restore_layout()
        if reason:
            self.show_error(f"The panels could not be loaded, so placeholders stand in: {reason}.")
        self._shown_once = False
        self.timer = QTimer(self)
        self.timer.setInterval(PULL_INTERVAL_MS)
        self.timer.timeout.connect(lambda: self.pull(stagger=self.stagger))
        self.timer.start()
        central.setFocus()

    def toolbars(self) -> list:
        return [self.run_bar, self.settings_bar, self.speed_bar, self.timeline_bar]

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange_toolbars()

    def _arrange_toolbars(self) -> None:
        """The speed bar sits beside the settings when both fit, else at the end of the run bar's
        row, else on a row of its own (a 1024-px projector): every control stays in view, none
        in a toolbar's "»" overflow menu."""
        width, room = self.width(), 16
        run, settings, speed = (bar.sizeHint().width() for bar in (self.run_bar, self.settings_bar, self.speed_bar))
        place = ("settings" if settings + speed + room <= width else
                 "run" if run + speed + room <= width else "own row")
        if place == self._speed_place:
            return
        self._speed_place = place
        bars = (self.run_bar, self.settings_bar, self.speed_bar)
        shown = [bar.isVisibleTo(self) for bar in bars]      # removeToolBar hides; the user's choice stays
        for bar in bars:
            self.removeToolBar(bar)
        self.addToolBar(self.run_bar)
        if place == "run":
            self.addToolBar(self.speed_bar)
        self.addToolBarBreak()
        self.addToolBar(self.settings_bar)
        if place == "own row":
            self.addToolBarBreak()
        if place != "run":
            self.addToolBar(self.speed_bar)
        for bar, visible in zip(bars, shown):
            bar.setVisible(visible)

    # -- commands ---------------------------------------------------------------------------------
    def send(self, command: str, **kwargs) -> None:
        try:
            self.controller.send(command, **kwargs)
        except Exception as exc:  # a stopped or broken worker: say so, keep the window
            self.show_error(f"The command {command!r} could not be sent: {exc}")

    def open_checkpoint(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            self.show_error(f"The checkpoint {path} does not exist.")
            return
        self.send("load_checkpoint", path=str(path))

    def save_checkpoint(self, path: str | Path) -> None:
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        if not path.parent.is_dir():
            self.show_error(f"Cannot save the checkpoint: the folder {path.parent} does not exist.")
            return
        self.send("save_checkpoint", path=str(path))

    def _ask_open_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", "", "cnnviz checkpoints (*.npz)")
        if path:
            self.open_checkpoint(path)

    def _ask_save_checkpoint(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint", "cnnviz.npz", "cnnviz checkpoints (*.npz)")
        if path:
            self.save_checkpoint(path)

    def give_keys_back(self) -> None:
        """Focus the window itself, so Space, the arrows and Backspace step again."""
        self.centralWidget().setFocus(Qt.FocusReason.OtherFocusReason)

    def _connect_panel_signals(self) -> None:
        extra = [w for w in (self.teach.compare, self.teach.compare_maps, self.teach.stats, self.teach.conv)
                 if w is not None]
        for panel in [*self.panels, *extra]:
            # a panel's spin box or combo box keeps the arrows and Space once used: hand them back
            for box in panel.findChildren(QAbstractSpinBox):
                box.editingFinished.connect(self.give_keys_back)
            for combo in panel.findChildren(QComboBox):
                combo.activated.connect(lambda _i: self.give_keys_back())
            if hasattr(panel, "probe_requested"):
                panel.probe_requested.connect(self.request_probe)
            if hasattr(panel, "unit_clicked"):
                panel.unit_clicked.connect(self.explain_unit)
            if hasattr(panel, "weight_clicked"):
                panel.weight_clicked.connect(self.explain_weight)
        if self.teach.draw is not None:
            self.teach.draw.digit_drawn.connect(self.use_drawn_digit)

    def request_probe(self, kind: str, value: int) -> None:
        """The Input panel's buttons: "next", "prev", "random", or "index" with the dataset index."""
        if kind == "index":
            self.send("set_probe", index=int(value))
        elif kind in ("next", "prev", "random"):
            self.send(f"probe_{kind}")

    def use_drawn_digit(self, image) -> None:
        """A digit drawn on the canvas, (1, 28, 28) in 0..1, becomes the probe every panel shows."""
        self.send("set_probe_image", image=np.array(image, dtype=np.float32))

    def explain_unit(self, layer: int, channel: int, y: int, x: int) -> None:
        """A click on a map cell: the explain window shows its computation with the shown snapshot."""
        self._explain(self.opener.explain_unit, layer, channel, y, x)

    def explain_weight(self, layer: int, out: int, channel: int, i: int, j: int) -> None:
        self._explain(self.opener.explain_weight, layer, out, channel, i, j)

    def _explain(self, open_dialog, *where) -> None:
        if self.shown_snapshot() is None:
            return
        try:
            open_dialog(*where)
        except Exception as exc:  # a unit the dialog cannot read must not take the window down
            traceback.print_exc()
            self.show_error(f"Could not explain {where} in this snapshot: {type(exc).__name__}: {exc}")
            return
        if self.lecture.enabled:
            for dialog in (self.opener.unit_dialog, self.opener.weight_dialog):
                if dialog is not None:
                    self.lecture.apply_to(dialog)

    def select_layer(self, index: int) -> None:
        """Show layer ``index`` in every panel (the strip's clicks land here)."""
        if self.latest is not None and not 0 <= index < len(self.latest.layers):
            return
        self.selected_layer = index
        self.strip.set_selected(index)
        self.draw_panels()

    def show_error(self, text: str) -> None:
        self.messages.show_message(text, "error", seconds=None)
        snap = self.latest
        if snap is not None:   # a refused choice (a dataset that failed to load): show what is in use
            self.settings_bar.set_values(snap.dataset or None, snap.preset or None, snap.lr or None,
                                         walk_images=snap.walk_images)
        else:                  # nothing loaded at all: say how to go on, not "waiting" forever
            self.strip.set_empty_text("no network yet: choose a dataset in the Data box "
                                      "(digits is built in, no download needed)")
        self.statusBar().showMessage(text, 10000)

    def show_info(self, text: str) -> None:
        self.messages.show_message(text, "info")
        self.statusBar().showMessage(text, 6000)

    def _state_changed(self, state: str) -> None:
        self.run_bar.set_state(state)
        self._update_texts(force=True)

    def _update_texts(self, force: bool = False) -> None:
        """The numbers shown as words - status bar, the strip's loss, the lecture caption - all
        from one snapshot, so they never disagree: while training live a few times a second (a
        batch's loss jumps too much to read at 30 Hz), otherwise at once."""
        if not self._update_status(force) or self.latest is None:
            return
        snap = self.latest
        self.strip.set_step(snap.phase, snap.layer_index, snap.batch_loss)
        if self.timeline_snapshot is None:
            self.lecture.show_caption(snap)

    # -- the pull loop ----------------------------------------------------------------------------
    def pull(self, stagger: bool = False) -> None:
        """Take what the worker produced since the last tick and redraw the visible panels; with
        ``stagger`` (the timer's way) one panel per turn of the event loop, see ``_draw_staggered``."""
        try:
            snapshots = self.controller.take()
        except Exception as exc:
            self.show_error(f"Could not read from the trainer: {exc}")
            return
        if snapshots:
            self.snapshots_received += len(snapshots)
            self._receive(snapshots[-1])
        if self.timeline_bar.isVisible():
            self.poll_timeline()
        self.teach.feed()
        if not stagger:
            self.draw_panels()
        elif not self._stagger_pending:
            self._draw_staggered()
        self._update_texts()

    def _receive(self, snap) -> None:
        self.latest = snap
        changed = self.strip.set_layers(snap.layers, snap.probe_image.shape if snap.probe_image is not None else None,
                                        snap.dataset)
        if changed or self.selected_layer is None or self.selected_layer >= len(snap.layers):
            self.selected_layer = first_layer_of(snap.layers, "conv")
            self.setWindowTitle(f"cnnviz: the {snap.preset or 'custom'} network learning {snap.dataset or 'images'}")
        if snap.phase in ("forward", "backward") and snap.layer_index is not None:
            self.selected_layer = snap.layer_index   # stepping: the panels follow the step
        self.strip.set_selected(self.selected_layer)
        # the step's block lights up at once; its loss figure changes with the status bar (_update_texts)
        self.strip.set_step(snap.phase, snap.layer_index, self.strip.loss)
        self.lecture.follow_step(snap)        # lecture mode: the step's picture in front of its tabs
        self.settings_bar.set_values(snap.dataset or None, snap.preset or None, snap.lr or None,
                                     walk_images=snap.walk_images)
        if self.timeline_snapshot is None:
            self.opener.refresh(snap)     # in step mode the explain window follows every step
        else:
            self.banner.show_then(self.timeline_snapshot.step, snap.step)
            self._title_then_and_now()

    def panel_visible(self, title: str) -> bool:
        dock = self.docks[title]
        return dock.container() is not None and dock.isVisible() and not dock.visibleRegion().isEmpty()

    def _due_panels(self) -> list[tuple[QWidget, str]]:
        """The visible panels that do not yet show (shown snapshot, selected layer)."""
        key, now = (self.shown_snapshot().seq, self.selected_layer), time.monotonic()
        due = []
        for panel in self.panels:
            title = str(getattr(panel, "title", type(panel).__name__))
            if self._drawn.get(title) != key and self.panel_visible(title) and self._due(panel, title, now):
                due.append((panel, title))
        return due

    def _draw_panel(self, panel, title: str) -> bool:
        snap = self.shown_snapshot()
        key = (snap.seq, self.selected_layer)
        self._drawn[title] = key
        self._drawn_at[title] = time.monotonic()
        try:
            panel.show_snapshot(snap, self.selected_layer)
        except Exception as exc:  # one broken panel must not stop the others or the window
            if title not in self._panel_errors:
                self._panel_errors.add(title)
                traceback.print_exc()
                self.show_error(f"The {title} panel failed to draw: {type(exc).__name__}: {exc}")
            return False
        if key != self._last_frame:
            # a frame is a new (snapshot, layer) on screen, not a throttled panel catching up later
            self._last_frame = key
            self.frames_drawn += 1
            self._frame_times.append(time.monotonic())
        return True

    def draw_panels(self) -> int:
        """Redraw at once every visible panel that does not yet show the newest snapshot and layer."""
        if self.latest is None:
            return 0
        return sum(self._draw_panel(panel, title) for panel, title in self._due_panels())

    def _draw_staggered(self) -> None:
        """Draw one due panel, then let Qt paint it and serve input and timers before the next:
        the window stays responsive (a frame is never one long block) at no cost in frames."""
        self._stagger_pending = False
        if self.latest is None:
            return
        due = self._due_panels()
        if due:
            self._draw_panel(*due[0])
        if len(due) > 1:
            self._stagger_pending = True
            QTimer.singleShot(1, self._draw_staggered)   # a real timer: runs after the paint event

    def _due(self, panel, title: str, now: float) -> bool:
        """Slow-changing panels (the curves) are redrawn at most ``max_fps`` times a second while
        training live; stepping, a new layer choice, or a first draw always go through at once."""
        limit = getattr(panel, "max_fps", None) or next(
            (fps for name, fps in LIVE_MAX_FPS.items() if title_matches(title, name)), None)
        drawn = self._drawn.get(title)
        if not limit or self.shown_snapshot().phase != "training" or drawn is None or drawn[1] != self.selected_layer:
            return True
        return now - self._drawn_at.get(title, 0.0) >= 1.0 / limit

    def panel_fps(self) -> float:
        now = time.monotonic()
        recent = [t for t in self._frame_times if now - t <= 2.0]
        if len(recent) < 2 or now - recent[0] <= 0:
            return 0.0
        return (len(recent) - 1) / max(now - recent[0], 1e-6)

    # -- closing ---------------------------------------------------------------------------------
    def stop_controller(self) -> bool:
        """Stop the worker and wait for its thread; True when it has ended."""
        if self._stopped:
            return True
        self.timer.stop()
        stopped = bool(self.controller.stop())
        if not stopped:
            stopped = bool(self.controller.stop(timeout=10.0))
        self._stopped = stopped
        return stopped

    def closeEvent(self, event) -> None:
        try:
            self.set_lecture_mode(False)   # remember the everyday layout, not the lecture one
            self.save_layout()
        except Exception as exc:  # never keep the user from closing the window
            print(f"cnnviz: could not save the window layout: {exc}", file=sys.stderr)
        for area in list(self.area.tempAreas):   # floating panels close with the window (the app ends)
            area.win.close()
        self.stop_controller()
        super().closeEvent(event)


def default_size(widget: QWidget) -> tuple[int, int]:
    """1600x1000, or the screen's free area when it is smaller (a 1024x768 projector)."""
    screen = widget.screen() or QApplication.primaryScreen()
    if screen is None:
        return 1600, 1000
    free = screen.availableGeometry()
    return min(1600, free.width()), min(1000, free.height())


def first_layer_of(layers, kind: str) -> int | None:
    for layer in layers:
        if layer.kind == kind:
            return layer.index
    return 0 if layers else None

"""The main window: it composes the parts and wires them together; each part owns its own state.

- ``dock_layout`` (DockLayout): the network strip and one dock per panel, their arrangement
  (``state()`` / ``restore()``), kept between runs
- ``scheduler`` (PanelScheduler): which panel shows which snapshot, drawn when, frames counted
- ``status`` (StatusBar), ``menus`` (Menus), ``exports`` (Exports), ``timeline``
  (TimelineController), ``lecture`` (LectureMode), ``teach`` (TeachDocks), ``opener`` (ExplainOpener)
- the toolbars (``run_bar``, ``settings_bar``, ``speed_bar``, ``timeline_bar``) and the message bar

Data flow (rules 5 and 6): a ~30 Hz QTimer pulls snapshots with ``controller.take()``; the newest
one is drawn into the panels that are visible, each at most once per (snapshot, selected layer).
User actions become ``controller.send(command, **kwargs)``; the window never touches the model. The
controller is anything with the ``Controller`` protocol (cnnviz.gui.controller).
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path
from typing import Callable

import numpy as np
from pyqtgraph.dockarea import DockArea
from PyQt6.QtCore import QByteArray, QSettings, Qt, QTimer
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QFileDialog, QMainWindow, QVBoxLayout, QWidget

from cnnviz.gui import theme
from cnnviz.gui.controller import Controller
from cnnviz.gui.controls import MessageBar, RunBar, SettingsBar, SpeedBar, ToolbarRows
from cnnviz.gui.dock_layout import DockLayout
from cnnviz.gui.exports import Exports
from cnnviz.gui.lecture import LectureMode, checked
from cnnviz.gui.menus import Menus
from cnnviz.gui.network_strip import NetworkStrip
from cnnviz.gui.pg_compat import collect_garbage_in_gui_thread
from cnnviz.gui.scheduler import PanelScheduler, panel_title
from cnnviz.gui.status_bar import StatusBar
from cnnviz.gui.teach.explain_opener import ExplainOpener
from cnnviz.gui.teach_docks import make_teach_docks
from cnnviz.gui.timeline_bar import TimelineBanner, TimelineBar, TimelineController

PULL_INTERVAL_MS = 33          # ~30 Hz: the most a screen or a viewer can use (rule 5)


def default_panels() -> list[QWidget]:
    """One of every panel of ``cnnviz.gui.panels``, in dock order."""
    from cnnviz.gui.panels import ALL_PANELS

    return [cls() for cls in ALL_PANELS]


def default_settings() -> QSettings:
    return QSettings("cnnviz", "cnnviz")


class MainWindow(QMainWindow):
    """The cnnviz window around a ``Controller``.

    settings: where the layout is remembered (tests pass a temporary QSettings). panels: widgets
    with ``title`` and ``show_snapshot(snapshot, layer_index)`` (default: every panel of
    ``cnnviz.gui.panels``). restore_layout: bring back the remembered layout. clock: monotonic
    seconds for the parts' rate limits (tests pass one they move by hand)."""

    def __init__(self, controller: Controller, settings: QSettings | None = None, panels=None,
                 restore_layout: bool = True, clock: Callable[[], float] = time.monotonic,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        collect_garbage_in_gui_thread()   # never in the middle of a Qt call, never in the worker (pg_compat)
        self.controller = controller
        self.settings = settings if settings is not None else default_settings()
        self.setWindowTitle("cnnviz: watch a CNN learn")
        self.latest = None                # newest Snapshot received
        self.selected_layer: int | None = None
        self.snapshots_received = 0
        self.stagger = True               # the timer draws panels one per event-loop turn
        self.theme = theme.DEFAULT
        self._stopped = False
        self._shown_once = False

        self.messages = MessageBar()
        self.strip = NetworkStrip()
        self.panels = list(panels) if panels is not None else default_panels()
        self.teach = make_teach_docks(clock)
        for panel in [*self.panels, self.teach.compare, self.teach.compare_maps]:
            if hasattr(panel, "clock"):
                panel.clock = clock           # their live captions keep the window's pace
        self.area = DockArea()
        self.dock_layout = DockLayout(self.area, self.strip, self.panels, self.teach.widgets(), self)
        self.scheduler = PanelScheduler(self.panels, source=lambda: (self.shown_snapshot(), self.selected_layer),
                                        visible=self.dock_layout.is_visible, clock=clock, parent=self)
        self.status = StatusBar(clock)
        self.setStatusBar(self.status)

        self.run_bar = RunBar(self)
        self.settings_bar = SettingsBar(self)
        self.speed_bar = SpeedBar(self)
        self.settings_bar.move_rate_controls_to(self.speed_bar)   # the settings bar fits 1024 px without them
        self.timeline_bar = TimelineBar(self)
        self.timeline = TimelineController(self.timeline_bar, TimelineBanner(), self.dock_layout,
                                           entries=lambda: self.controller.timeline(), latest=lambda: self.latest,
                                           then_titles=lambda: [panel_title(p) for p in self.panels],
                                           clock=clock, parent=self)
        self.lecture = LectureMode(self)
        self._build_central()
        self.toolbar_rows = ToolbarRows(self, self.run_bar, self.settings_bar, self.speed_bar)
        self.toolbar_rows.arrange()             # the speed bar's row depends on the window's width
        self.addToolBar(Qt.ToolBarArea.BottomToolBarArea, self.timeline_bar)

        self.full_screen_action = QAction("Full screen", self, checkable=True, shortcut=QKeySequence("Ctrl+F"),
                                          toolTip="Fill the screen (Ctrl+F)", triggered=self.set_full_screen)
        self.run_bar.addSeparator()
        self.run_bar.addAction(self.lecture.action)
        for action in (*self.run_bar.actions_by_name.values(), *self.timeline_bar.actions_by_name.values(),
                       self.lecture.action, self.lecture.colour_blind_action, self.full_screen_action):
            self.addAction(action)  # keys work with the toolbars hidden
        self.addAction(QAction("Back to live / give the keys back to the window", self,
                               shortcut=QKeySequence("Escape"), triggered=self.escape))
        self.exports = Exports(self, self.dock_layout.widget, self.shown_snapshot, lambda: self.latest, self._report)
        self.menus = Menus(self, docks=lambda: list(self.dock_layout.docks), is_open=self.dock_layout.is_open,
                           show_dock=self.dock_layout.show, run_actions=self.run_bar.actions_by_name.values(),
                           timeline_actions=self.timeline_bar.actions_by_name.values(), toolbars=self.toolbars(),
                           view_actions=(self.lecture.action, self.lecture.colour_blind_action,
                                         self.full_screen_action),
                           open_checkpoint=self._ask_open_checkpoint, save_checkpoint=self._ask_save_checkpoint,
                           reset_layout=self.reset_layout, exports=self.exports, scale=lambda: self.lecture.scale)
        self.opener = ExplainOpener(self, latest=self.shown_snapshot)
        self._connect()
        self.status.show_state(None, str(controller.state), 0.0)
        self.run_bar.set_state(controller.state)

        self.resize(*default_size(self))
        self._restored = restore_layout and self.restore_layout()
        self.timer = QTimer(self)
        self.timer.setInterval(PULL_INTERVAL_MS)
        self.timer.timeout.connect(lambda: self.pull(stagger=self.stagger))
        self.timer.start()
        self.centralWidget().setFocus()

    def _build_central(self) -> None:
        central = QWidget()
        central.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for widget in (self.messages, self.lecture.caption, self.timeline.banner):
            layout.addWidget(widget)
        layout.addWidget(self.area, 1)
        self.setCentralWidget(central)

    def _connect(self) -> None:
        self.strip.layer_selected.connect(self.select_layer)
        for bar in (self.run_bar, self.settings_bar, self.speed_bar):
            bar.command_requested.connect(lambda name, kwargs: self.send(name, **kwargs))
        self.dock_layout.opened.connect(self._dock_opened)
        self.dock_layout.open_changed.connect(self.menus.dock_changed)
        self.scheduler.panel_failed.connect(
            lambda title, error: self.show_error(f"The {title} panel failed to draw: {error}"))
        self.timeline.shown_changed.connect(self._shown_changed)
        self.timeline.failed.connect(self.show_error)
        self.lecture.enabled_changed.connect(self._lecture_changed)
        for panel in [*self.panels, *self.teach.panels()]:
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
        self.controller.error.connect(self.show_error)
        self.controller.message.connect(self.show_info)
        self.controller.state_changed.connect(self._state_changed)

    # -- what the parts ask of the window (public: lecture mode and bench-gui use these) ------------
    def toolbars(self) -> list:
        return [self.run_bar, self.settings_bar, self.speed_bar, self.timeline_bar]

    def shown_snapshot(self):
        """What the panels show: the snapshot the timeline was scrubbed to, else the newest."""
        return self.timeline.shown()

    @property
    def frames_drawn(self) -> int:
        return self.scheduler.frames_drawn

    def panel_visible(self, title: str) -> bool:
        return self.dock_layout.is_visible(title)

    def self_scaling(self) -> list:
        """The widgets that grow their own text with the theme (lecture mode leaves them alone)."""
        return [*self.panels, self.teach.compare, self.teach.compare_maps]

    def apply_theme(self, look: theme.Theme) -> None:
        """Draw every part with ``look`` (lecture mode, the colour-blind switch): the panels at once,
        the teaching windows in its palette."""
        self.theme = look
        for panel in self.panels:
            panel.apply_theme(look)
        self.teach.apply_theme(look)
        self.opener.apply_theme(look.scaled(1.0))
        shown = self.shown_snapshot()
        if shown is not None:
            self.opener.refresh(shown, force=True)
        self.scheduler.forget()
        self.draw_panels()

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
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", "", "cnnviz checkpoints and runs (*.npz *.cnnviz)")
        if path:
            self.open_checkpoint(path)

    def _ask_save_checkpoint(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint", "cnnviz.npz", "cnnviz checkpoints and runs (*.npz *.cnnviz)")
        if path:
            self.save_checkpoint(path)

    def request_probe(self, kind: str, value: int) -> None:
        """The Input panel's buttons: "next", "prev", "random", or "index" with the dataset index."""
        if kind == "index":
            self.send("set_probe", index=int(value))
        elif kind in ("next", "prev", "random", "hardest", "misclassified", "least_confident"):
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

    def give_keys_back(self) -> None:
        """Focus the window itself, so Space, the arrows and Backspace step again."""
        self.centralWidget().setFocus(Qt.FocusReason.OtherFocusReason)

    def escape(self) -> None:
        """Esc: back to live when the panels show the past; the keys go back to the window."""
        if self.timeline.then is not None:
            self.timeline.go_live()
        self.give_keys_back()

    def set_lecture_mode(self, on: bool) -> None:
        self.lecture.set_enabled(on)

    def set_full_screen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    # -- words ----------------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self.messages.show_message(text, "error", seconds=None)
        snap = self.latest
        if snap is not None:   # a refused choice (a dataset that failed to load): show what is in use
            self.settings_bar.set_values(snap.dataset or None, snap.preset or None, snap.lr or None,
                                         walk_images=snap.walk_images if snap.probe_split == "train" else None)
        else:                  # nothing loaded at all: say how to go on, not "waiting" forever
            self.strip.set_empty_text("no network yet: choose a dataset in the Data box "
                                      "(digits is built in, no download needed)")
        self.status.showMessage(text, 10000)

    def show_info(self, text: str) -> None:
        self.messages.show_message(text, "info")
        self.status.showMessage(text, 6000)

    def _report(self, kind: str, text: str) -> None:
        (self.show_error if kind == "error" else self.show_info)(text)

    def _state_changed(self, state: str) -> None:
        self.run_bar.set_state(state)
        self._update_texts(force=True)

    def _update_texts(self, force: bool = False) -> None:
        """The numbers shown as words - status bar, the strip's loss, the lecture caption - all
        from one snapshot, so they never disagree: while training live a few times a second (a
        batch's loss jumps too much to read at 30 Hz), otherwise at once."""
        snap = self.latest
        if not self.status.show_state(snap, str(self.controller.state), self.scheduler.fps(), force) or snap is None:
            return
        self.strip.set_step(snap.phase, snap.layer_index, snap.batch_loss)
        if self.timeline.then is None:
            self.lecture.show_caption(snap)

    def _lecture_changed(self, on: bool) -> None:
        self.lecture.show_caption(self.shown_snapshot())
        checked(self.full_screen_action, self.isFullScreen())

    # -- the pull loop ----------------------------------------------------------------------------
    def pull(self, stagger: bool = False) -> None:
        """Take what the worker produced since the last tick and redraw the visible panels; with
        ``stagger`` (the timer's way) one panel per turn of the event loop (PanelScheduler)."""
        try:
            snapshots = self.controller.take()
        except Exception as exc:
            self.show_error(f"Could not read from the trainer: {exc}")
            return
        if snapshots:
            self.snapshots_received += len(snapshots)
            self._receive(snapshots[-1])
        if self.timeline_bar.isVisible():
            self.timeline.poll()
        self._feed_teach()
        if not stagger:
            self.draw_panels()
        elif not self.scheduler.pending:
            self.scheduler.draw_staggered()
        self._update_texts()

    def draw_panels(self) -> int:
        """Redraw at once every visible panel that does not yet show the shown snapshot and layer."""
        return self.scheduler.draw()

    def _feed_teach(self) -> None:
        # the comparison docks show "now" (live); a replay compared with a second run (--compare)
        # shows that run at the same step instead
        partner = getattr(self.controller, "partner_for", None)
        now = partner(self.shown_snapshot()) if partner is not None else None
        self.teach.feed(self.shown_snapshot(), now or self.latest, self.selected_layer, self.dock_layout.is_visible)

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
                                     walk_images=snap.walk_images if snap.probe_split == "train" else None)
        self.settings_bar.show_rate(snap.current_lr, snap.schedule, snap.paper_settings, snap.preset)
        if self.timeline.then is None:
            self.opener.refresh(snap)     # in step mode the explain window follows every step
        else:
            self.timeline.live_arrived()

    def _shown_changed(self) -> None:
        """The timeline chose another snapshot (or live again): everything shows it at once."""
        self.scheduler.hurry()      # a user's choice: even the throttled curves redraw at once
        snap = self.shown_snapshot()
        if snap is None:
            return
        self.lecture.show_caption(snap)
        self.opener.refresh(snap)
        self.draw_panels()
        self._feed_teach()

    def _dock_opened(self, title: str) -> None:
        """A dock came back: it was not drawn while closed; in lecture mode it grows like the rest."""
        self.scheduler.forget(title)
        self.teach.forget(title)
        if self.lecture.enabled:
            self.lecture.apply_to(self.dock_layout.docks[title])   # it was outside the window when it grew

    # -- layout and toolbars ----------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.toolbar_rows.arrange()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if not self._restored:  # splitter sizes follow the stretches only once the window has its size
                QTimer.singleShot(0, self.dock_layout.set_default_stretch)

    def reset_layout(self) -> None:
        self.dock_layout.reset()
        for bar in self.toolbars():
            bar.show()

    def save_layout(self) -> None:
        self.dock_layout.save(self.settings)
        self.settings.setValue("layout/geometry", self.saveGeometry())
        self.settings.setValue("layout/toolbars", self.saveState())
        self.settings.sync()

    def restore_layout(self) -> bool:
        """Bring back the remembered layout; a missing or unreadable one leaves the default."""
        geometry = self.settings.value("layout/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        toolbars = self.settings.value("layout/toolbars")
        if isinstance(toolbars, QByteArray) and not toolbars.isEmpty():
            self.restoreState(toolbars)
        try:
            return self.dock_layout.load(self.settings)
        except Exception as exc:  # a damaged settings file must not keep the window from opening
            self.reset_layout()
            self.show_info(f"The saved window layout could not be restored ({exc}); using the default.")
            return False

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
        self.dock_layout.close_floating()   # floating panels close with the window (the app ends)
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

"""The main window: a dock area holding the network strip and one dock per panel, the toolbars, a
message bar for errors, and a status bar.

Data flow (rules 5 and 6): a ~30 Hz QTimer pulls snapshots with ``controller.take()``; the newest
one is drawn into the panels that are visible, each at most once per (snapshot, selected layer).
User actions become ``controller.send(command, **kwargs)``; the window never touches the model.
"""

from __future__ import annotations

import json
import re
import sys
import time
import traceback
from collections import deque
from pathlib import Path

import numpy as np
from pyqtgraph.dockarea import Dock, DockArea
from PyQt6.QtCore import QByteArray, QSettings, Qt, QTimer
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (QAbstractSpinBox, QApplication, QComboBox, QFileDialog, QLabel, QMainWindow, QSizePolicy, QVBoxLayout,
                             QWidget)

from cnnviz.gui.controls import MessageBar, RunBar, SettingsBar
from cnnviz.gui.network_strip import NetworkStrip

PULL_INTERVAL_MS = 33          # ~30 Hz: the most a screen or a viewer can use (rule 5)
STRIP_DOCK = "Network"
PLACEHOLDER_TITLES = ("Input", "Kernels", "Feature maps", "Pooling", "Gradients", "Prediction", "Curves")
DOCK_FONT = "14px"             # dock titles, readable on a projector
# Panels whose picture changes slowly, redrawn at most this often while training live: the curves
# cost about as much to paint as all other panels together and gain nothing from 30 Hz.
LIVE_MAX_FPS = {"curves": 5.0}
LAYOUT_VERSION = 1             # bump when the dock names or the default arrangement change


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


class MainWindow(QMainWindow):
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
        self.area = DockArea()
        central = QWidget()
        central.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.messages)
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
        self._connect_panel_signals()
        self.docks: dict[str, Dock] = {}
        self._home: dict[str, tuple[str, str]] = {}   # title -> (side, neighbour) in the default layout
        self._build_docks()
        self._default_layout = self._layout_state()

        self.run_bar = RunBar(self)
        self.settings_bar = SettingsBar(self)
        self.addToolBar(self.run_bar)
        self.addToolBarBreak()
        self.addToolBar(self.settings_bar)
        for bar in (self.run_bar, self.settings_bar):
            bar.command_requested.connect(lambda name, kwargs: self.send(name, **kwargs))
        self.addActions(self.run_bar.actions_by_name.values())  # keys work with the toolbar hidden
        self.addAction(QAction("Give the keys back to the window", self, shortcut=QKeySequence("Escape"),
                               triggered=self.give_keys_back))
        self._build_menus()
        self._build_status_bar()

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

    # -- docks and layout -----------------------------------------------------------------------
    def _build_docks(self) -> None:
        strip = Dock(STRIP_DOCK, widget=self.strip, size=(1600, 130), closable=True, fontSize=DOCK_FONT)
        self.area.addDock(strip, "top")
        self.docks[STRIP_DOCK] = strip
        by_title = {}
        for panel in self.panels:
            title = str(getattr(panel, "title", type(panel).__name__))
            # fixed horizontal titles: auto-orientation turns some sideways, which reads badly
            dock = Dock(title, widget=panel, size=(500, 400), closable=True, autoOrientation=False,
                        fontSize=DOCK_FONT)
            self.docks[title] = dock
            by_title[title] = dock
        placed: list[Dock] = []

        def find(name: str) -> Dock | None:
            for title, dock in self.docks.items():
                if title_matches(title, name):
                    return dock
            return None

        # The default arrangement: input and prediction left, maps and kernels in the middle,
        # pooling and gradients right, curves under the input. Unknown panels go to the bottom.
        plan = (("Feature maps", "bottom", STRIP_DOCK), ("Input", "left", "Feature maps"),
                ("Pooling", "right", "Feature maps"), ("Prediction", "bottom", "Input"),
                ("Curves", "bottom", "Prediction"), ("Kernels", "bottom", "Feature maps"),
                ("Gradients", "bottom", "Pooling"))
        for name, where, neighbour in plan:
            dock = find(name)
            if dock is None or dock is self.docks[STRIP_DOCK]:
                continue
            anchor = find(neighbour)
            if anchor is not None and anchor.container() is None:
                anchor = None   # its neighbour panel does not exist
            self.area.addDock(dock, where if anchor is not None else "bottom", anchor)
            placed.append(dock)
            if anchor is not None:
                self._home[dock.name()] = (where, anchor.name())
        for title, dock in by_title.items():
            if dock not in placed:
                self.area.addDock(dock, "bottom")
        for title, dock in self.docks.items():
            dock.sigClosed.connect(lambda _d, t=title: self._dock_closed(t))
            dock.label.setToolTip(f"{title}: drag this title bar to move the panel, onto another panel's "
                                  "title to stack them as tabs; ✕ closes it (View menu brings it back).")
        self._set_default_stretch()

    def _set_default_stretch(self) -> None:
        stretch = {STRIP_DOCK: (1600, 130), "Input": (440, 250), "Prediction": (440, 210), "Curves": (440, 310),
                   "Feature maps": (580, 420), "Kernels": (580, 350), "Pooling": (580, 420), "Gradients": (580, 350)}
        for title, dock in self.docks.items():
            for name, size in stretch.items():
                if title_matches(title, name):
                    dock.setStretch(*size)
                    break

    def dock_open(self, title: str) -> bool:
        """True when the dock is part of the window (not closed); it may still be a hidden tab."""
        return self.docks[title].container() is not None

    def show_dock(self, title: str, show: bool = True) -> None:
        """Reopen a closed dock (beside its default neighbour when that is open, else at the bottom)
        or close an open one; the View menu calls this."""
        dock = self.docks[title]
        if show and not self.dock_open(title):
            where, neighbour = self._home.get(title, ("bottom", None))
            if neighbour is None or not self.dock_open(neighbour) or self.docks[neighbour].area is not self.area:
                where, neighbour = "bottom", None
            self.area.addDock(dock, where, self.docks[neighbour] if neighbour else None)
            dock.label.show()
            dock.show()
            self._drawn.pop(title, None)
        elif not show and self.dock_open(title):
            dock.close()
        self._sync_view_action(title)

    def _dock_closed(self, title: str) -> None:
        self._sync_view_action(title)

    def _sync_view_action(self, title: str) -> None:
        action = self.view_actions.get(title) if hasattr(self, "view_actions") else None
        if action is not None:
            action.blockSignals(True)
            action.setChecked(self.dock_open(title))
            action.blockSignals(False)

    def _layout_state(self) -> dict:
        closed = [t for t in self.docks if not self.dock_open(t)]
        return {"version": LAYOUT_VERSION, "area": self.area.saveState(), "closed": closed}

    def _apply_layout_state(self, state: dict) -> None:
        for title in self.docks:           # restoreState only moves docks that are in the area
            if not self.dock_open(title):
                self.show_dock(title)
        self.area.restoreState(state["area"], missing="ignore", extra="bottom")
        for title in state.get("closed", []):
            if title in self.docks:
                self.show_dock(title, False)
        for title in self.docks:
            self._sync_view_action(title)

    def save_layout(self) -> None:
        self.settings.setValue("layout/docks", json.dumps(self._layout_state()))
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
        text = self.settings.value("layout/docks")
        if not text:
            return False
        try:
            state = json.loads(text)
            if state.get("version") != LAYOUT_VERSION:
                return False
            self._apply_layout_state(state)
            return True
        except Exception as exc:  # a damaged settings file must not keep the window from opening
            self.reset_layout()
            self.show_info(f"The saved window layout could not be restored ({exc}); using the default.")
            return False

    def reset_layout(self) -> None:
        self._apply_layout_state(self._default_layout)
        self._set_default_stretch()
        for bar in (self.run_bar, self.settings_bar):
            bar.show()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if not self._restored:  # splitter sizes follow the stretches only once the window has its size
                QTimer.singleShot(0, self._set_default_stretch)

    # -- menus and status bar ---------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open checkpoint…", self, shortcut=QKeySequence("Ctrl+O"),
                                   toolTip="Load weights and settings from a .npz checkpoint",
                                   triggered=self._ask_open_checkpoint)
        self.save_action = QAction("&Save checkpoint…", self, shortcut=QKeySequence("Ctrl+S"),
                                   toolTip="Save the weights, optimizer state and step to a .npz file",
                                   triggered=self._ask_save_checkpoint)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence("Ctrl+Q"), triggered=self.close)
        for action in (self.open_action, self.save_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)

        run_menu = self.menuBar().addMenu("&Run")
        for action in self.run_bar.actions_by_name.values():
            run_menu.addAction(action)

        view_menu = self.menuBar().addMenu("&View")
        self.view_actions: dict[str, QAction] = {}
        for title in self.docks:
            action = QAction(title, self, checkable=True, checked=self.dock_open(title))
            action.setToolTip(f"Show or hide the {title} panel")
            action.toggled.connect(lambda on, t=title: self.show_dock(t, on))
            view_menu.addAction(action)
            self.view_actions[title] = action
        view_menu.addSeparator()
        for bar in (self.run_bar, self.settings_bar):
            view_menu.addAction(bar.toggleViewAction())
        view_menu.addSeparator()
        self.reset_layout_action = QAction("Reset layout", self, triggered=self.reset_layout,
                                           toolTip="Put every panel back where it was at first start")
        view_menu.addAction(self.reset_layout_action)
        for menu in (file_menu, run_menu, view_menu):
            menu.setToolTipsVisible(True)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_fields: dict[str, QLabel] = {}
        tips = {"state": "What the trainer is doing", "step": "Optimizer updates applied so far",
                "epoch": "Passes over the training set", "loss": "Loss of the last batch",
                "speed": "Training images per second", "fps": "Panel redraws per second",
                "phase": "The step that just ran and its layer"}
        for name in ("state", "step", "epoch", "loss", "speed", "fps", "phase"):
            label = QLabel("")
            label.setToolTip(tips[name])
            label.setContentsMargins(6, 0, 6, 0)
            label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
            bar.addPermanentWidget(label)
            self.status_fields[name] = label
        font = bar.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        bar.setFont(font)
        self._update_status()

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
        for panel in self.panels:
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

    def request_probe(self, kind: str, value: int) -> None:
        """The Input panel's buttons: "next", "prev", "random", or "index" with the dataset index."""
        if kind == "index":
            self.send("set_probe", index=int(value))
        elif kind in ("next", "prev", "random"):
            self.send(f"probe_{kind}")

    def explain_unit(self, layer: int, channel: int, y: int, x: int) -> None:
        if self.latest is not None:
            self._explain(unit_sentence, layer, channel, y, x)

    def explain_weight(self, layer: int, out: int, channel: int, i: int, j: int) -> None:
        if self.latest is not None:
            self._explain(weight_sentence, layer, out, channel, i, j)

    def _explain(self, sentence, *where) -> None:
        try:
            text = sentence(self.latest, *where)
        except (IndexError, KeyError, ValueError, TypeError, AttributeError) as exc:
            text = f"No numbers to show for {where} in this snapshot ({exc})."
        self.messages.show_message(text, "info", seconds=30)

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
            self.settings_bar.set_values(snap.dataset or None, snap.preset or None, snap.lr or None)
        else:                  # nothing loaded at all: say how to go on, not "starting…" forever
            self.strip.set_empty_text("no network yet: choose a dataset in the Data box "
                                      "(digits is built in, no download needed)")
        self.statusBar().showMessage(text, 10000)

    def show_info(self, text: str) -> None:
        self.messages.show_message(text, "info")
        self.statusBar().showMessage(text, 6000)

    def _state_changed(self, state: str) -> None:
        self.run_bar.set_state(state)
        self._update_status()

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
        if not stagger:
            self.draw_panels()
        elif not self._stagger_pending:
            self._draw_staggered()
        self._update_status()

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
        self.strip.set_step(snap.phase, snap.layer_index, snap.batch_loss)
        self.settings_bar.set_values(snap.dataset or None, snap.preset or None, snap.lr or None)

    def panel_visible(self, title: str) -> bool:
        dock = self.docks[title]
        return dock.container() is not None and dock.isVisible() and not dock.visibleRegion().isEmpty()

    def _due_panels(self) -> list[tuple[QWidget, str]]:
        """The visible panels that do not yet show (newest snapshot, selected layer)."""
        key, now = (self.latest.seq, self.selected_layer), time.monotonic()
        due = []
        for panel in self.panels:
            title = str(getattr(panel, "title", type(panel).__name__))
            if self._drawn.get(title) != key and self.panel_visible(title) and self._due(panel, title, now):
                due.append((panel, title))
        return due

    def _draw_panel(self, panel, title: str) -> bool:
        snap, key = self.latest, (self.latest.seq, self.selected_layer)
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
        if not limit or self.latest.phase != "training" or drawn is None or drawn[1] != self.selected_layer:
            return True
        return now - self._drawn_at.get(title, 0.0) >= 1.0 / limit

    def panel_fps(self) -> float:
        now = time.monotonic()
        recent = [t for t in self._frame_times if now - t <= 2.0]
        if len(recent) < 2 or now - recent[0] <= 0:
            return 0.0
        return (len(recent) - 1) / max(now - recent[0], 1e-6)

    def _update_status(self) -> None:
        snap, fields = self.latest, self.status_fields
        fields["state"].setText(str(getattr(self.controller, "state", "")))
        fields["fps"].setText(f"{self.panel_fps():.0f} frames/s")
        if snap is None:
            fields["phase"].setText("starting…")
            return
        fields["step"].setText(f"step {snap.step}")
        fields["epoch"].setText(f"epoch {snap.epoch}")
        fields["loss"].setText("loss –" if snap.batch_loss is None else f"loss {snap.batch_loss:.4f}")
        fields["speed"].setText(f"{snap.images_per_second:,.0f} images/s")
        phase = snap.phase
        if snap.layer_index is not None and 0 <= snap.layer_index < len(snap.layers):
            layer = snap.layers[snap.layer_index]
            phase += f", layer {layer.index} ({layer.label})"
        fields["phase"].setText(phase)

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


def title_matches(title: str, name: str) -> bool:
    """Panel titles may say more than the layout plan's names: "Kernels (weights W)", "Training curves"."""
    return name.lower() in title.lower()


def first_layer_of(layers, kind: str) -> int | None:
    for layer in layers:
        if layer.kind == kind:
            return layer.index
    return 0 if layers else None


# -- what a click on a picture means: the numbers behind it, recomputed from the paper's equations ----
def conv_settings(label: str) -> tuple[int, int]:
    """(stride, padding) from a label such as "Conv 8@5x5 s1 p0"."""
    found = re.search(r"s(\d+) p(\d+)", label)
    return (int(found[1]), int(found[2])) if found else (1, 0)


def unit_sentence(snap, layer: int, channel: int, y: int, x: int) -> str:
    """One output unit of a layer: its value, and the sum or rule that made it (with the probe's numbers)."""
    st = snap.layers[layer]
    out = np.asarray(st.output)
    value = float(out[channel, y, x] if out.ndim == 3 else out[channel])
    where = f"map {channel}, row {y}, col {x}" if out.ndim == 3 else f"unit {channel}"
    parts = [f"Layer {layer} ({st.label}), {where}: {value:.4g}."]
    if st.kind == "conv" and st.input is not None:
        stride, pad = conv_settings(st.label)
        W, b = st.params["W"], st.params["b"]
        k = W.shape[-1]
        a = np.pad(st.input, ((0, 0), (pad, pad), (pad, pad)))[:, y * stride:y * stride + k, x * stride:x * stride + k]
        z = float(np.sum(W[channel] * a) + b[channel])
        parts.append(f"z = Σ w·a + b over input rows {y * stride - pad}..{y * stride - pad + k - 1}, cols "
                     f"{x * stride - pad}..{x * stride - pad + k - 1} of all {W.shape[1]} channels (eq. 6) = {z:.4g}.")
    elif st.kind == "dense" and st.input is not None:
        z = float(st.params["W"][channel] @ st.input + st.params["b"][channel])
        parts.append(f"z = W[{channel}]·a + b[{channel}] over {st.input.size} inputs (eq. 1) = {z:.4g}.")
    elif st.kind in ("relu", "sigmoid", "tanh") and st.input is not None:
        z = float(np.asarray(st.input)[(channel, y, x) if out.ndim == 3 else channel])
        rule = {"relu": "max(0, z)", "sigmoid": "1 / (1 + e^-z)", "tanh": "tanh(z)"}[st.kind]
        parts.append(f"a = {rule} with z = {z:.4g}.")
    elif st.kind in ("maxpool", "avgpool") and st.input is not None:
        size, stride = (int(n) for n in re.search(r"(\d+)x\d+ s(\d+)", st.label).groups())
        window = st.input[channel, y * stride:y * stride + size, x * stride:x * stride + size]
        if st.kind == "maxpool":
            r, c = np.unravel_index(int(np.argmax(window)), window.shape)
            parts.append(f"The max of its {size}x{size} window (eq. 29); the winner is input row "
                         f"{y * stride + r}, col {x * stride + c}, and only it receives this cell's gradient (eq. 30).")
        else:
            parts.append(f"The mean of its {size}x{size} window = {float(window.mean()):.4g}.")
    nxt = snap.layers[layer + 1] if layer + 1 < len(snap.layers) else None
    if nxt is not None and nxt.kind == "maxpool" and nxt.mask is not None and out.ndim == 3:
        won = bool(nxt.mask[channel, y, x])
        parts.append("It won its pooling window, so the gradient flows back through it." if won else
                     "It lost its pooling window, so it gets no gradient (eq. 30).")
    if st.dL_dout is not None:
        g = np.asarray(st.dL_dout)
        parts.append(f"dL/d(output) here = {float(g[channel, y, x] if g.ndim == 3 else g[channel]):.3g}.")
    return " ".join(parts)


def weight_sentence(snap, layer: int, out: int, channel: int, i: int, j: int) -> str:
    """One weight: its value, its gradient dL/dW and the last change ΔW."""
    st = snap.layers[layer]
    W = st.params["W"]
    if W.ndim == 4:
        index, name = (out, channel, i, j), f"W[{out}, {channel}, {i}, {j}] (filter {out}, input channel {channel})"
    elif channel == 0 and i == 0:
        index, name = (out, j), f"W[{out}, {j}] (unit {out}, input {j})"
    else:
        shape = next((s.input_shape for s in reversed(snap.layers[:layer]) if s.kind == "flatten"), None)
        flat = (channel * shape[1] + i) * shape[2] + j
        index, name = (out, flat), f"W[{out}, {flat}] (unit {out}, input map {channel} row {i} col {j})"
    parts = [f"Layer {layer} ({st.label}): {name} = {float(W[index]):.4g}."]
    if "W" in st.grads:
        parts.append(f"dL/dW = {float(st.grads['W'][index]):.3g} (batch mean).")
    if "W" in st.update:
        parts.append(f"Last update ΔW = {float(st.update['W'][index]):.3g}.")
    return " ".join(parts)

"""The window's docks: where each panel sits by default, the teaching docks (closed until the View
menu opens them), and the layout remembered between runs (a QSettings entry).

``DockLayoutMixin`` is part of MainWindow; it expects ``self.area`` (a DockArea), ``self.strip``,
``self.panels`` and ``self.settings``. ``TeachDocks`` feeds the teaching widgets from snapshots.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from pyqtgraph.dockarea import Dock
from PyQt6.QtCore import QByteArray, QTimer
from PyQt6.QtWidgets import QWidget

STRIP_DOCK = "Network"
DOCK_FONT = "14px"             # dock titles, readable on a projector
LAYOUT_VERSION = 3             # bump when the dock names or the default arrangement change
CONV_DOCK = "Convolution animation"
DRAW_DOCK = "Draw a digit"
STATS_DOCK = "Statistics"
COMPARE_DOCK = "Kernels now (live)"
COMPARE_MAPS_DOCK = "Feature maps now (live)"
COMPARE_DOCKS = (COMPARE_DOCK, COMPARE_MAPS_DOCK)   # the timeline's "now" side: K opens, leaving closes them
TEACH_DOCKS = (CONV_DOCK, DRAW_DOCK, STATS_DOCK, *COMPARE_DOCKS)
STATS_MAX_FPS = 2.0            # the statistics plots change slowly and cost ~10 ms to redraw

# The default arrangement: input and prediction left, maps and kernels in the middle, pooling and
# gradients right, curves under the input. Teaching docks open beside the panel they explain.
PLAN = (("Feature maps", "bottom", STRIP_DOCK), ("Input", "left", "Feature maps"),
        ("Pooling", "right", "Feature maps"), ("Prediction", "bottom", "Input"),
        ("Curves", "bottom", "Prediction"), ("Kernels", "bottom", "Feature maps"),
        ("Gradients", "bottom", "Pooling"))
TEACH_HOME = {CONV_DOCK: ("above", "Feature maps"), DRAW_DOCK: ("above", "Curves"),
              STATS_DOCK: ("above", "Gradients"), COMPARE_DOCK: ("right", "Kernels"),
              COMPARE_MAPS_DOCK: ("right", "Feature maps")}
STRETCH = {STRIP_DOCK: (1600, 130), "Input": (440, 250), "Prediction": (440, 210), "Curves": (440, 310),
           "Feature maps": (580, 420), "Kernels": (580, 350), "Pooling": (580, 420), "Gradients": (580, 350)}


def title_matches(title: str, name: str) -> bool:
    """Panel titles may say more than the layout plan's names: "Kernels (weights W)", "Training curves"."""
    return name.lower() in title.lower()


def panel_title(panel) -> str:
    return str(getattr(panel, "title", type(panel).__name__))


class DockLayoutMixin:
    """Docks, the View menu's show/hide, and layout save/restore for MainWindow."""

    def _build_docks(self, teach: dict[str, QWidget]) -> None:
        strip = Dock(STRIP_DOCK, widget=self.strip, size=(1600, 130), closable=True, fontSize=DOCK_FONT)
        self.area.addDock(strip, "top")
        self.docks[STRIP_DOCK] = strip
        for panel in self.panels:
            title = panel_title(panel)
            # fixed horizontal titles: auto-orientation turns some sideways, which reads badly
            self.docks[title] = Dock(title, widget=panel, size=(500, 400), closable=True,
                                     autoOrientation=False, fontSize=DOCK_FONT)
        placed = []
        for name, where, neighbour in PLAN:
            dock, anchor = self.find_dock(name), self.find_dock(neighbour)
            if dock is None or dock is strip:
                continue
            if anchor is not None and anchor.container() is None:
                anchor = None   # its neighbour panel does not exist
            self.area.addDock(dock, where if anchor is not None else "bottom", anchor)
            placed.append(dock)
            if anchor is not None:
                self._home[dock.name()] = (where, anchor.name())
        for title, dock in list(self.docks.items()):
            if dock is not strip and dock not in placed:
                self.area.addDock(dock, "bottom")
        for title, widget in teach.items():
            dock = Dock(title, widget=widget, size=(500, 400), closable=True, autoOrientation=False,
                        fontSize=DOCK_FONT)
            self.docks[title] = dock
            where, neighbour = TEACH_HOME.get(title, ("bottom", None))
            anchor = self.find_dock(neighbour) if neighbour else None
            if anchor is not None and anchor.container() is not None:
                self._home[title] = (where, anchor.name())
            self.area.addDock(dock, "bottom")
            dock.close()        # closed by default: the View menu opens them
        for title, dock in self.docks.items():
            dock.sigClosed.connect(lambda _d, t=title: self._dock_closed(t))
            dock.label.setToolTip(f"{title}: drag this title bar to move the panel, onto another panel's "
                                  "title to stack them as tabs; ✕ closes it (View menu brings it back).")
        self._set_default_stretch()

    def find_dock(self, name: str | None) -> Dock | None:
        if name is None:
            return None
        if name in self.docks:
            return self.docks[name]
        return next((d for t, d in self.docks.items() if title_matches(t, name)), None)

    def _set_default_stretch(self) -> None:
        for title, dock in self.docks.items():
            size = STRETCH.get(title) or next((s for n, s in STRETCH.items() if title_matches(title, n)), None)
            if size and title not in TEACH_DOCKS:
                dock.setStretch(*size)

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
            if hasattr(self, "teach"):
                self.teach.forget(title)
            if getattr(self, "lecture", None) is not None and self.lecture.enabled:
                self.lecture.apply_to(dock)     # a closed dock was outside the window when it grew
        elif not show and self.dock_open(title):
            dock.close()
            # closed, a dock is a parentless widget: hidden explicitly, or a show still pending from
            # its last move (restoreState) would pop it up as a window of its own
            dock.hide()
            dock.label.hide()
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
        for bar in self.toolbars():
            bar.show()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if not self._restored:  # splitter sizes follow the stretches only once the window has its size
                QTimer.singleShot(0, self._set_default_stretch)


def validation_for_panel(validation: dict) -> dict:
    """The worker's validation dict (confusion, labels, predicted, ...) with what StatsPanel also
    reads: ``wrong`` (indices of the misclassified) and ``accuracy``."""
    stats = dict(validation)
    labels = np.asarray(stats.get("labels", ()))
    predicted = np.asarray(stats.get("predicted", ()))
    if "wrong" not in stats:
        stats["wrong"] = np.flatnonzero(labels != predicted) if labels.size else np.zeros(0, np.int64)
    if "accuracy" not in stats:
        confusion = np.asarray(stats["confusion"])
        stats["accuracy"] = float(np.trace(confusion) / max(1, confusion.sum()))
    return stats


class TeachDocks:
    """Feeds the teaching docks from the window's snapshots, only while they are visible:
    the statistics panel (``snapshot.stats``, ``snapshot.validation``), the convolution animation
    (the selected conv layer's kernel, when the layer changes and it is not playing) and the
    "kernels now" and "feature maps now" panels of the timeline comparison (always the live snapshot)."""

    def __init__(self, window, conv, draw, stats, compare, compare_maps=None) -> None:
        self.window = window
        self.conv, self.draw, self.stats, self.compare = conv, draw, stats, compare
        self.compare_maps = compare_maps
        self._fed: dict[str, object] = {}
        self._stats_at = 0.0

    def widgets(self) -> dict[str, QWidget]:
        found = {CONV_DOCK: self.conv, DRAW_DOCK: self.draw, STATS_DOCK: self.stats, COMPARE_DOCK: self.compare,
                 COMPARE_MAPS_DOCK: self.compare_maps}
        return {title: widget for title, widget in found.items() if widget is not None}

    def forget(self, title: str) -> None:
        self._fed.pop(title, None)

    def forget_all(self) -> None:
        self._fed.clear()

    def feed(self) -> None:
        window = self.window
        shown, live = window.shown_snapshot(), window.latest
        if shown is None:
            return
        if self.stats is not None and window.panel_visible(STATS_DOCK):
            self._feed_stats(shown)
        if self.conv is not None and window.panel_visible(CONV_DOCK):
            key = (id(shown.layers), window.selected_layer)
            if self._fed.get(CONV_DOCK) is None or (self._fed[CONV_DOCK][1] != key[1] and not self.conv.timer.isActive()):
                self._fed[CONV_DOCK] = key
                self.conv.use_snapshot(shown, window.selected_layer)
        for title, widget in ((COMPARE_DOCK, self.compare), (COMPARE_MAPS_DOCK, self.compare_maps)):
            if widget is not None and window.panel_visible(title) and live is not None:
                key = (live.seq, window.selected_layer)
                if self._fed.get(title) != key:
                    self._fed[title] = key
                    widget.show_snapshot(live, window.selected_layer)

    def _feed_stats(self, snap) -> None:
        history = getattr(snap, "stats", None) or ()
        now = time.monotonic()
        slow = snap.phase == "training" and now - self._stats_at < 1.0 / STATS_MAX_FPS
        if history and self._fed.get(STATS_DOCK) is not history and not slow:
            self._fed[STATS_DOCK] = history
            self._stats_at = now
            self.stats.set_history(list(history))
        validation = getattr(snap, "validation", None)
        if validation and self._fed.get("validation") is not validation:
            self._fed["validation"] = validation
            images = validation.get("images")
            self.stats.set_validation(validation_for_panel(validation), images, validation.get("labels"),
                                      snap.class_names or None)


def make_teach_docks(window) -> TeachDocks:
    """The teaching widgets (issue 6) for their docks; any that cannot be built is left out."""
    widgets = {}
    for name, build in (("conv", "cnnviz.gui.teach.conv_animation:ConvAnimation"),
                        ("draw", "cnnviz.gui.teach.draw_digit:DrawDigitCanvas"),
                        ("stats", "cnnviz.gui.teach.stats_panel:StatsPanel"),
                        ("compare", "cnnviz.gui.panels:KernelsPanel"),
                        ("compare_maps", "cnnviz.gui.panels:FeatureMapsPanel")):
        module, cls = build.split(":")
        try:
            widgets[name] = getattr(__import__(module, fromlist=[cls]), cls)()
        except Exception as exc:  # a broken teaching tool must not keep the window from opening
            print(f"cnnviz: the {name} dock is left out ({type(exc).__name__}: {exc})", file=sys.stderr)
            widgets[name] = None
    for name, title in (("compare", COMPARE_DOCK), ("compare_maps", COMPARE_MAPS_DOCK)):
        if widgets[name] is not None:
            widgets[name].title = title
    return TeachDocks(window, **widgets)

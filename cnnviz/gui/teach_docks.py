"""TeachDocks: the teaching widgets of issue 6 in their docks (closed until the View menu opens them),
fed from the window's snapshots only while they are visible: the statistics panel
(``snapshot.stats``, ``snapshot.validation``), the convolution animation (the selected conv layer's
kernel, when the layer changes and it is not playing) and the "kernels now" and "feature maps now"
panels of the timeline comparison (always the live snapshot)."""

from __future__ import annotations

import sys
import time
from typing import Callable

import numpy as np
from PyQt6.QtWidgets import QWidget

from cnnviz.gui import theme
from cnnviz.gui.dock_layout import COMPARE_DOCK, COMPARE_MAPS_DOCK, CONV_DOCK, DRAW_DOCK, STATS_DOCK

STATS_MAX_FPS = 2.0            # the statistics plots change slowly and cost ~10 ms to redraw


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
    """The teaching widgets (any may be None: it could not be built) and what each was last fed."""

    def __init__(self, conv=None, draw=None, stats=None, compare=None, compare_maps=None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.conv, self.draw, self.stats, self.compare = conv, draw, stats, compare
        self.compare_maps = compare_maps
        self.clock = clock
        self._fed: dict[str, object] = {}
        self._stats_at = float("-inf")

    def widgets(self) -> dict[str, QWidget]:
        """Dock title -> widget, for those that exist."""
        found = {CONV_DOCK: self.conv, DRAW_DOCK: self.draw, STATS_DOCK: self.stats, COMPARE_DOCK: self.compare,
                 COMPARE_MAPS_DOCK: self.compare_maps}
        return {title: widget for title, widget in found.items() if widget is not None}

    def panels(self) -> list[QWidget]:
        """The widgets with clicks and boxes of their own (the window wires them like the panels)."""
        return [w for w in (self.compare, self.compare_maps, self.stats, self.conv) if w is not None]

    def forget(self, title: str | None = None) -> None:
        """Feed ``title`` (None: all) again at the next ``feed``."""
        if title is None:
            self._fed.clear()
        else:
            self._fed.pop(title, None)

    def apply_theme(self, look: theme.Theme) -> None:
        """The panels of the comparison take ``look`` whole; the rest only its palette (they keep
        the base text sizes: lecture mode zooms them as a whole)."""
        for widget in (self.compare, self.compare_maps):
            if widget is not None:
                widget.apply_theme(look)
        for widget in (self.stats, self.conv):
            if widget is not None:
                widget.apply_theme(look.scaled(1.0))
        self.forget()

    def feed(self, shown, live, layer: int | None, visible: Callable[[str], bool]) -> None:
        """Give each visible teaching widget what it shows: ``shown`` is the snapshot the panels
        show (maybe an older one of the timeline), ``live`` the newest."""
        if shown is None:
            return
        if self.stats is not None and visible(STATS_DOCK):
            self._feed_stats(shown)
        if self.conv is not None and visible(CONV_DOCK):
            key = (id(shown.layers), layer)
            fed = self._fed.get(CONV_DOCK)
            if fed is None or (fed[1] != layer and not self.conv.timer.isActive()):
                self._fed[CONV_DOCK] = key
                self.conv.use_snapshot(shown, layer)
        for title, widget in ((COMPARE_DOCK, self.compare), (COMPARE_MAPS_DOCK, self.compare_maps)):
            if widget is not None and live is not None and visible(title):
                key = (live.seq, layer)
                if self._fed.get(title) != key:
                    self._fed[title] = key
                    widget.show_snapshot(live, layer)

    def _feed_stats(self, snap) -> None:
        history = getattr(snap, "stats", None) or ()
        now = self.clock()
        slow = snap.phase == "training" and now - self._stats_at < 1.0 / STATS_MAX_FPS
        if history and self._fed.get(STATS_DOCK) is not history and not slow:
            self._fed[STATS_DOCK] = history
            self._stats_at = now
            self.stats.set_history(list(history))
        validation = getattr(snap, "validation", None)
        if validation and self._fed.get("validation") is not validation:
            self._fed["validation"] = validation
            self.stats.set_validation(validation_for_panel(validation), validation.get("images"),
                                      validation.get("labels"), snap.class_names or None)


def make_teach_docks(clock: Callable[[], float] = time.monotonic) -> TeachDocks:
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
    return TeachDocks(**widgets, clock=clock)

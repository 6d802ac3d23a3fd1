"""DockLayout: the window's docks (the network strip, one per panel, the teaching docks), where each
sits by default, which are open, and the arrangement as a plain dict (``state()`` / ``restore()``),
kept between runs in a QSettings entry. Everything that moves, tabs or measures docks goes through
it: lecture mode and the timeline use its public methods, never the dock area's insides.
"""

from __future__ import annotations

import json

from pyqtgraph.dockarea import Dock, DockArea
from PyQt6.QtCore import QObject, QSettings, Qt, pyqtSignal
from PyQt6.QtWidgets import QSizePolicy, QWidget

from cnnviz.gui.pg_compat import set_dock_title_px
from cnnviz.gui.scheduler import panel_title, title_matches

STRIP_DOCK = "Network"
DOCK_FONT_PX = 14              # dock titles, readable on a projector
LAYOUT_VERSION = 3             # bump when the dock names or the default arrangement change
CONV_DOCK = "Convolution animation"
DRAW_DOCK = "Draw a digit"
STATS_DOCK = "Statistics"
COMPARE_DOCK = "Kernels now (live)"
COMPARE_MAPS_DOCK = "Feature maps now (live)"
COMPARE_DOCKS = (COMPARE_DOCK, COMPARE_MAPS_DOCK)   # the timeline's "now" side: K opens, leaving closes them
TEACH_DOCKS = (CONV_DOCK, DRAW_DOCK, STATS_DOCK, *COMPARE_DOCKS)

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


class DockLayout(QObject):
    """The docks of ``area``: ``strip`` on top, ``panels`` placed by PLAN, the ``teach`` widgets
    (title -> widget) closed until asked for.

    Signals: ``opened(title)`` a closed dock came back (it needs drawing: it was not drawn while
    closed); ``open_changed(title, is_open)`` after every open or close (menus follow it)."""

    opened = pyqtSignal(str)
    open_changed = pyqtSignal(str, bool)

    def __init__(self, area: DockArea, strip: QWidget, panels, teach: dict[str, QWidget],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.area = area
        self.docks: dict[str, Dock] = {}
        self._home: dict[str, tuple[str, str]] = {}   # title -> (side, neighbour) in the default layout
        self._titles_before: dict[str, tuple] = {}    # title -> its label's (policy, alignment) before shrinking
        self._build(strip, list(panels), teach)
        self._default = self.state()

    # -- building -------------------------------------------------------------------------------
    def _new_dock(self, title: str, widget: QWidget, size=(500, 400), turns: bool = False) -> Dock:
        # fixed horizontal titles for the panels: auto-orientation turns some sideways, which reads
        # badly; the strip's (``turns``) stands at its left, where a wide, low dock has room for it
        dock = Dock(title, widget=widget, size=size, closable=True, autoOrientation=turns,
                    fontSize=f"{DOCK_FONT_PX}px")
        dock.label.setToolTip(f"{title}: drag this title bar to move the panel, onto another panel's "
                              "title to stack them as tabs; ✕ closes it (View menu brings it back).")
        dock.sigClosed.connect(lambda _d, t=title: self.open_changed.emit(t, False))
        self.docks[title] = dock
        return dock

    def _build(self, strip: QWidget, panels: list, teach: dict[str, QWidget]) -> None:
        self.area.addDock(self._new_dock(STRIP_DOCK, strip, size=(1600, 130), turns=True), "top")
        for panel in panels:
            self._new_dock(panel_title(panel), panel)
        placed = {STRIP_DOCK}
        for name, where, neighbour in PLAN:
            dock, anchor = self.find(name), self.find(neighbour)
            if dock is None or dock.name() in placed:
                continue
            if anchor is not None and anchor.container() is None:
                anchor = None   # its neighbour panel does not exist
            self.area.addDock(dock, where if anchor is not None else "bottom", anchor)
            placed.add(dock.name())
            if anchor is not None:
                self._home[dock.name()] = (where, anchor.name())
        for title, dock in list(self.docks.items()):
            if title not in placed:
                self.area.addDock(dock, "bottom")
        for title, widget in teach.items():
            dock = self._new_dock(title, widget)
            where, neighbour = TEACH_HOME.get(title, ("bottom", None))
            anchor = self.find(neighbour) if neighbour else None
            if anchor is not None and anchor.container() is not None:
                self._home[title] = (where, anchor.name())
            self.area.addDock(dock, "bottom")
            dock.close()        # closed by default: the View menu opens them
        self.set_default_stretch()

    # -- finding and showing --------------------------------------------------------------------
    def find(self, name: str | None) -> Dock | None:
        """The dock called ``name``, else the first whose title contains it ("Kernels" finds
        "Kernels (weights W)")."""
        if name is None:
            return None
        if name in self.docks:
            return self.docks[name]
        return next((d for t, d in self.docks.items() if title_matches(t, name)), None)

    def widget(self, title: str) -> QWidget:
        return self.docks[title].widgets[0]

    def is_open(self, title: str) -> bool:
        """True when the dock is part of the window (not closed); it may still be a hidden tab."""
        return self.docks[title].container() is not None

    def is_visible(self, title: str) -> bool:
        """Open, shown and not covered (a tab behind another is not visible)."""
        dock = self.docks[title]
        return dock.container() is not None and dock.isVisible() and not dock.visibleRegion().isEmpty()

    def in_main_area(self, title: str) -> bool:
        """Open in the window itself (not floating in a window of its own)."""
        return self.is_open(title) and self.docks[title].area is self.area

    def show(self, title: str, on: bool = True) -> None:
        """Reopen a closed dock (beside its default neighbour when that is open, else at the bottom)
        or close an open one."""
        dock = self.docks[title]
        if on and not self.is_open(title):
            where, neighbour = self._home.get(title, ("bottom", None))
            if neighbour is None or not self.in_main_area(neighbour):
                where, neighbour = "bottom", None
            self.area.addDock(dock, where, self.docks[neighbour] if neighbour else None)
            dock.label.show()
            dock.show()
            self.opened.emit(title)
            self.open_changed.emit(title, True)
        elif not on and self.is_open(title):
            dock.close()        # emits sigClosed -> open_changed
            # closed, a dock is a parentless widget: hidden explicitly, or a show still pending from
            # its last move (restoreState) would pop it up as a window of its own
            dock.hide()
            dock.label.hide()

    def set_title(self, title: str, text: str) -> None:
        """What the dock's title bar says (``title`` stays its name)."""
        self.docks[title].setTitle(text)

    def title_text(self, title: str) -> str:
        return self.docks[title].label.text()

    # -- the arrangement ------------------------------------------------------------------------
    def state(self) -> dict:
        """The arrangement as plain data (JSON-able): every dock's place and size, and which are closed."""
        closed = [t for t in self.docks if not self.is_open(t)]
        return {"version": LAYOUT_VERSION, "area": self.area.saveState(), "closed": closed}

    def default_state(self) -> dict:
        return self._default

    def restore(self, state: dict) -> None:
        """Put the docks as ``state`` (from ``state()``) says; docks it does not know go to the bottom."""
        for title in self.docks:           # restoreState only moves docks that are in the area
            if not self.is_open(title):
                self.show(title)
        self.area.restoreState(state["area"], missing="ignore", extra="bottom")
        for title in state.get("closed", []):
            if title in self.docks:
                self.show(title, False)
        for title in self.docks:
            self.open_changed.emit(title, self.is_open(title))

    def reset(self) -> None:
        """The first-start arrangement, every panel open, every teaching dock closed."""
        self.restore(self._default)
        self.set_default_stretch()

    def set_default_stretch(self) -> None:
        for title, dock in self.docks.items():
            size = STRETCH.get(title) or next((s for n, s in STRETCH.items() if title_matches(title, n)), None)
            if size and title not in TEACH_DOCKS:
                dock.setStretch(*size)

    def save(self, settings: QSettings) -> None:
        settings.setValue("layout/docks", json.dumps(self.state()))

    def load(self, settings: QSettings) -> bool:
        """Restore the arrangement saved in ``settings``; False (and the default kept) when there is
        none or it is from another version. A damaged entry raises ValueError."""
        text = settings.value("layout/docks")
        if not text:
            return False
        state = json.loads(text)
        if not isinstance(state, dict) or state.get("version") != LAYOUT_VERSION:
            return False
        self.restore(state)
        return True

    def close_floating(self) -> None:
        """Close the windows of floating docks (they would outlive the main window)."""
        for area in list(self.area.tempAreas):
            area.win.close()

    def floating_titles(self) -> list[list[str]]:
        """The dock titles of each floating window."""
        return [list(area.findAll()[1]) for area in self.area.tempAreas]

    # -- for lecture mode -----------------------------------------------------------------------
    def tab(self, behind: str, front: str) -> bool:
        """Stack dock ``behind`` as a tab behind ``front`` (both open in the window); True if done."""
        back, ahead = self.find(behind), self.find(front)
        if back is None or ahead is None or not (self.in_main_area(back.name()) and self.in_main_area(ahead.name())):
            return False
        self.area.moveDock(back, "above", ahead)
        ahead.raiseDock()
        return True

    def is_tabbed(self, name: str) -> bool:
        dock = self.find(name)
        container = dock.container() if dock is not None else None
        return container is not None and container.type() == "tab"

    def in_front(self, name: str) -> bool:
        """Open and not behind another tab."""
        dock = self.find(name)
        container = dock.container() if dock is not None else None
        return container is not None and (container.type() != "tab" or container.stack.currentWidget() is dock)

    def bring_to_front(self, name: str) -> None:
        """Raise a tabbed dock above its tab stack (a dock that is not tabbed is left as it is)."""
        dock = self.find(name)
        if dock is not None and self.is_tabbed(name) and not self.in_front(name):
            dock.raiseDock()

    def share_columns(self, shares) -> bool:
        """Give the first split of len(shares) docks side by side (the panel columns) those shares of
        its width; True when there was one."""
        todo = [self.area.topContainer]
        while todo:
            container = todo.pop(0)
            if container is None or not hasattr(container, "type"):
                continue
            if container.type() == "horizontal" and container.count() == len(shares):
                total = sum(container.sizes())
                container.setSizes([int(share * total) for share in shares])
                return True
            if container.type() in ("vertical", "horizontal"):
                todo += [container.widget(i) for i in range(container.count())]
        return False

    def set_title_font_px(self, px: int, title: str | None = None) -> None:
        """Every dock's title bar (or ``title``'s) in ``px``-pixel type."""
        for dock in [self.docks[title]] if title else self.docks.values():
            set_dock_title_px(dock, px)

    def let_titles_shrink(self, on: bool) -> None:
        """On: a title bar may be narrower than its text (a tab's keeps the start of its title), so
        three columns of grown titles still fit a 1024-px projector. Off: as before."""
        if on:
            for title, dock in self.docks.items():
                label = dock.label
                self._titles_before.setdefault(title, (label.sizePolicy().horizontalPolicy(), label.alignment()))
                policy = label.sizePolicy()
                policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
                label.setSizePolicy(policy)
                if self.is_tabbed(title):      # cut short: keep the start of the title
                    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            return
        for title, (horizontal, alignment) in self._titles_before.items():
            label = self.docks[title].label
            policy = label.sizePolicy()
            policy.setHorizontalPolicy(horizontal)
            label.setSizePolicy(policy)
            label.setAlignment(alignment)
        self._titles_before = {}

"""Lecture mode: everything larger for a projector, full screen, colour-blind-safe colours, and a
large-type caption saying what the step on screen does ("Backward: max-pool routes dL/da to the
winners").

It works from outside the panels: Qt widgets get scaled fonts, every pyqtgraph canvas is zoomed as a
whole (its scene drawn ``scale`` times larger, so tick labels, titles, numbers and images all grow
together), and the panels get a new Theme (colour-blind palette, text 1.5x) through the window's
``apply_theme``. It changes the window only through public methods (see ``LectureHost``).
``phase_caption(snapshot)`` is Qt-free text.
"""

from __future__ import annotations

from typing import Protocol

import pyqtgraph as pg
from pyqtgraph.dockarea import Dock
from PyQt6 import sip
from PyQt6.QtCore import QCoreApplication, QEvent, QObject, QSize, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QFont, QFontMetrics, QKeySequence
from PyQt6.QtWidgets import QComboBox, QLabel, QMenu, QToolBar, QWidget

from cnnviz.gui import theme
from cnnviz.gui.dock_layout import DOCK_FONT_PX, DockLayout
from cnnviz.gui.pg_compat import Zoom

LECTURE_SCALE = 1.5
# Grown 1.5x, seven panels do not fit a projector: these go behind the panel they explain, as tabs
# (the step-by-step pictures stay in front); leaving lecture mode puts the layout back
LECTURE_TABS = (("Kernels", "Feature maps"), ("Gradients", "Pooling"), ("Curves", "Prediction"))
# Grown 1.5x, every drop-down box and every tab title kept its whole text's width as its minimum: with
# three columns of them the window could not be narrower than 1263 px, wider than a 1024x768 projector.
# In lecture mode, when the window is narrow, a drop-down may shrink to this many characters (its list
# still shows every item) and a tab title may be cut short.
LECTURE_COMBO_CHARS = 6
COMBO_ARROW_PX = 36            # the box's frame and drop-down arrow
# What the step on screen explains, brought to the front of its tab stack as the walk goes on
FRONT_FORWARD = ("Feature maps", "Pooling")
FRONT_BACKWARD = ("Gradients",)
FRONT_POOL_BACKWARD = ("Pooling",)       # its picture is the routing the caption describes (eq. 30)
# On a projector the columns share the width like this (the everyday layout gives the left column
# more, and at 1.5x the Input panel's buttons alone made it 441 px wide at 1024, leaving the feature
# maps 220): the Input panel's browsing buttons are hidden in lecture mode (the lecture shows one
# probe; leaving lecture mode brings them back) and the columns are set to these shares.
LECTURE_COLUMNS = (0.28, 0.36, 0.36)
# a panel's caption is a paragraph: grown as much as the rest, it would leave its picture no room
PARAGRAPH_SCALE = 1.2

FORWARD = {
    "conv": "Forward: {label} slides each kernel over its input, z = Σ w·a + b (eq. 6)",
    "dense": "Forward: {label} computes z = W a + b (eq. 1)",
    "relu": "Forward: ReLU keeps the positive values, a = max(0, z)",
    "sigmoid": "Forward: sigmoid squashes z into 0..1, a = 1 / (1 + e^−z)",
    "tanh": "Forward: tanh squashes z into −1..1",
    "maxpool": "Forward: max-pool keeps the largest value of each window (eq. 29)",
    "avgpool": "Forward: average pooling keeps the mean of each window",
    "flatten": "Forward: flatten lays the maps out as one long vector",
}
BACKWARD = {
    "conv": "Backward: {label}: dL/dW sums input × dL/dz over every position (eq. 11)",
    "dense": "Backward: {label}: dL/dW = dL/dz aᵀ, dL/da = Wᵀ dL/dz (eq. 2, 3)",
    "relu": "Backward: ReLU lets dL/da through only where z > 0",
    "sigmoid": "Backward: sigmoid multiplies dL/da by a(1 − a), at most 0.25",
    "tanh": "Backward: tanh multiplies dL/da by 1 − a²",
    "maxpool": "Backward: max-pool routes dL/da to the winners (eq. 30)",
    "avgpool": "Backward: average pooling shares dL/da equally over each window",
    "flatten": "Backward: flatten folds the gradient back into maps",
}


def phase_caption(snapshot) -> str:
    """One large-type line saying what the step on screen did."""
    if snapshot is None:
        return "Loading the data and building the network…"
    if snapshot.message.startswith("Bookmark · "):   # a replay's bookmark (gui/replay.py): its caption
        return snapshot.message
    phase, index = snapshot.phase, snapshot.layer_index
    layer = snapshot.layers[index] if index is not None and 0 <= index < len(snapshot.layers) else None
    if phase in ("forward", "backward") and layer is not None:
        text = (FORWARD if phase == "forward" else BACKWARD).get(layer.kind, f"{phase.title()}: {{label}}")
        return f"Layer {layer.index} · " + text.format(label=layer.label)
    if phase == "loss":
        loss = "" if snapshot.batch_loss is None else f" = {snapshot.batch_loss:.3f}"
        return f"Loss: softmax gives probabilities p; cross-entropy L = −log p(true class){loss}; dL/dz = p − y"
    if phase == "update":
        return f"Update: every weight moves by ΔW (step {snapshot.step}, learning rate {snapshot.lr:g})"
    if phase == "training":
        loss = "" if snapshot.batch_loss is None else f", loss {snapshot.batch_loss:.3f}"
        return f"Training: step {snapshot.step}{loss}, {snapshot.images_per_second:,.0f} images/s"
    return "Paused: Space trains, → steps the forward pass one layer at a time"


def scaled(font: QFont, factor: float) -> QFont:
    font = QFont(font)
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * factor)
    elif font.pixelSize() > 0:
        font.setPixelSize(round(font.pixelSize() * factor))
    return font


class _ComboSizeFix(QObject):
    """Qt forgets a drop-down box's cached minimum size only on a style change, not on a font
    change: after lecture mode every grown box kept its 1.5x minimum and the window stayed too
    wide. A new font is followed by a style-change event, which clears both cached sizes."""

    def eventFilter(self, combo, event) -> bool:
        if event.type() == QEvent.Type.FontChange and isinstance(combo, QComboBox):
            QCoreApplication.postEvent(combo, QEvent(QEvent.Type.StyleChange))
        return False


def forget_size(combo: QComboBox) -> None:
    QCoreApplication.sendEvent(combo, QEvent(QEvent.Type.StyleChange))
    combo.updateGeometry()


class LectureHost(Protocol):
    """What lecture mode changes, all public: the main window (a QMainWindow: fonts, size, full
    screen) with its ``dock_layout``, ``toolbars()`` (the run bar first), ``run_bar``, ``panels``,
    the ``theme`` it draws with and ``apply_theme``, ``self_scaling()`` (the widgets that grow their
    own text with a theme, left alone here) and ``draw_panels()``."""

    dock_layout: DockLayout
    run_bar: QToolBar
    panels: list
    theme: theme.Theme

    def toolbars(self) -> list: ...

    def apply_theme(self, look: theme.Theme) -> None: ...

    def self_scaling(self) -> list: ...

    def draw_panels(self) -> int: ...


class LectureMode(QObject):
    """``set_enabled(on)``: fonts and canvases x ``scale``, full screen (``full_screen``), colour-blind
    maps and the caption; off puts everything back. ``set_colour_blind(on)`` alone switches the maps.
    ``apply_to(widget)``: scale a window opened later (an explain dialog) while lecture mode is on.
    ``action`` (F11) and ``colour_blind_action`` (Ctrl+B) are their checkable menu entries; signal
    ``enabled_changed(bool)`` after each switch."""

    enabled_changed = pyqtSignal(bool)

    def __init__(self, host: LectureHost, scale: float = LECTURE_SCALE) -> None:
        super().__init__(host)
        self.host = host
        self.scale_factor = scale
        self.enabled = False
        self.colour_blind = False
        self.full_screen = True
        self._cb_before = False
        self._fonts: list[tuple[QWidget, QFont, bool]] = []
        self._views: list[pg.GraphicsView] = []
        self._minimums: list[tuple[pg.GraphicsView, QSize]] = []
        self._zoomer = Zoom(scale)
        self._was_maximized = False
        self._bars_hidden: list[QToolBar] = []
        self._layout_before: dict | None = None
        self._combos: list[tuple[QComboBox, int]] = []
        self._combo_fix = _ComboSizeFix()
        self._front: tuple[str, ...] = ()
        self._size_before: QSize | None = None
        self.busy = False        # a switch's follow-up (on later turns of the event loop) is not done yet
        self.caption = QLabel("")
        self.caption.setObjectName("lecture_caption")
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setStyleSheet("QLabel#lecture_caption { background:#1f2a44; color:#ffffff; padding:2px; }")
        font = QFont()
        font.setPointSizeF(16)
        font.setBold(True)
        self.caption.setFont(font)
        self.caption.hide()
        self.action = QAction("Lecture mode", host, checkable=True, shortcut=QKeySequence("F11"),
                              toolTip="Everything 1.5x larger, full screen, colour-blind-safe colours "
                                      "and a large caption of each step (F11)",
                              triggered=self.set_enabled)
        self.colour_blind_action = QAction("Colour-blind-safe colours", host, checkable=True,
                                           shortcut=QKeySequence("Ctrl+B"),
                                           toolTip="Blue-orange and cividis colour maps, no red against green (Ctrl+B)",
                                           triggered=self.set_colour_blind)

    @property
    def scale(self) -> float:
        return self.scale_factor if self.enabled else 1.0

    def set_enabled(self, on: bool) -> None:
        on = bool(on)
        if on != self.enabled:
            self._switch(on)
        checked(self.action, self.enabled)
        self.enabled_changed.emit(self.enabled)

    def _switch(self, on: bool) -> None:
        host = self.host
        self.enabled = on
        self.busy = True
        if on:
            self._size_before = host.size()
            self._cb_before = self.colour_blind
            self._layout_before = host.dock_layout.state()
            for back, front in LECTURE_TABS:
                host.dock_layout.tab(back, front)
            self._front = ()
            self._let_titles_and_boxes_shrink()
            self.colour_blind = True
            checked(self.colour_blind_action, True)
            host.apply_theme(theme.make_theme("colorblind", self.scale_factor))   # the panels grow their own text
            self.apply_to(host)
            # the settings and timeline bars give their rows to the panels (their keys still work)
            self._bars_hidden = [bar for bar in host.toolbars()[1:] if bar.isVisible()]
            for bar in self._bars_hidden:
                bar.hide()
            self.caption.show()
            if self.full_screen:
                self._was_maximized = host.isMaximized()
                host.showFullScreen()
            self._fit_run_bar()
            self._set_browsing_controls(False)
            QTimer.singleShot(0, self._balance_columns)   # once the grown fonts have been laid out
        else:
            self._set_browsing_controls(True)
            self._restore()
            host.dock_layout.let_titles_shrink(False)
            self.colour_blind = self._cb_before
            checked(self.colour_blind_action, self.colour_blind)
            host.apply_theme(theme.make_theme("colorblind" if self.colour_blind else "default", 1.0))
            if self._layout_before is not None:
                host.dock_layout.restore(self._layout_before)
                self._layout_before = None
            for bar in self._bars_hidden:
                bar.show()
            self.caption.hide()
            if host.isFullScreen():
                host.showMaximized() if self._was_maximized else host.showNormal()
            QTimer.singleShot(0, self._shrink_back)

    def _shrink_back(self) -> None:
        """The window had grown with its contents. Once the restored layout is in place, every panel
        is redrawn at once (not one per tick: each grown panel keeps the window wide until it is);
        once the boxes' sizes are forgotten (posted events), the window gets its size from before
        lecture mode back."""
        if self.enabled or sip.isdeleted(self.host):    # on again, or the window closed meanwhile
            self.busy = self.enabled and self.busy
            return
        self.host.draw_panels()
        QTimer.singleShot(0, self._give_back_size)

    def _give_back_size(self) -> None:
        if self.enabled or sip.isdeleted(self.host):
            return
        self._restore_boxes()
        host = self.host
        if self._size_before is not None and not (host.isMaximized() or host.isFullScreen()):
            host.resize(self._size_before)
        self.busy = False

    def _fit_run_bar(self) -> None:
        """The run bar's text grows less than 1.5x when that is what it takes to keep every button
        in view (1.5x it is ~1230 px wide: Reset and Lecture mode went into its "»" menu at 1024)."""
        host, bar = self.host, self.host.run_bar
        screen = host.screen()
        room = screen.geometry().width() if host.isFullScreen() and screen is not None else host.width()
        font = QFont(bar.font())
        floor = font.pointSizeF() / self.scale_factor
        while bar.sizeHint().width() > room and font.pointSizeF() * 0.95 >= floor:
            font.setPointSizeF(font.pointSizeF() * 0.95)
            bar.setFont(font)

    def _set_browsing_controls(self, on: bool) -> None:
        for panel in self.host.panels:
            if getattr(panel, "title", "").startswith("Input") and hasattr(panel, "set_controls_visible"):
                panel.set_controls_visible(on)

    def _balance_columns(self) -> None:
        """Give the panel columns LECTURE_COLUMNS of the width (the first split of three or more
        side by side below the strip)."""
        if self.enabled:
            self.host.dock_layout.share_columns(LECTURE_COLUMNS)
            self.busy = False

    def _let_titles_and_boxes_shrink(self) -> None:
        """Tab titles and drop-down boxes may be narrower than their text (see LECTURE_COMBO_CHARS)."""
        self._restore_boxes()      # left lecture mode a moment ago: not restored yet
        self.host.dock_layout.let_titles_shrink(True)
        for combo in self.host.findChildren(QComboBox):
            combo.installEventFilter(self._combo_fix)    # stays: the panels set their fonts after we leave
            self._combos.append((combo, combo.minimumWidth()))
            # an explicit minimum overrides the box's own (its whole text): it keeps its full width
            # while there is room and gives way only when the window is too narrow
            chars = QFontMetrics(scaled(combo.font(), self.scale_factor)).averageCharWidth() * LECTURE_COMBO_CHARS
            combo.setMinimumWidth(max(combo.minimumWidth(), chars + COMBO_ARROW_PX))

    def _restore_boxes(self) -> None:
        """Only once the panels have their everyday fonts: until then the boxes' own minimums
        would be those of the grown text, and the window would widen to fit them."""
        for combo, minimum in self._combos:
            if not sip.isdeleted(combo):
                combo.setMinimumWidth(minimum)
                forget_size(combo)
        self._combos = []

    def follow_step(self, snapshot) -> None:
        """In lecture mode, bring the panel that pictures the step to the front of its tab stack:
        the feature maps going forward, the gradients going backward and at the update (the
        routing picture for a pooling layer). Only when that choice changes, so a tab the
        teacher clicks stays in front for the rest of that pass."""
        if not self.enabled or snapshot is None:
            return
        phase, index = snapshot.phase, snapshot.layer_index
        layer = snapshot.layers[index] if index is not None and 0 <= index < len(snapshot.layers) else None
        if phase == "forward":
            front = FRONT_FORWARD
        elif phase == "backward" and layer is not None and layer.kind.endswith("pool"):
            front = FRONT_POOL_BACKWARD
        elif phase in ("backward", "update"):
            front = FRONT_BACKWARD
        else:
            return
        if front == self._front:
            return
        self._front = front
        for name in front:
            self.host.dock_layout.bring_to_front(name)

    def apply_to(self, root: QWidget) -> None:
        """Scale ``root`` and everything in it that is not scaled yet."""
        done = {id(w) for w, _f, _e in self._fonts}
        # widgets that follow the theme's font scale grow their own text: leave them and their canvases be
        own = [w for w in self.host.self_scaling() if w is not None]
        themed = lambda w: any(p is w or p.isAncestorOf(w) for p in own)   # noqa: E731
        widgets = [w for w in [root] + root.findChildren(QWidget) if not themed(w)]
        found = [(w, QFont(w.font()), w.testAttribute(Qt.WidgetAttribute.WA_SetFont))
                 for w in widgets if id(w) not in done and (w is root or w.isWindow() or isinstance(w, QMenu)
                                                            or w.testAttribute(Qt.WidgetAttribute.WA_SetFont))]
        for widget, font, _explicit in found:       # all fonts read before any is changed
            paragraph = widget.objectName() == "caption" and isinstance(widget, QLabel)
            widget.setFont(scaled(font, min(PARAGRAPH_SCALE, self.scale_factor) if paragraph else self.scale_factor))
        self._fonts.extend(found)
        for bar in root.findChildren(QToolBar):
            bar.setIconSize(bar.iconSize() * self.scale_factor)
        if root is self.host:
            self.host.dock_layout.set_title_font_px(round(DOCK_FONT_PX * self.scale_factor))
        elif isinstance(root, Dock):
            self.host.dock_layout.set_title_font_px(round(DOCK_FONT_PX * self.scale_factor), root.name())
        for view in root.findChildren(pg.GraphicsView):
            if view not in self._views and not themed(view):
                minimum = view.minimumSize()
                if minimum.width() > 0 and minimum.height() > 0:   # a canvas that scrolls rather than shrink
                    self._minimums.append((view, minimum))
                    view.setMinimumSize(minimum * self.scale_factor)
                self._zoomer.attach(view)
                self._views.append(view)

    def _restore(self) -> None:
        for widget, font, explicit in reversed(self._fonts):
            if not sip.isdeleted(widget):
                widget.setFont(font if explicit else QFont())
        self._fonts = []
        for bar in self.host.findChildren(QToolBar):
            size = bar.iconSize() / self.scale_factor
            bar.setIconSize(QSize(round(size.width()), round(size.height())))
        self.host.dock_layout.set_title_font_px(DOCK_FONT_PX)
        for view, minimum in self._minimums:
            if not sip.isdeleted(view):
                view.setMinimumSize(minimum)
        self._minimums = []
        for view in self._views:
            if not sip.isdeleted(view):
                self._zoomer.detach(view)
        self._views = []

    def set_colour_blind(self, on: bool) -> None:
        """The colour-blind-safe palette (or the default one) at the current text size."""
        self.colour_blind = bool(on)
        checked(self.colour_blind_action, self.colour_blind)
        self.host.apply_theme(self.host.theme.with_palette("colorblind" if self.colour_blind else "default"))

    def show_caption(self, snapshot) -> None:
        text = phase_caption(snapshot)
        if text != self.caption.text():
            self.caption.setText(text)


def checked(action: QAction, on: bool) -> None:
    """Tick or untick a checkable action without triggering it."""
    action.blockSignals(True)
    action.setChecked(on)
    action.blockSignals(False)

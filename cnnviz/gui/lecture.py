"""Lecture mode: everything larger for a projector, full screen, colour-blind-safe colours, and a
large-type caption saying what the step on screen does ("Backward: max-pool routes dL/da to the
winners").

It works from outside the panels: Qt widgets get scaled fonts, every pyqtgraph canvas is zoomed as a
whole (its scene drawn ``scale`` times larger, so tick labels, titles, numbers and images all grow
together), and the colour maps are switched by replacing the theme's maps, which the panels read at
every draw. ``phase_caption(snapshot)`` is Qt-free text.
"""

from __future__ import annotations

import pyqtgraph as pg
from pyqtgraph.dockarea import Dock
from PyQt6 import sip
from PyQt6.QtCore import QCoreApplication, QEvent, QObject, QRectF, QSize, Qt, QTimer
from PyQt6.QtGui import QAction, QFont, QFontMetrics, QKeySequence
from PyQt6.QtWidgets import QComboBox, QLabel, QMenu, QSizePolicy, QToolBar, QWidget

from cnnviz.gui import theme

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
# colour-blind safe (theme's "colorblind" palette): blue - white - orange for signed data, white then
# cividis for unsigned data, Okabe-Ito colours for the classes and the pooling winners
CB_PALETTE = theme.PALETTES["colorblind"]
DEFAULT_PALETTE = theme.PALETTES["default"]
CB_DIVERGING, CB_SEQUENTIAL = CB_PALETTE["DIVERGING"], CB_PALETTE["SEQUENTIAL"]

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


def set_palette(colour_blind: bool) -> None:
    """Switch the theme's colour maps, class colours and colour words; panels use them from their next draw."""
    theme.set_palette("colorblind" if colour_blind else "default")


def scaled(font: QFont, factor: float) -> QFont:
    font = QFont(font)
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * factor)
    elif font.pixelSize() > 0:
        font.setPixelSize(round(font.pixelSize() * factor))
    return font


class _Zoom(QObject):
    """Keeps a pyqtgraph GraphicsView drawing its scene ``factor`` times larger through resizes."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def eventFilter(self, view, event) -> bool:
        if event.type() == QEvent.Type.Resize:   # before the view's own resizeEvent uses view.range
            size = event.size()
            view.range = QRectF(0, 0, size.width() / self.factor, size.height() / self.factor)
        return False


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


def zoom(view: pg.GraphicsView, factor: float, zoomer: _Zoom | None) -> None:
    if zoomer is not None:
        view.installEventFilter(zoomer)
        view.setRange(QRectF(0, 0, view.width() / factor, view.height() / factor), padding=0, disableAutoPixel=True)
    else:                  # pixel-for-pixel again, as pyqtgraph draws it by default
        view.autoPixelRange = True
        view.setRange(QRectF(0, 0, view.width(), view.height()), padding=0, disableAutoPixel=False)


class LectureMode:
    """``set_enabled(on)``: fonts and canvases x ``scale``, full screen (``full_screen``), colour-blind
    maps and the caption; off puts everything back. ``set_colour_blind(on)`` alone switches the maps.
    ``apply_to(widget)``: scale a window opened later (an explain dialog) while lecture mode is on."""

    def __init__(self, window, scale: float = LECTURE_SCALE) -> None:
        self.window = window
        self.scale_factor = scale
        self.enabled = False
        self.colour_blind = False
        self.full_screen = True
        self._cb_before = False
        self._fonts: list[tuple[QWidget, QFont, bool]] = []
        self._views: list[pg.GraphicsView] = []
        self._minimums: list[tuple[pg.GraphicsView, QSize]] = []
        self._zoomer = _Zoom(scale)
        self._was_maximized = False
        self._bars_hidden: list[QToolBar] = []
        self._layout_before: dict | None = None
        self._combos: list[tuple[QComboBox, int]] = []
        self._combo_fix = _ComboSizeFix()
        self._titles: list[tuple[QLabel, QSizePolicy.Policy, Qt.AlignmentFlag]] = []
        self._front: tuple[str, ...] = ()
        self._size_before: QSize | None = None
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

    @property
    def scale(self) -> float:
        return self.scale_factor if self.enabled else 1.0

    def set_enabled(self, on: bool) -> None:
        on = bool(on)
        if on == self.enabled:
            return
        self.enabled = on
        if on:
            self._size_before = self.window.size()
            self._cb_before = self.colour_blind
            self._layout_before = self.window._layout_state()
            self._tab_panels()
            self._front = ()
            self._let_titles_and_boxes_shrink()
            theme.set_font_scale(self.scale_factor)     # the panels grow their own text (next frame)
            self.apply_to(self.window)
            # the settings and timeline bars give their rows to the panels (their keys still work)
            self._bars_hidden = [bar for bar in self.window.toolbars()[1:] if bar.isVisible()]
            for bar in self._bars_hidden:
                bar.hide()
            self.set_colour_blind(True)
            self.caption.show()
            if self.full_screen:
                self._was_maximized = self.window.isMaximized()
                self.window.showFullScreen()
            self._fit_run_bar()
            self._set_browsing_controls(False)
            QTimer.singleShot(0, self._balance_columns)   # once the grown fonts have been laid out
        else:
            self._set_browsing_controls(True)
            self._restore()
            self._restore_titles()
            theme.set_font_scale(1.0)
            if self._layout_before is not None:
                self.window._apply_layout_state(self._layout_before)
                self._layout_before = None
            for bar in self._bars_hidden:
                bar.show()
            self.set_colour_blind(self._cb_before)
            self.caption.hide()
            if self.window.isFullScreen():
                self.window.showMaximized() if self._was_maximized else self.window.showNormal()
            QTimer.singleShot(0, self._shrink_back)

    def _shrink_back(self) -> None:
        """The window had grown with its contents. Once the restored layout is in place, every panel
        is redrawn at once (not one per tick: each grown panel keeps the window wide until it is),
        so its fonts shrink; once the boxes' sizes are forgotten (posted events), the window gets
        its size from before lecture mode back."""
        if self.enabled or sip.isdeleted(self.window):    # on again, or the window closed meanwhile
            return
        self.window.draw_panels()
        QTimer.singleShot(0, self._give_back_size)

    def _give_back_size(self) -> None:
        if self.enabled or sip.isdeleted(self.window):
            return
        self._restore_boxes()
        window = self.window
        if self._size_before is not None and not (window.isMaximized() or window.isFullScreen()):
            window.resize(self._size_before)

    def _fit_run_bar(self) -> None:
        """The run bar's text grows less than 1.5x when that is what it takes to keep every button
        in view (1.5x it is ~1230 px wide: Reset and Lecture mode went into its "»" menu at 1024)."""
        window, bar = self.window, self.window.run_bar
        screen = window.screen()
        room = screen.geometry().width() if window.isFullScreen() and screen is not None else window.width()
        font = QFont(bar.font())
        floor = font.pointSizeF() / self.scale_factor
        while bar.sizeHint().width() > room and font.pointSizeF() * 0.95 >= floor:
            font.setPointSizeF(font.pointSizeF() * 0.95)
            bar.setFont(font)

    def _set_browsing_controls(self, on: bool) -> None:
        for panel in getattr(self.window, "panels", ()):
            if getattr(panel, "title", "").startswith("Input") and hasattr(panel, "set_controls_visible"):
                panel.set_controls_visible(on)

    def _balance_columns(self) -> None:
        """Give the panel columns LECTURE_COLUMNS of the width (the first split of three or more
        side by side below the strip)."""
        if not self.enabled:
            return
        todo = [self.window.area.topContainer]
        while todo:
            container = todo.pop(0)
            if container is None or not hasattr(container, "type"):
                continue
            if container.type() == "horizontal" and container.count() == len(LECTURE_COLUMNS):
                total = sum(container.sizes())
                container.setSizes([int(share * total) for share in LECTURE_COLUMNS])
                return
            if container.type() in ("vertical", "horizontal"):
                todo += [container.widget(i) for i in range(container.count())]

    def _tab_panels(self) -> None:
        window = self.window
        for back, front in LECTURE_TABS:
            behind, ahead = window.find_dock(back), window.find_dock(front)
            if (behind is None or ahead is None or behind.container() is None or ahead.container() is None
                    or behind.area is not window.area or ahead.area is not window.area):
                continue
            window.area.moveDock(behind, "above", ahead)
            ahead.raiseDock()

    def _let_titles_and_boxes_shrink(self) -> None:
        """Tab titles and drop-down boxes may be narrower than their text (see LECTURE_COMBO_CHARS)."""
        self._restore_boxes()      # left lecture mode a moment ago: not restored yet
        for dock in self.window.docks.values():
            policy = dock.label.sizePolicy()
            self._titles.append((dock.label, policy.horizontalPolicy(), dock.label.alignment()))
            policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
            dock.label.setSizePolicy(policy)
            container = dock.container()
            if container is not None and container.type() == "tab":   # cut short: keep the start of the title
                dock.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        for combo in self.window.findChildren(QComboBox):
            combo.installEventFilter(self._combo_fix)    # stays: the panels set their fonts after we leave
            self._combos.append((combo, combo.minimumWidth()))
            # an explicit minimum overrides the box's own (its whole text): it keeps its full width
            # while there is room and gives way only when the window is too narrow
            chars = QFontMetrics(scaled(combo.font(), self.scale_factor)).averageCharWidth() * LECTURE_COMBO_CHARS
            combo.setMinimumWidth(max(combo.minimumWidth(), chars + COMBO_ARROW_PX))

    def _restore_titles(self) -> None:
        for label, horizontal, alignment in self._titles:
            if not sip.isdeleted(label):
                policy = label.sizePolicy()
                policy.setHorizontalPolicy(horizontal)
                label.setSizePolicy(policy)
                label.setAlignment(alignment)
        self._titles = []

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
            dock = self.window.find_dock(name)
            container = dock.container() if dock is not None else None
            if container is not None and container.type() == "tab" and container.stack.currentWidget() is not dock:
                dock.raiseDock()

    def apply_to(self, root: QWidget) -> None:
        """Scale ``root`` and everything in it that is not scaled yet."""
        done = {id(w) for w, _f, _e in self._fonts}
        # panels that follow theme.set_font_scale grow their own text: leave them and their canvases be
        own = [p for p in getattr(self.window, "panels", []) + [getattr(getattr(self.window, "teach", None), "compare", None)]
               if p is not None and hasattr(p, "theme_changed")]
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
        for dock in [root] if isinstance(root, Dock) else getattr(root, "docks", {}).values():
            dock.label.fontSize = f"{round(14 * self.scale_factor)}px"
            dock.label.updateStyle()
        for view in root.findChildren(pg.GraphicsView):
            if view not in self._views and not themed(view):
                minimum = view.minimumSize()
                if minimum.width() > 0 and minimum.height() > 0:   # a canvas that scrolls rather than shrink
                    self._minimums.append((view, minimum))
                    view.setMinimumSize(minimum * self.scale_factor)
                zoom(view, self.scale_factor, self._zoomer)
                self._views.append(view)

    def _restore(self) -> None:
        for widget, font, explicit in reversed(self._fonts):
            if not sip.isdeleted(widget):
                widget.setFont(font if explicit else QFont())
        self._fonts = []
        for bar in self.window.findChildren(QToolBar):
            size = bar.iconSize() / self.scale_factor
            bar.setIconSize(QSize(round(size.width()), round(size.height())))
        for dock in self.window.docks.values():
            dock.label.fontSize = "14px"
            dock.label.updateStyle()
        for view, minimum in self._minimums:
            if not sip.isdeleted(view):
                view.setMinimumSize(minimum)
        self._minimums = []
        for view in self._views:
            if not sip.isdeleted(view):
                view.removeEventFilter(self._zoomer)
                zoom(view, 1.0, None)
        self._views = []

    def set_colour_blind(self, on: bool) -> None:
        self.colour_blind = bool(on)
        set_palette(self.colour_blind)
        self.window.colours_changed()

    def show_caption(self, snapshot) -> None:
        text = phase_caption(snapshot)
        if text != self.caption.text():
            self.caption.setText(text)


class LectureWindowMixin:
    """MainWindow's lecture-mode, colour-blind and full-screen actions (``self.lecture`` is a LectureMode)."""

    def _build_view_actions(self) -> None:
        self.lecture_action = QAction("Lecture mode", self, checkable=True, shortcut=QKeySequence("F11"),
                                      toolTip="Everything 1.5x larger, full screen, colour-blind-safe colours "
                                              "and a large caption of each step (F11)",
                                      triggered=self.set_lecture_mode)
        self.colour_blind_action = QAction("Colour-blind-safe colours", self, checkable=True,
                                           shortcut=QKeySequence("Ctrl+B"),
                                           toolTip="Blue-orange and cividis colour maps, no red against green (Ctrl+B)",
                                           triggered=lambda on: self.lecture.set_colour_blind(on))
        self.full_screen_action = QAction("Full screen", self, checkable=True, shortcut=QKeySequence("Ctrl+F"),
                                          toolTip="Fill the screen (Ctrl+F)", triggered=self.set_full_screen)
        self.run_bar.addSeparator()
        self.run_bar.addAction(self.lecture_action)

    def set_lecture_mode(self, on: bool) -> None:
        self.lecture.set_enabled(on)
        self.lecture.show_caption(self.shown_snapshot())
        for action, checked in ((self.lecture_action, on), (self.full_screen_action, self.isFullScreen())):
            action.blockSignals(True)
            action.setChecked(checked)
            action.blockSignals(False)

    def set_full_screen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    def colours_changed(self) -> None:
        """The theme's colour maps were switched: every panel draws again with them."""
        for widget in [*self.panels, *self.teach.widgets().values()]:
            for view in widget.views() if hasattr(widget, "views") else ():
                view.cmap = None
        if self.teach.stats is not None:
            self.teach.stats.confusion_image.setLookupTable(theme.lut(theme.SEQUENTIAL))
        if self.teach.conv is not None:
            self.teach.conv.recompute()
        self.opener._drawn_at = 0.0       # the explain window redraws at once too
        if self.shown_snapshot() is not None:
            self.opener.refresh(self.shown_snapshot())
        if hasattr(self, "colour_blind_action"):
            self.colour_blind_action.blockSignals(True)
            self.colour_blind_action.setChecked(self.lecture.colour_blind)
            self.colour_blind_action.blockSignals(False)
        self._drawn.clear()
        self.teach.forget_all()
        self.draw_panels()

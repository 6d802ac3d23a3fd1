"""Pieces every panel shares: the Panel base widget and helpers that pick layers out of a Snapshot.
MapView (one mosaic = one ImageItem + its colour bar, separators, tile numbers and placeholder text)
lives in map_view.py; it is imported here too, where the panels have always found it."""

from __future__ import annotations

import math
import re
import time

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from cnnviz.gui import theme
from cnnviz.gui.panels.map_view import (  # noqa: F401  (the panels import these from here)
    WAITING, ClickableImage, MapView, cache_paint, fit_title_row, html_lines_text, locate_unit, pixel_ticks,
    plain_text, wrap_html)
from cnnviz.gui.pg_compat import FastImage, narrow_label  # noqa: F401

PARAM_KINDS = ("conv", "dense")
ACTIVATION_KINDS = ("relu", "sigmoid", "tanh")
POOL_KINDS = ("maxpool", "avgpool")
VECTOR_WIDTH = 16   # a dense layer's units are drawn as a grid this many units wide
# While training live, a caption's numbers change at most this often (seconds): text that changes 30
# times a second cannot be read, and every change of a word-wrapped caption makes Qt lay out its
# dock and the main window again (3 layout passes per frame, measured). Any other snapshot (paused,
# stepping) shows its caption at once, so the last words on screen are always the newest.
LIVE_CAPTION_INTERVAL = 0.25


# -- picking layers ---------------------------------------------------------------------------
def layer_title(state) -> str:
    """'Layer 2 conv' (the name a student sees in the network strip)."""
    return f"Layer {state.index} {state.kind}"


def nearest_layer(layers, index: int | None, kinds, default_first: bool = True):
    """The layer of one of ``kinds`` at ``index``, else the closest one before it, else after it.

    index None: the first such layer. Returns None when the network has none."""
    matching = [s for s in layers if s.kind in kinds]
    if not matching:
        return None
    if index is None:
        return matching[0] if default_first else matching[-1]
    index = max(0, min(int(index), len(layers) - 1))
    before = [s for s in matching if s.index <= index]
    return before[-1] if before else matching[0]


def gradient_source(snapshot, what: str = "dL/d(out)") -> str:
    """Whose backward pass ``what`` (the probe's gradients) belongs to, as a short clause: a drawn
    digit has no label, so the trainer takes its predicted class as the label; before any training
    they are the probe's gradients for the starting weights (while dL/dW, which needs a batch run
    backward, is still empty); in a stepping walk, the walk's first image (shown in Input)."""
    if snapshot.probe_split == "drawn" and snapshot.probs is not None:
        pred = int(np.argmax(snapshot.probs))
        names = snapshot.class_names
        name = names[pred] if len(names) == len(snapshot.probs) else str(pred)
        return (f"{what} of the drawn digit; it has no true label: gradients as if the label were "
                f"{name}, the predicted class")
    if snapshot.probe_split == "train":
        return f"{what} of the image in Input (this walk's first)"
    if snapshot.step == 0:
        return f"{what} of the probe for the current weights (nothing trained yet)"
    return f"{what} of the probe image"


def dead_words(snapshot, state) -> str:
    """The sentence that explains a layer's crossed-out tiles ("" when none of its channels is dead)."""
    dead = getattr(state, "dead", None)
    if not dead:
        return ""
    n = getattr(snapshot, "activity_images", 0)
    which = ", ".join(map(str, dead))
    many = len(dead) > 1
    return (f"Channel{'s' if many else ''} {which} {'are' if many else 'is'} dead (crossed out): "
            f"never positive on the last {n:,} training images.")


# a probe whose loss is below this is "learned": its gradients are that small too (dL/dlogits = p - y,
# |p - y| ~ loss), and drawn at full colour they would make near-nothing look like a strong signal
LEARNED_LOSS = 1e-3


def learned(snapshot) -> bool:
    loss = getattr(snapshot, "probe_loss", None)
    return loss is not None and loss < LEARNED_LOSS


def learned_levels(snapshot, values) -> tuple[float, float] | None:
    """Colour levels for a learned probe's gradients: the range they would have at a loss of
    LEARNED_LOSS (so they fade with the loss instead of being stretched to full colour); None
    (auto-scale) for any other probe."""
    if not learned(snapshot):
        return None
    top = float(np.max(np.abs(values))) if np.size(values) else 0.0
    scale = max(top * LEARNED_LOSS / max(float(snapshot.probe_loss), 1e-30), 1e-30)
    return (-scale, scale)


def learned_words(snapshot, values) -> str:
    """"This image is learned: loss 3e-09, so its gradients here are at most 2e-09 ..." or ""."""
    if not learned(snapshot):
        return ""
    top = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return (f"This image is learned: loss {snapshot.probe_loss:.1e}, so its gradients are ~{top:.0e} "
            f"(pale: drawn at the scale of a loss of {LEARNED_LOSS:g}, not stretched to full colour).")


def zero_gradient_reason(snapshot, state, what: str = "dL/dW") -> str:
    """Why a layer's gradient is exactly 0 after training: the lowest activation layer above it that
    is off everywhere (every ReLU output 0 for the probe, or every channel dead), and whether the
    whole network has collapsed (loss as high as guessing). "" when no reason is visible."""
    layers = snapshot.layers
    off = None
    for later in layers[state.index:]:
        if later.kind not in ACTIVATION_KINDS:
            continue
        all_dead = later.dead is not None and len(later.dead) == int(later.output_shape[0] if later.output_shape else 0)
        if all_dead or (later.output is not None and not np.any(later.output > 0)):
            off = later
            break
    k = len(snapshot.class_names) or 10
    loss = snapshot.batch_loss
    collapsed = loss is not None and loss >= 0.9 * math.log(k)
    base, now = snapshot.lr, getattr(snapshot, "current_lr", None)
    rate = f"{base:.3g}" + (f" (now {now:.2g} on its schedule)" if now and not math.isclose(now, base) else "")
    parts = []
    if off is not None:
        parts.append(f"every ReLU of {layer_title(off)} is off (output 0), so no gradient passes it down")
    if collapsed:
        parts.append(f"the network has collapsed: loss {loss:.2f}, no better than guessing among {k}")
    if off is None:   # a network that merely guesses still has gradients: only an off layer explains 0
        return ""
    return (f"{what} is exactly 0: " + "; ".join(parts) + f". The learning rate {rate} is too large for this network: "
            "lower the learning rate and reset (R).")


def dead_tip(snapshot) -> str:
    return f"dead: never positive on the last {getattr(snapshot, 'activity_images', 0):,} training images"


def image_shape_before(layers, index: int) -> tuple | None:
    """(C, H, W) that a dense layer's flat input came from (through a flatten), else None."""
    i = index - 1
    while i >= 0 and layers[i].kind in ACTIVATION_KINDS:
        i -= 1
    if i >= 0 and layers[i].kind == "flatten" and len(layers[i].input_shape) == 3:
        return tuple(layers[i].input_shape)
    return None


def as_maps(array: np.ndarray) -> tuple[np.ndarray, bool]:
    """(maps (N, H, W), is_vector). A (C, H, W) array stays; a vector of n units becomes ONE map
    VECTOR_WIDTH wide (unit u at row u // width, column u % width; the tail is padded with 0)."""
    a = np.asarray(array, dtype=np.float32)
    if a.ndim == 3:
        return a, False
    if a.ndim == 2:
        return a[None], False
    flat = a.reshape(-1)
    width = min(VECTOR_WIDTH, max(1, flat.size))
    rows = math.ceil(flat.size / width)
    grid = np.zeros(rows * width, dtype=np.float32)
    grid[:flat.size] = flat
    return grid.reshape(1, rows, width), True


class Panel(QtWidgets.QWidget):
    """A dock's content: a caption line, optional controls, and a pyqtgraph canvas."""

    title = "Panel"

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.theme = theme.DEFAULT        # the look it draws with; the window applies a new one
        self.setFont(theme.font(self.theme.font_pt))
        self.caption = QtWidgets.QLabel("")
        self.caption.setObjectName("caption")
        self.caption.setWordWrap(True)
        self.caption.setFont(theme.font(self.theme.title_pt))
        self.caption.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self._caption_html = ""
        self._caption_at = -float("inf")
        self.clock = time.monotonic       # seconds, for the live caption's pace (tests move their own)
        self.controls = QtWidgets.QHBoxLayout()
        self.controls.setContentsMargins(0, 0, 0, 0)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(theme.BACKGROUND)
        self.canvas.ci.setContentsMargins(2, 2, 2, 2)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.setSpacing(3)
        box.addWidget(self.caption)
        box.addLayout(self.controls)
        box.addWidget(self.canvas, 1)
        self.snapshot = None
        self.layer_index: int | None = None
        self.canvas.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.canvas and event.type() == QtCore.QEvent.Type.Resize:
            self.canvas_resized(event.size().width(), event.size().height())
        return super().eventFilter(obj, event)

    def canvas_resized(self, width: int, height: int) -> None:
        """Hook: re-arrange plots for the canvas's new shape (wide dock vs tall dock)."""

    def set_controls_visible(self, on: bool) -> None:
        """Show or hide the row of controls above the canvas (lecture mode hides the Input panel's)."""
        for i in range(self.controls.count()):
            widget = self.controls.itemAt(i).widget()
            if widget is not None:
                widget.setVisible(on)

    def set_caption(self, html: str) -> None:
        """Show ``html`` under the dock title; while training live, at most every
        LIVE_CAPTION_INTERVAL seconds (a frame in between keeps the previous caption)."""
        if html == self._caption_html:
            return
        now = self.clock()
        if getattr(self.snapshot, "phase", None) == "training" and now - self._caption_at < LIVE_CAPTION_INTERVAL:
            return
        self._caption_html = html
        self._show_caption()
        self._caption_at = now

    def _show_caption(self) -> None:
        """In lecture mode (text scaled up) only the caption's first sentence, the rest in its
        tooltip: at 1.5x on a 1024x768 projector the full paragraphs took most of each dock and left
        the pictures a few dozen pixels (the lecture caption explains the step instead)."""
        html = self._caption_html
        shown = first_sentence(html) if self.theme.font_scale > 1 else html
        self.caption.setText(shown)
        self.caption.setToolTip(html if shown != html else "")

    def show_snapshot(self, snapshot, layer_index: int | None) -> None:  # pragma: no cover
        raise NotImplementedError

    def redraw(self) -> None:
        """Draw the last snapshot again (after a control of the panel changed)."""
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot, self.layer_index)

    def views(self) -> list:
        return [v for v in vars(self).values() if isinstance(v, MapView)]

    def showEvent(self, event) -> None:
        super().showEvent(event)
        for view in self.views():
            view.on_relayout = self.redraw

    def _remember(self, snapshot, layer_index) -> None:
        self.snapshot, self.layer_index = snapshot, layer_index

    def apply_theme(self, look: theme.Theme) -> None:
        """Draw with ``look`` from now on (lecture mode, the colour-blind switch): fonts change at
        once, colour maps, titles and tile numbers with the next ``show_snapshot``."""
        if look is self.theme:
            return
        before, self.theme = self.theme, look
        self.theme_changed(before.font_scale)

    def theme_changed(self, old_scale: float) -> None:
        """The look changed from one at ``old_scale``: every widget and plot text at its base size
        times the new scale; the views re-apply titles, colour maps and tile numbers as they draw
        next. Panels with colours of their own extend this."""
        scale = self.theme.font_scale
        for widget in [self, *self.findChildren(QtWidgets.QWidget)]:
            if not isinstance(widget, QtWidgets.QAbstractScrollArea):
                scale_font(widget, widget.font, widget.setFont, old_scale, scale)
        for item in self.canvas.scene().items():
            if isinstance(item, pg.AxisItem):
                if item.style.get("tickFont") is not None:
                    scale_font(item, lambda a=item: a.style["tickFont"], item.setTickFont, old_scale, scale)
                size = item.labelStyle.get("font-size")
                if size and item.labelText:
                    base = remembered(item, "cnnviz_label_pt", lambda: float(size.rstrip("pt")) / old_scale)
                    item.setLabel(item.labelText, item.labelUnits or None,
                                  **{**item.labelStyle, "font-size": f"{round(base * scale)}pt"})
            elif isinstance(item, pg.TextItem):
                scale_font(item, item.textItem.font, item.setFont, old_scale, scale)
        for view in self.views():
            view.apply_theme(self.theme)
        self._show_caption()   # whole again after lecture mode, or shortened for it


def first_sentence(html: str) -> str:
    """The first sentence of a caption (a full stop, then a capital or a tag), plus " …" when more
    follows."""
    parts = SENTENCE_END.split(html, maxsplit=1)
    return parts[0] if len(parts) == 1 else parts[0] + " …"


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z<])")


def scale_font(owner: QtCore.QObject, get_font, set_font, old_scale: float, scale: float) -> None:
    """Set ``owner``'s font to its base size times ``scale``. The base is its size when first seen
    divided by the scale it was made under (``old_scale``), remembered on the object, so scaling
    twice never compounds."""
    font = QtGui.QFont(get_font())
    base = remembered(owner, "cnnviz_base_pt", lambda: font.pointSizeF() / old_scale)
    if base > 0:
        font.setPointSizeF(max(6.0, base * scale))
        set_font(font)


def remembered(owner: QtCore.QObject, name: str, first):
    """The value stored under ``name`` on ``owner`` (a Qt dynamic property: no attribute of ours on
    pyqtgraph's objects), stored from ``first()`` on the first call."""
    value = owner.property(name)
    if value is None:
        value = first()
        owner.setProperty(name, value)
    return value


def label(text: str, tooltip: str = "") -> QtWidgets.QLabel:
    w = QtWidgets.QLabel(text)
    w.setFont(theme.font(theme.FONT_PT))
    if tooltip:
        w.setToolTip(tooltip)
    return w

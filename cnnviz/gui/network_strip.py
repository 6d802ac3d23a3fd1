"""The network strip: the layers as blocks left to right, the current step highlighted.

Painted by hand (one widget, no child widgets) so that it stays cheap to redraw ~30 times a second and
its text can be sized for a projector. Each block shows the layer's kind, its settings and its output
shape; an Input block comes first and a Loss block last. The step that just ran is outlined in a
colour that names its direction: blue with → for the forward pass, orange with ← for the backward
pass, purple for the loss, green for the update (every layer with parameters). The layer the panels
show is filled darker and marked with a triangle underneath; clicking a block selects it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import QPointF, QRectF, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF
from PyQt6.QtWidgets import QSizePolicy, QWidget

# Direction colours, shared with the legend in the caption line.
FORWARD = QColor("#1f6fd1")
BACKWARD = QColor("#e07b00")
LOSS = QColor("#8e3fbf")
UPDATE = QColor("#1e9e4a")
TEXT = QColor("#1b1b1b")
MUTED = QColor("#555555")
KIND_FILL = {
    "conv": QColor("#d6e6f5"), "dense": QColor("#f4e6c4"), "maxpool": QColor("#e3d9f2"),
    "avgpool": QColor("#e3d9f2"), "relu": QColor("#e4e4e4"), "sigmoid": QColor("#e4e4e4"),
    "tanh": QColor("#e4e4e4"), "flatten": QColor("#ececec"), "input": QColor("#ddeedd"),
    "loss": QColor("#f3d9d9"),
}
KIND_NAME = {"maxpool": "MaxPool", "avgpool": "AvgPool"}
LEGEND = (("→ forward", FORWARD), ("← backward", BACKWARD), ("L loss", LOSS), ("ΔW update", UPDATE),
          ("▲ shown in the panels (click a block)", MUTED))
PHASE_STYLE = {"forward": (FORWARD, "→"), "backward": (BACKWARD, "←"), "loss": (LOSS, "L"),
               "update": (UPDATE, "ΔW")}


@dataclass
class Block:
    """One drawn block: ``layer`` is the layer index, or None for the Input and Loss blocks."""

    layer: int | None
    kind: str
    title: str
    detail: str
    shape: str
    tooltip: str
    has_params: bool = False


def shape_text(shape) -> str:
    return "x".join(str(int(n)) for n in shape) if shape else "?"


def layer_block(state) -> Block:
    """A block for one LayerState (or anything with index, kind, label and the two shapes)."""
    label = str(state.label)
    first, _, rest = label.partition(" ")
    title = KIND_NAME.get(state.kind, first or state.kind)
    has_params = bool(getattr(state, "params", None))
    n_params = sum(int(v.size) for v in state.params.values()) if has_params else 0
    tip = (f"<b>layer {state.index}: {label}</b><br>input {shape_text(state.input_shape)} → "
           f"output {shape_text(state.output_shape)}")
    if has_params:
        tip += f"<br>{n_params:,} parameters"
    tip += "<br>Click to show this layer in the panels."
    return Block(state.index, state.kind, title, rest.replace("->", "→"), "→ " + shape_text(state.output_shape), tip, has_params)


class NetworkStrip(QWidget):
    """The layers as clickable blocks; ``layer_selected(int)`` when the user clicks one.

    set_layers(states) takes a sequence of LayerState (a snapshot's ``layers``); set_step(phase,
    layer_index) highlights the step that just ran; set_selected(i) marks the layer the panels show.
    """

    layer_selected = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.blocks: list[Block] = []
        self.phase = "idle"
        self.step_layer: int | None = None
        self.selected: int | None = None
        self.loss: float | None = None
        self._signature: tuple = ()
        self.empty_text = "starting: loading the images and building the network…"
        self._widths: list[float] = []
        self._font_px = 16.0
        self.setMouseTracking(True)
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setToolTip("The network, input on the left. Click a layer to show it in the panels.")

    # -- state ------------------------------------------------------------------------------
    def set_layers(self, states, input_shape=None, dataset: str = "") -> bool:
        """Rebuild the blocks if the architecture changed; returns True when it did."""
        states = list(states)
        in_shape = input_shape or (states[0].input_shape if states else ())
        signature = (tuple((s.kind, str(s.label), tuple(s.output_shape)) for s in states), tuple(in_shape), dataset)
        if signature == self._signature:
            return False
        self._signature = signature
        first = Block(None, "input", "Input", dataset, shape_text(in_shape),
                      f"<b>input image</b> {shape_text(in_shape)} (channels x height x width)")
        last = Block(None, "loss", "Loss", "softmax + CE", "",
                     "<b>softmax + cross-entropy</b><br>probabilities p and the loss L; "
                     "its gradient dL/dz = p - y starts the backward pass")
        self.blocks = [first] + [layer_block(s) for s in states] + [last]
        if self.selected is not None and self.selected >= len(states):
            self.selected = None
        self._fit_font()
        self.update()
        return True

    def set_empty_text(self, text: str) -> None:
        """What the caption says while there is no network to show (starting, or the data failed)."""
        self.empty_text = text
        self.update()

    @property
    def layer_count(self) -> int:
        return max(0, len(self.blocks) - 2)

    def set_step(self, phase: str, layer_index: int | None, loss: float | None = None) -> None:
        if (phase, layer_index) != (self.phase, self.step_layer):
            self.phase, self.step_layer, self.loss = phase, layer_index, loss
            self.update()
        elif loss != self.loss:    # live training: only the loss figure changes, repaint just its block
            self.loss = loss
            if self.blocks:
                self.update(self.block_rects()[-1].toAlignedRect())

    def set_selected(self, index: int | None) -> None:
        if index != self.selected:
            self.selected = index
            self.update()

    def highlighted(self) -> list[tuple[int | None, str]]:
        """Which blocks carry the step highlight, as (layer index or "loss", phase) pairs."""
        if self.phase in ("forward", "backward") and self.step_layer is not None:
            return [(self.step_layer, self.phase)]
        if self.phase == "loss":
            return [("loss", "loss")]
        if self.phase == "update":
            return [(b.layer, "update") for b in self.blocks if b.has_params]
        return []

    # -- geometry ---------------------------------------------------------------------------
    CAPTION_H = 24
    MARKER_H = 12
    GAP = 18

    def block_rects(self) -> list[QRectF]:
        n = len(self.blocks)
        if not n:
            return []
        if len(self._widths) != n:
            self._fit_font()
        top = self.CAPTION_H
        height = max(40.0, self.height() - top - self.MARKER_H - 4)
        rects, x = [], 4.0
        for width in self._widths:
            rects.append(QRectF(x, top, width, height))
            x += width + self.GAP
        return rects

    def block_rect(self, layer_index: int) -> QRectF:
        """The rectangle of layer ``layer_index``'s block (the Input block is not counted)."""
        return self.block_rects()[layer_index + 1]

    def layer_at(self, pos: QPointF) -> int | None:
        for block, rect in zip(self.blocks, self.block_rects()):
            if rect.contains(pos):
                return block.layer
        return None

    def sizeHint(self) -> QSize:
        return QSize(1400, 124)

    def minimumSizeHint(self) -> QSize:
        return QSize(400, 110)

    def resizeEvent(self, event) -> None:
        self._fit_font()
        super().resizeEvent(event)

    def _fit_font(self) -> None:
        """One font size for every block, as large as the height allows and shrunk (not below 9 px)
        until every block's text fits; each block is as wide as its own text needs (ReLU is narrower
        than Conv), and the room left over is shared out equally."""
        n = len(self.blocks)
        if not n:
            self._widths = []
            return
        room = self.width() - 8 - self.GAP * (n - 1)
        height = max(40.0, self.height() - self.CAPTION_H - self.MARKER_H - 4)
        size = min(20.0, max(9.0, height / 4.6))
        while True:
            need = self._needed_widths(*self._fonts(size))
            if sum(need) <= room or size <= 9.0:
                break
            size = max(9.0, size - 0.5)
        self._font_px = size
        if sum(need) > room:     # even 9 px does not fit: squeeze, the text is elided
            need = [w * room / sum(need) for w in need]
        extra = max(0.0, room - sum(need)) / n
        self._widths = [w + extra for w in need]

    def _needed_widths(self, bold: QFont, plain: QFont) -> list[float]:
        heavy, light = QFontMetricsF(bold), QFontMetricsF(plain)
        return [14 + max(heavy.horizontalAdvance(self._glyph_room(b) + b.title), light.horizontalAdvance(b.detail),
                         light.horizontalAdvance(b.shape or "L = 0.000")) for b in self.blocks]

    @staticmethod
    def _glyph_room(block: Block) -> str:
        """Room for the widest step glyph this block can carry beside its title."""
        if block.kind == "input":
            return ""
        return "ΔW  " if block.has_params else "L  " if block.kind == "loss" else "→  "

    def _fonts(self, px: float) -> tuple[QFont, QFont]:
        bold = QFont(self.font())
        bold.setPixelSize(max(1, round(px * 1.1)))
        bold.setBold(True)
        plain = QFont(self.font())
        plain.setPixelSize(max(1, round(px)))
        return bold, plain

    # -- events -----------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            layer = self.layer_at(event.position())
            if layer is not None:
                self.set_selected(layer)
                self.layer_selected.emit(layer)
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        for block, rect in zip(self.blocks, self.block_rects()):
            if rect.contains(pos):
                self.setToolTip(block.tooltip)
                self.setCursor(Qt.CursorShape.PointingHandCursor if block.layer is not None
                               else Qt.CursorShape.ArrowCursor)
                break
        super().mouseMoveEvent(event)

    # -- painting ---------------------------------------------------------------------------
    def caption(self) -> str:
        if not self.blocks:
            return self.empty_text
        if self.phase == "forward" and self.step_layer is not None:
            return f"forward pass →  layer {self.step_layer} just ran"
        if self.phase == "backward" and self.step_layer is not None:
            return f"← backward pass  layer {self.step_layer} just passed its gradient down"
        if self.phase == "loss":
            loss = "" if self.loss is None else f": L = {self.loss:.4f}"
            return f"loss computed{loss}; the backward pass starts next"
        if self.phase == "update":
            return "update: every weight moved by ΔW"
        if self.phase == "training":
            return "training (press Space to pause and step one layer at a time)"
        return "paused: → steps forward one layer, ← steps backward"

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        dirty = QRectF(event.rect())
        painter.fillRect(event.rect(), QColor("#fafafa"))
        bold, plain = self._fonts(self._font_px)
        rects = self.block_rects()
        marks = {layer: phase for layer, phase in self.highlighted()}
        if dirty.top() < self.CAPTION_H:
            self._paint_caption(painter, plain)
        for i, (block, rect) in enumerate(zip(self.blocks, rects)):
            if not dirty.intersects(rect.adjusted(-self.GAP, 0, 0, self.MARKER_H + 2)):
                continue   # live training repaints only the loss block: skip the rest (GUI-thread time)
            if i:
                self._paint_connector(painter, rects[i - 1], rect, block.layer)
            key = "loss" if block.kind == "loss" else block.layer
            phase = marks.get(key) if key is not None else None
            self._paint_block(painter, block, rect, phase, bold, plain)
        painter.end()

    def _paint_caption(self, painter: QPainter, font: QFont) -> None:
        """The step in words on the left; the colour legend on the right, as much of it as fits
        beside the words (the least needed entries go first on a narrow screen)."""
        colour = {"forward": FORWARD, "backward": BACKWARD, "loss": LOSS, "update": UPDATE}.get(self.phase, MUTED)
        caption = QFont(font)
        caption.setPixelSize(15)
        caption.setBold(self.phase in PHASE_STYLE)
        metrics = QFontMetricsF(caption)
        text = metrics.elidedText(self.caption(), Qt.TextElideMode.ElideRight, self.width() - 16)
        painter.setFont(caption)
        painter.setPen(colour)
        painter.drawText(QRectF(8, 0, self.width() - 16, self.CAPTION_H),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        legend_font = QFont(font)
        legend_font.setBold(True)
        legend_font.setPixelSize(13)
        legend_metrics = QFontMetricsF(legend_font)
        room = self.width() - 16 - metrics.horizontalAdvance(text) - 24
        entries = list(LEGEND)
        while entries and sum(legend_metrics.horizontalAdvance(t) + 16 for t, _ in entries) > room:
            entries.pop()
        painter.setFont(legend_font)
        x = self.width() - 8
        for label, pen in reversed(entries):
            x -= legend_metrics.horizontalAdvance(label)
            painter.setPen(pen)
            painter.drawText(QRectF(x, 0, legend_metrics.horizontalAdvance(label) + 2, self.CAPTION_H),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)
            x -= 16

    def _paint_connector(self, painter: QPainter, left: QRectF, right: QRectF, into: int | None) -> None:
        """The arrow between two blocks; coloured when the step just sent something across it:
        data into the layer that ran forward (→), or its gradient out of it backward (←)."""
        colour, width, backwards = QColor("#8a8a8a"), 2.0, False
        if into is not None and into == self.step_layer and self.phase == "forward":
            colour, width = FORWARD, 5.0
        elif into is not None and into == self.step_layer and self.phase == "backward":
            colour, width, backwards = BACKWARD, 5.0, True
        y = left.center().y()
        x0, x1 = left.right() - 1, right.left() + 1
        tip, tail = (x0, x1) if backwards else (x1, x0)
        head = 9 if width > 2 else 6
        step = head if backwards else -head
        painter.setPen(QPen(colour, width))
        painter.drawLine(QPointF(tail, y), QPointF(tip + step * 0.6, y))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawPolygon(QPolygonF([QPointF(tip, y), QPointF(tip + step, y - head * 0.7),
                                       QPointF(tip + step, y + head * 0.7)]))

    def _paint_block(self, painter: QPainter, block: Block, rect: QRectF, phase: str | None,
                     bold: QFont, plain: QFont) -> None:
        fill = QColor(KIND_FILL.get(block.kind, QColor("#e8e8e8")))
        selected = block.layer is not None and block.layer == self.selected
        if selected:
            fill = fill.darker(122)
        path = QPainterPath()
        path.addRoundedRect(rect.adjusted(2, 2, -2, -2), 8, 8)
        painter.fillPath(path, fill)
        if phase is not None:
            colour, glyph = PHASE_STYLE[phase]
            painter.setPen(QPen(colour, 5))
        else:
            colour, glyph = None, ""
            painter.setPen(QPen(QColor("#222222") if selected else QColor("#9a9a9a"), 3 if selected else 1.2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        inner = rect.adjusted(6, 4, -6, -4)
        line_h = inner.height() / 3
        lines = [(block.title, bold, TEXT), (block.detail, plain, TEXT), (block.shape, plain, MUTED)]
        if block.kind == "loss" and self.loss is not None:
            lines[2] = (f"L = {self.loss:.3f}", plain, TEXT)
        for row, (text, font, pen) in enumerate(lines):
            if not text or (row == 0 and colour is not None):
                continue       # a highlighted title is drawn with its glyph, below
            painter.setFont(font)
            painter.setPen(pen)
            text = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, inner.width())
            painter.drawText(QRectF(inner.left(), inner.top() + row * line_h, inner.width(), line_h),
                             Qt.AlignmentFlag.AlignCenter, text)
        if colour is not None:
            self._paint_glyph(painter, inner, line_h, block.title, glyph, colour, bold)
        if selected:
            x, y = rect.center().x(), rect.bottom() + 1
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#222222"))
            painter.drawPolygon(QPolygonF([QPointF(x, y), QPointF(x - 9, y + self.MARKER_H - 1),
                                           QPointF(x + 9, y + self.MARKER_H - 1)]))

    @staticmethod
    def _title_group(inner: QRectF, title: str, glyph: str, font: QFont) -> tuple[float, float, str]:
        """A highlighted title: the glyph, a space, then the title, centred as one group so a
        narrow block never lays the glyph over the title ("ΔWConv"). Returns (left edge of the
        glyph, the glyph's advance with its space, the title elided to the room left)."""
        metrics = QFontMetricsF(font)
        lead = metrics.horizontalAdvance(glyph + " ")
        title = metrics.elidedText(title, Qt.TextElideMode.ElideRight, max(0.0, inner.width() - lead))
        left = max(inner.left(), inner.center().x() - (lead + metrics.horizontalAdvance(title)) / 2)
        return left, lead, title

    def _paint_glyph(self, painter: QPainter, inner: QRectF, line_h: float, title: str, glyph: str,
                     colour: QColor, font: QFont) -> None:
        """The direction glyph (→ ← L ΔW) in the step colour, then the title (see _title_group)."""
        left, lead, title = self._title_group(inner, title, glyph, font)
        painter.setFont(font)
        painter.setPen(colour)
        painter.drawText(QRectF(left, inner.top(), lead + 2, line_h),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, glyph)
        painter.setPen(TEXT)
        painter.drawText(QRectF(left + lead, inner.top(), inner.right() - left - lead + 1, line_h),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)

    def title_layout(self, block_index: int) -> tuple[float, float, float, float] | None:
        """For a highlighted block: (glyph left, glyph right, title left, title right) in pixels."""
        block, rect = self.blocks[block_index], self.block_rects()[block_index]
        key = "loss" if block.kind == "loss" else block.layer
        phase = dict(self.highlighted()).get(key) if key is not None else None
        if phase is None:
            return None
        glyph, font = PHASE_STYLE[phase][1], self._fonts(self._font_px)[0]
        left, lead, title = self._title_group(rect.adjusted(6, 4, -6, -4), block.title, glyph, font)
        metrics = QFontMetricsF(font)
        return left, left + metrics.horizontalAdvance(glyph), left + lead, left + lead + metrics.horizontalAdvance(title)

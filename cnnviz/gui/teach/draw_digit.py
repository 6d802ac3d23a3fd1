"""Draw a digit with the mouse; it is preprocessed like MNIST and handed on as a probe image.

White anti-aliased strokes on black, on a 280x280 canvas (10x MNIST) whatever the widget's size; on
each released stroke the drawing is fitted to 20x20 (aspect kept) and centred by mass in 28x28
(``cnnviz.data.preprocess.mnist_preprocess``). A preview shows exactly what the network will see.
"""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from cnnviz.data.preprocess import mnist_preprocess

CANVAS = 280          # drawing resolution in pixels
PEN = 22              # stroke width on the canvas: about 2 pixels of MNIST after fitting
PREVIEW = 140         # the 28x28 preview drawn at 5x


def qimage_to_array(image: QtGui.QImage) -> np.ndarray:
    """An 8-bit grey QImage -> float32 (H, W) in 0..1 (a copy)."""
    image = image.convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    return np.frombuffer(ptr, np.uint8).reshape(h, stride)[:, :w].astype(np.float32) / 255.0


def array_to_qimage(array: np.ndarray) -> QtGui.QImage:
    """float (H, W) in 0..1 -> an 8-bit grey QImage (owning its pixels)."""
    data = np.ascontiguousarray(np.clip(array * 255.0 + 0.5, 0, 255).astype(np.uint8))
    h, w = data.shape
    return QtGui.QImage(data.tobytes(), w, h, w, QtGui.QImage.Format.Format_Grayscale8).copy()


class PaintArea(QtWidgets.QWidget):
    """The black square one draws on. Signals: stroke_finished() after each mouse release."""

    stroke_finished = QtCore.pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.image = QtGui.QImage(CANVAS, CANVAS, QtGui.QImage.Format.Format_Grayscale8)
        self.image.fill(0)
        self.pen_width = PEN
        self._last: QtCore.QPointF | None = None
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)
        self.setCursor(QtCore.Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)
        self.setToolTip("Draw one digit with the left mouse button, large and centred.")

    # -- geometry: the canvas is drawn as the largest centred square --------------------------
    def square(self) -> QtCore.QRectF:
        side = min(self.width(), self.height())
        return QtCore.QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_canvas(self, pos: QtCore.QPointF) -> QtCore.QPointF:
        sq = self.square()
        return QtCore.QPointF((pos.x() - sq.left()) * CANVAS / sq.width(), (pos.y() - sq.top()) * CANVAS / sq.height())

    # -- drawing ------------------------------------------------------------------------------
    def draw_segment(self, a: QtCore.QPointF, b: QtCore.QPointF) -> None:
        """A white round-capped anti-aliased line from a to b, in canvas pixels."""
        painter = QtGui.QPainter(self.image)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        pen = QtGui.QPen(QtGui.QColor(255, 255, 255), self.pen_width, QtCore.Qt.PenStyle.SolidLine,
                         QtCore.Qt.PenCapStyle.RoundCap, QtCore.Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.drawLine(a, b)
        painter.end()
        self.update()

    def draw_stroke(self, points) -> None:
        """Draw a polyline of (x, y) canvas points (0..280) as one stroke, as if drawn with the mouse."""
        pts = [QtCore.QPointF(float(x), float(y)) for x, y in points]
        for a, b in zip(pts, pts[1:] or pts):
            self.draw_segment(a, b)
        self.stroke_finished.emit()

    def clear(self) -> None:
        self.image.fill(0)
        self.update()

    def mousePressEvent(self, event):
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self._last = self.to_canvas(event.position())
            self.draw_segment(self._last, self._last)

    def mouseMoveEvent(self, event):
        if self._last is not None:
            point = self.to_canvas(event.position())
            self.draw_segment(self._last, point)
            self._last = point

    def mouseReleaseEvent(self, event):
        if self._last is not None and event.button() == QtCore.Qt.MouseButton.LeftButton:
            self._last = None
            self.stroke_finished.emit()

    def paintEvent(self, event):
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(self.square(), self.image)
        painter.setPen(QtGui.QPen(QtGui.QColor("#888888"), 1))
        painter.drawRect(self.square().adjusted(0, 0, -1, -1))
        painter.end()


class DrawDigitCanvas(QtWidgets.QWidget):
    """A drawing square, a Clear button and a preview of the 28x28 image the network will see.

    Signals: ``digit_drawn(object)``: float32 (1, 28, 28) in 0..1, un-normalised (the window normalises
    it with the dataset's mean and std and makes it the probe), after every stroke; ``cleared()``."""

    digit_drawn = QtCore.pyqtSignal(object)
    cleared = QtCore.pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.paint_area = PaintArea()
        self.clear_button = QtWidgets.QPushButton("Clear")
        self.clear_button.setToolTip("Wipe the drawing (C)")
        clear_key = QtGui.QShortcut(QtGui.QKeySequence("C"), self)   # only while the canvas has focus
        clear_key.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
        clear_key.activated.connect(self.clear)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.preview = QtWidgets.QLabel()
        self.preview.setFixedSize(PREVIEW, PREVIEW)
        self.preview.setFrameShape(QtWidgets.QFrame.Shape.Box)
        self.preview.setToolTip("What the network sees: fitted to 20x20, centred by mass in 28x28 (as MNIST)")
        caption = QtWidgets.QLabel("Draw a digit")
        caption.setStyleSheet("font-size: 12pt; font-weight: bold;")
        note = QtWidgets.QLabel("The network sees it\nas MNIST does:\nfitted to 20x20,\ncentred by mass\nin 28x28.")
        note.setStyleSheet("font-size: 11pt; color: #444;")
        side = QtWidgets.QVBoxLayout()
        side.addWidget(QtWidgets.QLabel("Network input (28x28):"))
        side.addWidget(self.preview)
        side.addWidget(note)
        side.addStretch(1)
        side.addWidget(self.clear_button)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.paint_area, 1)
        row.addLayout(side)
        box = QtWidgets.QVBoxLayout(self)
        box.addWidget(caption)
        box.addLayout(row, 1)
        self.digit: np.ndarray | None = None
        self.clear_button.clicked.connect(self.clear)
        self.paint_area.stroke_finished.connect(self._stroke_finished)
        self._show_preview(np.zeros((28, 28), np.float32))

    def drawing(self) -> np.ndarray:
        """The raw canvas, float32 (280, 280) in 0..1."""
        return qimage_to_array(self.paint_area.image)

    def clear(self) -> None:
        self.paint_area.clear()
        self.digit = None
        self._show_preview(np.zeros((28, 28), np.float32))
        self.cleared.emit()

    def _stroke_finished(self) -> None:
        digit = mnist_preprocess(self.drawing())
        if not digit.any():
            return
        self.digit = digit
        self._show_preview(digit[0])
        self.digit_drawn.emit(digit)

    def _show_preview(self, image28: np.ndarray) -> None:
        big = np.kron(image28, np.ones((PREVIEW // 28, PREVIEW // 28), np.float32))
        self.preview.setPixmap(QtGui.QPixmap.fromImage(array_to_qimage(big)))

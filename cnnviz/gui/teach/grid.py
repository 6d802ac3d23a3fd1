"""NumberGrid: one small 2-D array in a pyqtgraph plot, coloured and (when cells are big enough on
screen) with each cell's number written on it; named highlight rectangles; an optional grey veil over
cells that are "not yet computed". Used by the explain dialog and the convolution animation.

Rule 7: one row-major ImageItem, fixed levels given by the caller (or symmetric about zero for signed
data), a 256-entry lookup table, and a colour bar for signed data.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from cnnviz.gui import theme
from cnnviz.gui.panels.common import fit_title_row, narrow_label, wrap_html

MIN_CELL_PX = 36      # a cell narrower than this on screen carries no number (it would hide the colour)
MAX_NUMBERS = 400     # never more text items than this in one grid


def number_text(value: float) -> str:
    """Three significant digits, short: 0.123, -1.5e-05, 12.3."""
    value = float(value)
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{float(mantissa):.3g}e{int(exponent)}"


def cell_scale(levels_or_max: float) -> int:
    """Power of ten the cell numbers are written in: 0 for max|x| in [0.1, 100), else floor(log10)."""
    m = float(levels_or_max)
    if not np.isfinite(m) or m <= 0 or 0.1 <= m < 100:
        return 0
    return int(np.floor(np.log10(m)))


def cell_text(value: float, exponent: int, top: float) -> str:
    """A cell's number, short enough for a small cell: value / 10^exponent with two decimals (one
    when the scaled maximum reaches 10), trailing zeros dropped: 3 significant digits for the largest
    values."""
    scaled = value / 10.0 ** exponent
    decimals = 2 if top / 10.0 ** exponent < 10 else 1
    text = f"{scaled:.{decimals}f}".rstrip("0").rstrip(".")   # 1.00 -> 1, 0.50 -> 0.5: narrower cells
    return "0" if float(text) == 0 else text


def power_text(exponent: int) -> str:
    digits = str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"×10{digits}"


class NumberGrid:
    """A PlotItem in ``canvas`` at (row, col) showing a (H, W) array with numbers on its cells."""

    def __init__(self, canvas: pg.GraphicsLayoutWidget, row: int, col: int, title: str = "",
                 colorbar: bool = True, bar_label: str = "", rowspan: int = 1, colspan: int = 1,
                 axes: bool = False, look: theme.Theme = theme.DEFAULT):
        self.theme = look           # its palette (its text stays at the base size: see apply_theme)
        self.plot = canvas.addPlot(row=row, col=col, rowspan=rowspan, colspan=colspan)
        p = self.plot
        p.invertY(True)
        p.setAspectLocked(True)
        p.hideButtons()
        p.setMenuEnabled(False)
        p.setMouseEnabled(False, False)
        p.getViewBox().setDefaultPadding(0.02)
        narrow_label(p.titleLabel)
        for name in ("left", "bottom"):
            axis = p.getAxis(name)
            axis.setTickFont(theme.font(theme.SMALL_PT))
            axis.setTextPen(theme.TEXT)
            p.showAxis(name, axes)
        self.image = pg.ImageItem(axisOrder="row-major")
        p.addItem(self.image)
        self.veil = pg.ImageItem(axisOrder="row-major")    # RGBA: grey where a cell is not computed yet
        self.veil.setZValue(5)
        p.addItem(self.veil)
        self.cmap = self.theme.diverging
        self.bar = None
        if colorbar:
            self.bar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=self.theme.diverging, label=bar_label,
                                       interactive=False, width=12, colorMapMenu=False)
            self.bar.setImageItem(self.image, insert_in=p)
            theme.readable_ticks(self.bar.getAxis("right"))
            self.bar.getAxis("right").setTickFont(theme.font(theme.SMALL_PT))
            self.bar.setContentsMargins(0, 9, 0, 9)
        else:
            self.image.setLookupTable(theme.lut(self.cmap))
        self.numbers: list[pg.TextItem] = []
        self.rects: dict[str, QtWidgets.QGraphicsRectItem] = {}
        self.data: np.ndarray | None = None
        self.levels = (-1.0, 1.0)
        self.show_numbers = True
        self.exponent = 0
        self.title = ""
        self.set_title(title)
        p.getViewBox().sigResized.connect(self._number_visibility)
        p.getViewBox().sigResized.connect(self._fit_title)
        p.getViewBox().sigRangeChanged.connect(self._number_visibility)

    def apply_theme(self, look: theme.Theme) -> None:
        """Colour with ``look``'s palette from the next ``set_data`` on. Its text keeps the base
        sizes whatever ``look``'s font scale: the teaching windows are zoomed as a whole in lecture
        mode (cnnviz.gui.lecture), so scaled text would grow twice."""
        self.theme = look
        self.cmap = None

    def reuse(self, title: str, bar_label: str = "") -> None:
        """Prepare the grid for new content (cheaper than building a new plot): new title and colour-bar
        label, no highlights."""
        for rect in self.rects.values():
            rect.hide()
        if hasattr(self, "separators"):
            self.separators.setData([], [])
        if self.bar is not None:
            self.bar.getAxis("left").setLabel(bar_label)
        self.set_title(title)

    def set_title(self, text: str) -> None:
        """The title; when the numbers are written in a power of ten, it says so (e.g. "×10⁻⁶")."""
        self.title = text
        suffix = f" ({power_text(self.exponent)})" if self.exponent and self.numbers else ""
        self._full_title = text + suffix
        self._title_key = None
        self._fit_title()

    def _fit_title(self, *_args) -> None:
        """Wrap the title at spaces to the plot's width: a long title with its scale factor
        ("… (×10⁻⁴)") was cut at the plot's edge, hiding the factor the numbers need."""
        text = getattr(self, "_full_title", "")
        width = self.plot.geometry().width()
        key = (text, round(width))
        if key == getattr(self, "_title_key", None):
            return
        self._title_key = key
        if width > 40:
            text = wrap_html(text, width - 12, QtGui.QFontMetrics(theme.font(theme.FONT_PT)))
        self.shown_title = text
        self.plot.setTitle(text, size=f"{theme.FONT_PT}pt", color=theme.TEXT)
        fit_title_row(self.plot)

    def set_data(self, array: np.ndarray, levels: tuple[float, float] | None = None,
                 signed: bool | None = None, numbers: bool = True, hidden: np.ndarray | None = None) -> None:
        """Draw ``array`` (H, W). signed: diverging map, levels symmetric about 0 (default when any value
        is negative); else the sequential map from min(0, min) to max. levels: fixed levels to use
        instead (e.g. shared by a whole animation). hidden: bool (H, W), cells shown veiled, no number."""
        a = np.asarray(array, dtype=np.float32)
        if a.ndim == 1:
            a = a[None]
        signed = theme.is_signed(a) if signed is None else signed   # the numbers' colours need it too
        levels, cmap = self.theme.colouring(a, signed, levels)
        if cmap is not self.cmap:
            self.cmap = cmap
            if self.bar is not None:
                self.bar.setColorMap(cmap)
            else:
                self.image.setLookupTable(theme.lut(cmap))
        reshape = self.data is None or self.data.shape != a.shape
        self.image.setImage(a, autoLevels=False)
        self.image.setRect(QtCore.QRectF(0, 0, a.shape[1], a.shape[0]))
        if self.bar is not None:
            self.bar.setLevels(levels)
            self.bar.axis.setTicks(theme.bar_ticks(levels))
        else:
            self.image.setLevels(levels)
        self.levels = levels
        self.data = a
        self._set_veil(hidden)
        self.show_numbers = numbers and a.size <= MAX_NUMBERS
        self._write_numbers(a, levels, signed, hidden, reshape)
        if reshape:
            self.plot.getViewBox().autoRange(padding=0.02)

    def _set_veil(self, hidden) -> None:
        if hidden is None or not np.any(hidden):
            self.veil.hide()
            return
        rgba = np.zeros(hidden.shape + (4,), np.uint8)
        rgba[hidden] = (225, 225, 225, 255)
        self.veil.setImage(rgba, autoLevels=False, levels=(0, 255))
        self.veil.setRect(QtCore.QRectF(0, 0, hidden.shape[1], hidden.shape[0]))
        self.veil.show()

    def _write_numbers(self, a, levels, signed, hidden, reshape) -> None:
        if reshape or not self.show_numbers:
            for item in self.numbers:
                self.plot.removeItem(item)
            self.numbers = []
        if not self.show_numbers:
            if self.exponent:
                self.exponent = 0
                self.set_title(self.title)
            return
        h, w = a.shape
        if not self.numbers:
            for y in range(h):
                for x in range(w):
                    item = pg.TextItem("", anchor=(0.5, 0.5))
                    item.setFont(theme.font(theme.SMALL_PT))
                    item.setPos(x + 0.5, y + 0.5)
                    item.setZValue(10)
                    self.plot.addItem(item, ignoreBounds=True)
                    self.numbers.append(item)
        span = max(abs(levels[0]), abs(levels[1])) if signed else (levels[1] - levels[0]) or 1.0
        top = float(np.max(np.abs(a))) if a.size else 0.0
        exponent = cell_scale(top)
        if exponent != self.exponent or reshape:
            self.exponent = exponent
            self.set_title(self.title)
        for index, item in enumerate(self.numbers):
            y, x = divmod(index, w)
            if hidden is not None and hidden[y, x]:
                item.setText("")
                continue
            value = float(a[y, x])
            strength = abs(value) / span if signed else (value - levels[0]) / span
            item.setColor("#ffffff" if strength > 0.62 else theme.TEXT)
            item.setText(cell_text(value, exponent, top))
        self._number_visibility()

    def _number_visibility(self, *_args) -> None:
        if not self.numbers:
            return
        px = self.plot.getViewBox().viewPixelSize()[0]
        show = self.show_numbers and px > 0 and 1.0 / px >= MIN_CELL_PX
        for item in self.numbers:
            item.setVisible(show)

    def highlight(self, name: str, top: float, left: float, height: float, width: float,
                  color: str = theme.WINNER, pen_width: float = 3.0, dashed: bool = False) -> None:
        """A rectangle over cells [top, top+height) x [left, left+width) (created once per name)."""
        rect = self.rects.get(name)
        if rect is None:
            rect = QtWidgets.QGraphicsRectItem()
            pen = QtGui.QPen(QtGui.QColor(color))
            pen.setWidthF(pen_width)
            pen.setCosmetic(True)
            if dashed:
                pen.setStyle(QtCore.Qt.PenStyle.DashLine)
            rect.setPen(pen)
            rect.setZValue(20)
            self.plot.addItem(rect, ignoreBounds=True)
            self.rects[name] = rect
        rect.setRect(QtCore.QRectF(left, top, width, height))
        rect.show()

    def set_separators(self, x: np.ndarray, y: np.ndarray, connect: np.ndarray) -> None:
        """Grey lines between the tiles of a mosaic (``MosaicLayout.separator_lines()``)."""
        if not hasattr(self, "separators"):
            pen = QtGui.QPen(QtGui.QColor(theme.GRID))
            pen.setWidthF(1.0)
            pen.setCosmetic(False)
            self.separators = pg.PlotCurveItem(pen=pen)
            self.separators.setZValue(4)
            self.plot.addItem(self.separators, ignoreBounds=True)
        self.separators.setData(x, y, connect=connect)

    def hide_highlight(self, name: str) -> None:
        if name in self.rects:
            self.rects[name].hide()

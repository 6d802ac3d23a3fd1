"""MapView: one mosaic drawn as ONE ImageItem, with its colour bar (numeric ticks, symmetric levels
for signed data), the separators as one curve, tile numbers and a placeholder sentence, plus the
title and tick helpers it needs. Every map panel is built from these (see common.Panel)."""

from __future__ import annotations

import math
import re

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from cnnviz.gui import theme
from cnnviz.gui.mosaic import MosaicLayout, make_layout, tile
from cnnviz.gui.pg_compat import FastImage, narrow_label, set_bar_levels

def pixel_ticks(n: int, cell_px: float | None = None, label_px: float = 0.0) -> list:
    """Axis ticks for n pixels: label i at i + 0.5 (the cell's centre), every 1, 2, 5 or 10 cells
    (few enough to read), with unlabelled minor ticks on every cell when n is small. cell_px: a cell's
    size on screen; then labels are at least label_px apart (a label's height or width plus a gap),
    so big fonts on small cells (lecture mode) never crowd."""
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10 ** 9)
                if n / s <= 12 and (not cell_px or s * cell_px >= label_px))
    major = [(i + 0.5, str(i)) for i in range(0, n, step)]
    minor = [(i + 0.5, "") for i in range(n) if i % step] if n <= 40 else []
    return [major, minor]


def fit_title_row(plot: pg.PlotItem) -> None:
    """Give a PlotItem's title row the height of its text: pyqtgraph fixes it at 30 px, so a
    second or third line ran over the picture and the colour bar's end label."""
    height = max(30.0, math.ceil(plot.titleLabel.item.boundingRect().height()))
    plot.titleLabel.setMaximumHeight(height)
    plot.layout.setRowFixedHeight(0, height)


def html_lines_text(html: str) -> str:
    """A title's plain text, its <br> as newlines (what a reader sees)."""
    lines = re.split(r"<br\s*/?>", html)
    return "\n".join(plain_text(line) for line in lines)


def plain_text(html: str) -> str:
    text = re.sub(r"<[^>]*>", "", html)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("&nbsp;", " ")


def wrap_html(html: str, width: float, metrics: QtGui.QFontMetrics) -> str:
    """Break each <br>-line of ``html`` at spaces (never inside a tag) so that no line is wider than
    ``width`` pixels in ``metrics``' font; a single word wider than that stays whole."""
    out = []
    for line in re.split(r"<br\s*/?>", html):
        words = re.split(r" (?![^<]*>)", line)
        current = ""
        for word in words:
            trial = f"{current} {word}" if current else word
            if current and metrics.horizontalAdvance(plain_text(trial)) > width:
                out.append(current)
                current = word
            else:
                current = trial
        out.append(current)
    return "<br>".join(out)


def locate_unit(layout: MosaicLayout | None, x: float, y: float, vector_units: int = 0):
    """Image point -> (channel, y, x) of a map cell, or (unit, 0, 0) when the view shows a vector of
    ``vector_units`` units as one grid (see as_maps); None off the maps."""
    if layout is None:
        return None
    hit = layout.locate(x, y)
    if hit is None:
        return None
    index, ty, tx = hit
    if vector_units:
        unit = ty * layout.w + tx
        return None if unit >= vector_units else (unit, 0, 0)
    return (index, ty, tx)


def cache_paint(*items) -> None:
    """Let Qt keep each item's last painting as a pixmap: a new image under a tile number, a
    separator or an axis then repaints it by a copy, without calling its Python paint() (which
    needs the GIL the training thread wants). The item repaints for real only after update()."""
    for item in items:
        item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


# -- a clickable image ------------------------------------------------------------------------
class ClickableImage(FastImage):
    """An ImageItem that reports left clicks in image coordinates (x = column, y = row)."""

    clicked = QtCore.pyqtSignal(float, float)

    def mouseClickEvent(self, ev):
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            pos = ev.pos()
            self.clicked.emit(float(pos.x()), float(pos.y()))
            ev.accept()
        else:
            super().mouseClickEvent(ev)


# -- one mosaic in one plot -------------------------------------------------------------------
WAITING = "waiting for the network"


class MapView:
    """A PlotItem showing one mosaic with ONE ImageItem, a colour bar with numeric ticks, the
    separators as ONE curve, the tile numbers (created only when the layout changes) and a
    placeholder sentence when there is nothing to draw."""

    def __init__(self, canvas: pg.GraphicsLayoutWidget, row: int, col: int, bar_label: str = "",
                 lock_aspect: bool = True, numbers: bool = True, rowspan: int = 1, colspan: int = 1,
                 colorbar: bool = True):
        self.theme = theme.DEFAULT      # the panel applies its own (apply_theme)
        self.plot = canvas.addPlot(row=row, col=col, rowspan=rowspan, colspan=colspan)
        p = self.plot
        p.invertY(True)
        p.setAspectLocked(lock_aspect)
        p.hideButtons()
        p.setMenuEnabled(False)
        p.getViewBox().setDefaultPadding(0.01)
        for name in ("left", "bottom", "top"):
            axis = p.getAxis(name)
            axis.setTickFont(theme.font(self.theme.font_pt))
            axis.setTextPen(theme.TEXT)
        cache_paint(*(p.getAxis(name) for name in ("left", "bottom", "top", "right")))
        narrow_label(p.titleLabel)
        self.image = ClickableImage(axisOrder="row-major")
        p.addItem(self.image)
        pen = QtGui.QPen(QtGui.QColor(theme.GRID))
        pen.setWidthF(1.0)
        pen.setCosmetic(False)   # 1 image pixel wide: exactly covers a 1-px separator at any zoom
        pen.setCapStyle(QtCore.Qt.PenCapStyle.FlatCap)
        self.separators = pg.PlotCurveItem(pen=pen)
        p.addItem(self.separators, ignoreBounds=True)
        self.empty_tiles = QtWidgets.QGraphicsPathItem()
        self.empty_tiles.setBrush(QtGui.QBrush(QtGui.QColor(theme.GRID)))
        self.empty_tiles.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
        p.addItem(self.empty_tiles, ignoreBounds=True)
        cache_paint(self.separators, self.empty_tiles)
        # dead channels: each such tile framed and crossed out (one path for all of them)
        dead_pen = QtGui.QPen(QtGui.QColor(theme.DEAD))
        dead_pen.setWidthF(2.0)
        dead_pen.setCosmetic(True)
        self.dead_marks = QtWidgets.QGraphicsPathItem()
        self.dead_marks.setPen(dead_pen)
        self.dead_marks.setZValue(8)
        p.addItem(self.dead_marks, ignoreBounds=True)
        self.dead_tiles: list[int] = []
        self.cmap = self.theme.diverging
        self.bar = None
        if colorbar:
            self.bar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=self.theme.diverging, label=bar_label,
                                       interactive=False, width=13, colorMapMenu=False)
            self.bar.setImageItem(self.image, insert_in=p)
            self.bar.getAxis("right").setTickFont(theme.font(self.theme.small_pt))
            self.bar.getAxis("left").setTickFont(theme.font(self.theme.small_pt))
            theme.readable_ticks(self.bar.getAxis("right"))
            cache_paint(*(self.bar.getAxis(name) for name in ("left", "bottom", "top", "right")))
            self._fit_bar()
            self.bar.geometryChanged.connect(self._retick)
        else:   # levels shared with another view's colour bar
            self.image.setLookupTable(theme.lut(self.theme.diverging))
            self.image.setLevels((-1.0, 1.0))
        self.placeholder = pg.TextItem("", color=theme.MUTED, anchor=(0.5, 0.5))
        self.placeholder.setFont(theme.font(self.theme.title_pt))
        p.addItem(self.placeholder, ignoreBounds=True)
        self.placeholder.hide()
        self.show_numbers = numbers
        p.getViewBox().sigRangeChanged.connect(self._number_visibility)
        p.getViewBox().sigResized.connect(self._number_visibility)
        p.getViewBox().sigResized.connect(self._resized)
        p.getViewBox().sigRangeChanged.connect(self._fit_pixel_ticks)
        self._pixel_step = None
        self.on_relayout = None     # called when a resize wants a different grid (the panel redraws)
        self._auto_cols = False
        self.number_items: list[pg.TextItem] = []
        self.layout: MosaicLayout | None = None
        self.levels = (-1.0, 1.0)
        self.data: np.ndarray | None = None
        self._axes_key = None
        self._ticks_shown = 0
        self._bar_labels: list[str] = []
        # until a first snapshot: one sentence, not bare axes and a made-up ±1 colour bar (with a
        # bad --data folder nothing may come until the user picks a dataset)
        self.show_placeholder(WAITING)

    # -- drawing --------------------------------------------------------------------------
    def set_title(self, text: str) -> None:
        """``text`` (HTML, lines split by <br>) above the plot, each line wrapped at spaces to the
        plot's width: a title never runs into its neighbour's (the label may be narrower than its
        text, see narrow_label). Wrapped again when the plot changes width."""
        if text != getattr(self, "_title", None):
            self._title = text
            self._title_fit = None
            self._fit_title()

    def set_bar_label(self, text: str) -> None:
        """Name what the colour bar measures (e.g. "z" for a pre-activation, "a" for an activation)."""
        if self.bar is not None and text != getattr(self, "_bar_label", None):
            self._bar_label = text
            self.bar.getAxis("left").setLabel(text)

    @property
    def bar_label(self) -> str:
        return self.bar.getAxis("left").labelText if self.bar is not None else ""

    def _fit_title(self) -> None:
        text = getattr(self, "_title", None)
        if text is None:
            return
        # the title sits above the view box (right of the left axis) and may run to the plot's edge
        width = self.plot.geometry().width() - self.plot.titleLabel.pos().x()
        key = (text, round(width), self.theme)
        if key == getattr(self, "_title_fit", None):
            return
        self._title_fit = key
        wrapped = wrap_html(text, width - 8, QtGui.QFontMetrics(theme.font(self.theme.font_pt))) if width > 40 else text
        if wrapped != getattr(self, "_title_shown", None):
            self._title_shown = wrapped
            self.plot.setTitle(wrapped, size=f"{self.theme.font_pt}pt", color=theme.TEXT, justify="left")
            fit_title_row(self.plot)

    @property
    def title_text(self) -> str:
        """The title as shown (wrapped), as plain text lines joined by newlines."""
        return html_lines_text(getattr(self, "_title_shown", None) or "")

    def show_maps(self, maps: np.ndarray, signed: bool | None = None, cols: int | None = None,
                  row_labels=None, col_labels=None, numbers: bool | None = None,
                  levels: tuple[float, float] | None = None, row_title: str = "",
                  col_title: str = "", units: int | None = None) -> MosaicLayout:
        """Draw ``maps`` (N, H, W) as one mosaic. signed: diverging map with levels +-max|x|
        (None: decide from the data); otherwise sequential from min(0, min) to max. units: a vector
        drawn as one grid (as_maps) has this many real cells; the padding after them is greyed."""
        maps = np.asarray(maps, dtype=np.float32)
        if maps.ndim == 2:
            maps = maps[None]
        n, h, w = maps.shape
        layout = self.layout
        self._auto_cols = cols is None and n > 1
        if cols is None and n > 1:
            cols = make_layout(n, h, w, None, aspect=self.view_aspect()).cols   # fill the plot's shape
        if layout is None or (layout.n, layout.h, layout.w) != (n, h, w) or (cols and layout.cols != cols):
            layout = make_layout(n, h, w, cols)
        image, layout = tile(maps, layout)
        levels, cmap = self.theme.colouring(image, signed, levels)
        if cmap is not self.cmap:
            self.cmap = cmap
            if self.bar is not None:
                self.bar.setColorMap(cmap)
            else:
                self.image.setLookupTable(theme.lut(cmap))
        self._set_layout(layout, row_labels, col_labels, self.show_numbers if numbers is None else numbers,
                         row_title, col_title, units)
        if self.bar is not None:
            self._set_bar_levels(levels)
        self.image.setImage(image, autoLevels=False)
        self.image.setLevels(levels)
        self.levels = levels
        self.data = image
        if self.placeholder.isVisible():
            self.placeholder.hide()
            if self.bar is not None:
                self.bar.show()
        return layout

    def apply_theme(self, look: theme.Theme) -> None:
        """Draw with ``look``: the next show_maps re-applies title, colour map and tile numbers."""
        self.theme = look
        self._title = None
        self._title_shown = None
        self._axes_key = None
        self.cmap = None
        self._ticks_shown = 0
        self._pixel_step = None
        if self.bar is not None:
            self._fit_bar()

    def _fit_bar(self) -> None:
        """Room above and below the bar for half an end label, at the tick font's size (a fixed 9 px
        cut the end labels, the range, off at 1.5x)."""
        overhang = theme.fit_bar_axis(self.bar.getAxis("right"))
        self.bar.setContentsMargins(0, overhang, 0, overhang)

    def _set_bar_levels(self, levels: tuple[float, float]) -> None:
        """The colour bar shows ``levels`` (the image gets them from show_maps). Its ticks always sit at
        the same fractions of the bar, so when their labels read the same as last frame the axis
        picture is unchanged: then only the numbers behind it move, and the axis is not laid out
        again (~0.4 ms of Python per bar per frame, most frames once training settles)."""
        count = self._tick_count()
        ticks = theme.bar_ticks(levels, count)
        labels = [text for _, text in ticks[0]]
        same = count == self._ticks_shown and labels == self._bar_labels
        set_bar_levels(self.bar, levels, ticks, relayout=not same)
        self._ticks_shown, self._bar_labels = count, labels

    def _retick(self) -> None:
        """The bar changed height: as many labelled ticks as fit (see _tick_count)."""
        if self._tick_count() != self._ticks_shown and self.data is not None:
            self._set_bar_levels(self.levels)

    def _tick_count(self) -> int:
        """5 labels on a tall colour bar, 3 (low, 0 or middle, high) on a short one, 2 on a tiny one."""
        h = self.bar.geometry().height()
        return 5 if h >= 170 or h <= 0 else (3 if h >= 70 else 2)

    def view_aspect(self) -> float:
        """Width / height of the plot area on screen (1.6 before the first layout)."""
        rect = self.plot.getViewBox().boundingRect()
        if rect.width() < 20 or rect.height() < 20:
            return 1.6
        return float(rect.width() / rect.height())

    def _resized(self, *_args) -> None:
        """A new plot shape may want a new grid (e.g. 4x2 -> 8x1 in a wide dock): redraw then. The
        title and a placeholder sentence are wrapped to the new width."""
        self._fit_title()
        if self.placeholder.isVisible():
            self._wrap_placeholder()
        if not self._auto_cols or self.layout is None or self.on_relayout is None:
            return
        lay = self.layout
        if make_layout(lay.n, lay.h, lay.w, None, aspect=self.view_aspect()).cols != lay.cols:
            QtCore.QTimer.singleShot(0, self.on_relayout)   # not inside the layout pass

    def _fit_pixel_ticks(self, *_args) -> None:
        """One map's pixel ticks, as dense as its cells on screen allow: re-ticked only when the label
        step changes (a resize or new layout), never per frame."""
        lay = getattr(self, "layout", None)
        if lay is None or lay.n != 1 or not self.plot.getAxis("left").isVisible():
            return
        px_x, px_y = self.plot.getViewBox().viewPixelSize()
        cell_x = 1.0 / px_x if px_x > 0 else None
        cell_y = 1.0 / px_y if px_y > 0 else None
        left, bottom = self.plot.getAxis("left"), self.plot.getAxis("bottom")
        sizes = getattr(self, "_label_px", None)
        if sizes is None or sizes[0] != (self.theme, lay.w):   # measured once per font and width
            metrics = QtGui.QFontMetrics(left.style.get("tickFont") or theme.font(self.theme.font_pt))
            sizes = self._label_px = ((self.theme, lay.w), 1.15 * metrics.height(),
                                      metrics.horizontalAdvance(str(max(lay.w - 1, 0))) + 0.6 * metrics.height())
        rows, cols = pixel_ticks(lay.h, cell_y, sizes[1]), pixel_ticks(lay.w, cell_x, sizes[2])
        key = (lay.h, lay.w, len(rows[0]), len(cols[0]))
        if key != getattr(self, "_pixel_step", None):
            self._pixel_step = key
            left.setTicks(rows)
            bottom.setTicks(cols)

    def _number_visibility(self, *_args) -> None:
        """Tile numbers only where a tile is big enough on screen to carry one without hiding it."""
        if not self.number_items or self.layout is None:
            return
        px = self.plot.getViewBox().viewPixelSize()[0]
        show = px > 0 and self.layout.w / px >= 60   # else the number hides too much of the tile
        if show != self.number_items[0].isVisible():
            for item in self.number_items:
                item.setVisible(show)

    def mark_dead(self, tiles, tip: str = "") -> None:
        """Frame and cross out the tiles numbered ``tiles`` of the mosaic drawn last (dead channels),
        with ``tip`` as the marks' tooltip; an empty list removes the marks."""
        tiles = [int(t) for t in tiles] if self.layout is not None else []
        key = (tuple(tiles), self.layout)
        if key == getattr(self, "_dead_key", None):
            return
        self._dead_key = key
        self.dead_tiles = tiles
        path = QtGui.QPainterPath()
        if tiles:
            origins, lay = self.layout.origins(), self.layout
            for t in tiles:
                if 0 <= t < lay.n:
                    y, x = (float(v) for v in origins[t])
                    path.addRect(QtCore.QRectF(x, y, lay.w, lay.h))
                    path.moveTo(x, y)
                    path.lineTo(x + lay.w, y + lay.h)
                    path.moveTo(x + lay.w, y)
                    path.lineTo(x, y + lay.h)
        self.dead_marks.setPath(path)
        self.dead_marks.setToolTip(tip if tiles else "")

    def show_placeholder(self, text: str) -> None:
        """Nothing to draw: an empty plot with one grey sentence in the middle."""
        self.mark_dead([])
        self.image.clear()
        self.data = None
        self.layout = None
        self._axes_key = None
        self.separators.setData([], [])
        self.empty_tiles.setPath(QtGui.QPainterPath())
        self._clear_numbers()
        for name in ("left", "top", "bottom"):
            self.plot.showAxis(name, False)
        if self.bar is not None:
            self.bar.hide()
        self.placeholder.setText(text)
        self._wrap_placeholder()
        self.placeholder.setPos(0.5, 0.5)
        self.placeholder.show()
        self.plot.getViewBox().disableAutoRange()
        self.plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)

    def _wrap_placeholder(self) -> None:
        """Wrap the placeholder to the plot's width (TextItem widths are screen pixels), so it stays
        inside the plot; again after every resize (a width taken before the dock's last layout cut
        the sentence at both edges)."""
        width = self.plot.getViewBox().boundingRect().width()
        self.placeholder.textItem.setTextWidth(max(40.0, 0.94 * width) if width > 0 else -1)
        self.placeholder.setPos(0.5, 0.5)   # TextItem re-anchors its new size around this point

    def set_aspect_locked(self, locked: bool) -> None:
        """Square pixels for maps; stretched for a wide matrix (e.g. 128 x 800 weights)."""
        if locked != getattr(self, "_aspect", None):
            self._aspect = locked
            self.plot.setAspectLocked(locked)
            self._axes_key = None   # re-fit the range

    @property
    def placeholder_text(self) -> str | None:
        return self.placeholder.toPlainText() if self.placeholder.isVisible() else None

    # -- layout (only when the mosaic's geometry changes) ---------------------------------
    def _set_layout(self, layout: MosaicLayout, row_labels, col_labels, numbers: bool,
                    row_title: str = "", col_title: str = "", units: int | None = None) -> None:
        key = (layout, tuple(row_labels or ()), tuple(col_labels or ()), numbers, row_title, col_title, units)
        if key == self._axes_key:
            return
        self._axes_key = key
        self.layout = layout
        x, y, connect = layout.separator_lines()
        self.separators.setData(x, y, connect=connect)
        path = QtGui.QPainterPath()
        for rect in layout.unused_tiles():
            path.addRect(QtCore.QRectF(*rect))
        if units is not None and layout.n == 1 and units < layout.h * layout.w:
            row, col = divmod(units, layout.w)    # the padding: the rest of the last row
            path.addRect(QtCore.QRectF(col, row, layout.w - col, layout.h - row))
        self.empty_tiles.setPath(path)
        self._clear_numbers()
        p = self.plot
        step_y, step_x = layout.h + layout.sep, layout.w + layout.sep
        if row_labels or col_labels:
            p.showAxis("bottom", False)
            p.showAxis("left", bool(row_labels))
            p.showAxis("top", bool(col_labels))
            style = {"font-size": f"{self.theme.small_pt}pt", "color": theme.MUTED}
            if row_labels:
                p.getAxis("left").setTicks([[(r * step_y + layout.h / 2, t) for r, t in enumerate(row_labels)], []])
                p.getAxis("left").setLabel(row_title, **style)
            if col_labels:
                p.getAxis("top").setTicks([[(c * step_x + layout.w / 2, t) for c, t in enumerate(col_labels)], []])
                p.getAxis("top").setLabel(col_title, **style)
        elif layout.n == 1:
            # one map: pixel coordinates are meaningful (row y, column x)
            p.getAxis("left").setLabel("")
            p.getAxis("top").setLabel("")
            p.showAxis("top", False)
            p.showAxis("left", True)
            p.showAxis("bottom", True)
            # ticks at pixel centres: row y / column x is written under the middle of its cell
            self._pixel_step = None
            self._fit_pixel_ticks()
        else:
            for name in ("left", "bottom", "top"):
                p.showAxis(name, False)
            if numbers and layout.n <= 64:
                for i, (px, py) in enumerate(layout.label_positions()):
                    item = pg.TextItem(str(i), color=theme.TEXT, anchor=(0, 0), fill=(255, 255, 255, 190))
                    item.setFont(theme.font(self.theme.small_pt))
                    item.setPos(px, py)
                    item.setZValue(10)
                    cache_paint(item)
                    p.addItem(item, ignoreBounds=True)
                    self.number_items.append(item)
                self._number_visibility()
        p.getViewBox().enableAutoRange()   # follows the image; survives resizes and aspect lock

    def _clear_numbers(self) -> None:
        for item in self.number_items:
            self.plot.removeItem(item)
        self.number_items = []

# -- the panel base -----------------------------------------------------------------------------

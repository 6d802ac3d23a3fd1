"""The one module that leans on pyqtgraph's insides (DESIGN rule 10). Everything else uses its public API.

Each piece says what it works around and which pyqtgraph it was checked against; each has a test in
tests/gui/test_pg_compat.py that fails when the piece is removed or when pyqtgraph changes the
behaviour it relies on. Checked: pyqtgraph 0.13.7 and 0.14.0 (pyproject.toml pins >=0.13.7,<0.15).

- ``collect_garbage_in_gui_thread``: Python's cyclic garbage collector may run at any allocation, in
  any thread; run while Qt is inside a layout pass or a destructor, it frees (or empties) pyqtgraph
  objects Qt is still using: "LabelItem has no attribute '_sizeHint'" / "'_previousGeometry'"
  (pyqtgraph issue #472) and segmentation faults, in our tests with one core busy. pyqtgraph's own
  GarbageCollector collects from a timer of the GUI thread instead, where Qt is never mid-call.
- ``FastImage``: an ImageItem that renders a float image with its 256-entry table to an RGB32 QImage
  in one NumPy pass, replacing ImageItem.render and marking it done (``_renderRequired``,
  ``_unrenderable``): pyqtgraph's way costs several times more per frame.
- ``narrow_label``: a LabelItem that may be narrower than its text (a long title must not widen its
  plot); LabelItem.updateMin pins the minimum to the text's width after every text or resize.
- ``set_bar_levels``: a ColorBarItem's new levels without laying its axis out again when the tick
  labels read the same (ColorBarItem.setLevels always redraws the axis: ~0.4 ms per bar per frame).
- ``axis_ticks``: the ticks given to AxisItem.setTicks (pyqtgraph has no getter).
- ``Zoom``: a GraphicsView drawing its scene ``factor`` times larger through resizes (lecture mode),
  by setting the range its resizeEvent uses.
- ``set_dock_title_px``: a dock title's font size after construction (Dock takes it only in __init__).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.dockarea import Dock
from pyqtgraph.util.garbage_collector import GarbageCollector
from PyQt6 import QtCore, QtGui

TESTED = ("0.13.7", "0.14.0")

_collector: GarbageCollector | None = None


def collect_garbage_in_gui_thread(interval_s: float = 0.5) -> GarbageCollector:
    """Turn automatic garbage collection off and collect on a timer of the GUI thread instead, with
    the same generation thresholds (once per process; needs a QApplication). Cycles then live at
    most ``interval_s`` longer; plain reference counting still frees everything else at once."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=interval_s)
    return _collector


# -- ImageItem ------------------------------------------------------------------------------------
class FastImage(pg.ImageItem):
    """An ImageItem that turns a float image into an RGB32 QImage itself, in one short NumPy pass.

    pyqtgraph's way (an 8-bit indexed QImage with a 256-colour table, then a NaN check) costs several
    times more Python per frame, and Qt's raster engine scales an indexed image 4-6x slower than
    RGB32 at every paint (measured 0.39 vs 0.06 ms for a 99x49 mosaic drawn 6x larger). The colours
    are exactly pyqtgraph's: index = clip((x - low) * 256 / (high - low), 0, 255) truncated, then the
    lookup table. Anything else (RGB input, a lookup table with transparency) goes pyqtgraph's way
    and is converted to RGB32 afterwards.

    Relies on: ImageItem.paint calling ``self.render()`` while ``_renderRequired`` is true and
    drawing ``self.qimage`` unless ``_unrenderable`` (0.13.7, 0.14.0)."""

    _lut_source = None
    _lut32 = None

    def render(self, *args, **kwargs):
        if self._render_mono():
            return
        super().render(*args, **kwargs)
        q = self.qimage
        if q is not None and q.format() == QtGui.QImage.Format.Format_Indexed8:
            lut = self.lut
            has_alpha = isinstance(lut, np.ndarray) and lut.shape[-1] == 4 and bool(np.any(lut[:, 3] != 255))
            fmt = QtGui.QImage.Format.Format_ARGB32_Premultiplied if has_alpha else QtGui.QImage.Format.Format_RGB32
            self.qimage = q.convertToFormat(fmt)

    def _colours(self) -> np.ndarray | None:
        """The lookup table as 0xFFRRGGBB words (None: not an opaque 256-entry table)."""
        lut = self.lut
        if lut is not self._lut_source:
            self._lut_source, self._lut32 = lut, None
            if (isinstance(lut, np.ndarray) and lut.dtype == np.uint8 and lut.ndim == 2
                    and lut.shape[0] == 256 and lut.shape[1] in (3, 4)
                    and (lut.shape[1] == 3 or bool(np.all(lut[:, 3] == 255)))):
                rgb = lut[:, :3].astype(np.uint32)
                self._lut32 = 0xFF000000 | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
        return self._lut32

    def _render_mono(self) -> bool:
        image, levels = self.image, self.levels
        if (image is None or image.ndim != 2 or image.dtype != np.float32 or image.size == 0
                or levels is None or np.ndim(levels) != 1 or self.autoDownsample):
            return False
        colours = self._colours()
        if colours is None:
            return False
        lo, hi = float(levels[0]), float(levels[1])
        # pyqtgraph's float32 steps, in as few NumPy calls as possible: each one lets the training
        # thread take the GIL, and getting it back can cost the GUI thread milliseconds
        scale = 256.0 / (hi - lo if hi != lo else 1.0)
        # a range under ~1e-36 (a vanishing gradient) has a scale float32 cannot hold: use float64
        work = np.float32 if scale < 1e36 else np.float64
        scaled = np.subtract(image, work(lo), dtype=work)
        scaled *= work(scale)
        np.clip(scaled, 0, 255, out=scaled)   # (NaN never gets here: tile() and the data are finite)
        self._argb = colours.take(scaled.astype(np.uint8))
        h, w = self._argb.shape
        self.qimage = QtGui.QImage(self._argb.data, w, h, 4 * w, QtGui.QImage.Format.Format_RGB32)
        self._renderRequired = False     # what ImageItem.render sets when it has made self.qimage
        self._unrenderable = False
        return True


# -- LabelItem ------------------------------------------------------------------------------------
def narrow_label(label_item: pg.LabelItem, width: float = 40.0) -> None:
    """Let a pyqtgraph LabelItem be narrower than its text: a long title may overflow its plot
    instead of forcing the whole layout wider than the dock (which pushed plots out of sight).

    LabelItem.updateMin (called by setText, setAngle and resizeEvent; 0.13.7, 0.14.0) sets the
    minimum width to the text's; after it, a user minimum and preferred width of ``width`` (public
    QGraphicsLayoutItem API, which wins over sizeHint) say otherwise. The text is not clipped:
    clipping cut two-line titles in half; MapView.set_title wraps its lines to the plot instead."""
    original = label_item.updateMin

    def update_min():
        original()
        label_item.setMinimumWidth(width)
        label_item.setPreferredWidth(width)

    label_item.updateMin = update_min
    update_min()


# -- AxisItem and ColorBarItem ----------------------------------------------------------------------
def axis_ticks(axis: pg.AxisItem):
    """The ticks last given to ``axis.setTicks`` (None: automatic ticks)."""
    return axis._tickLevels


def set_bar_levels(bar: pg.ColorBarItem, levels: tuple[float, float], ticks, relayout: bool) -> None:
    """Show ``levels`` on the colour bar with ``ticks`` (AxisItem.setTicks format). relayout False
    (the labels read as last time, at the same fractions of the bar): the axis picture stays as it
    is, only the numbers behind it change, as ColorBarItem.setLevels and AxisItem.setRange/setTicks
    store them (0.13.7, 0.14.0) without their ``picture = None``. The image's own levels are the
    caller's to set."""
    axis = bar.axis
    if relayout:
        bar.setLevels(levels, update_items=False)
        axis.setTicks(ticks)
        return
    bar.values = bar.lo_prv, bar.hi_prv = tuple(levels)
    axis.range = list(levels)
    axis._tickLevels = ticks


# -- GraphicsView -----------------------------------------------------------------------------------
class Zoom(QtCore.QObject):
    """Installed as an event filter: keeps a pyqtgraph GraphicsView drawing its scene ``factor``
    times larger through resizes. GraphicsView.resizeEvent fits ``view.range`` to the view unless
    ``autoPixelRange`` (0.13.7, 0.14.0): the filter sets that range first, scaled down."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def eventFilter(self, view, event) -> bool:
        if event.type() == QtCore.QEvent.Type.Resize:   # before the view's own resizeEvent uses view.range
            size = event.size()
            view.range = QtCore.QRectF(0, 0, size.width() / self.factor, size.height() / self.factor)
        return False

    def attach(self, view: pg.GraphicsView) -> None:
        view.installEventFilter(self)
        view.setRange(QtCore.QRectF(0, 0, view.width() / self.factor, view.height() / self.factor),
                      padding=0, disableAutoPixel=True)

    def detach(self, view: pg.GraphicsView) -> None:
        """Pixel for pixel again, as pyqtgraph draws by default."""
        view.removeEventFilter(self)
        view.autoPixelRange = True        # (setRange only ever turns it off)
        view.setRange(QtCore.QRectF(0, 0, view.width(), view.height()), padding=0, disableAutoPixel=False)


# -- Dock -------------------------------------------------------------------------------------------
def set_dock_title_px(dock: Dock, px: int) -> None:
    """The dock's title bar in ``px``-pixel type: DockLabel keeps the size it was made with in
    ``fontSize`` and writes it into its style sheet in updateStyle (0.13.7, 0.14.0)."""
    dock.label.fontSize = f"{px}px"
    dock.label.updateStyle()

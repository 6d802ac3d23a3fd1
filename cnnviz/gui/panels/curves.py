"""Curves: training loss and accuracy against images seen, raw (thin, light) and smoothed (an
exponential moving average, bias-corrected so it starts at the first value), plus validation
accuracy. Redrawn only when a curve grew (cheap setData)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtGui, QtWidgets

from cnnviz.gui import theme
from cnnviz.gui.panels.common import Panel

SMOOTHING = 0.9   # EMA weight of the past; about the last 10 points


def ema(values: np.ndarray, beta: float = SMOOTHING) -> np.ndarray:
    """Bias-corrected exponential moving average: s_t = beta s_(t-1) + (1 - beta) v_t, divided by
    (1 - beta^(t+1)) so the first points are not pulled towards 0."""
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    s = 0.0
    for t, v in enumerate(values):   # a few thousand points: well under a millisecond per new point batch
        s = beta * s + (1 - beta) * v
        out[t] = s / (1 - beta ** (t + 1))
    return out


class RunningEMA:
    """ema() of a curve that only grows: each update smooths just the new points (a long run has
    tens of thousands, and the panel may redraw 30 times a second)."""

    def __init__(self, beta: float = SMOOTHING):
        self.beta = beta
        self.values = np.zeros(0)
        self.smooth = np.zeros(0)
        self.state = 0.0

    def __call__(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        n_old = len(self.values)
        grown = len(values) >= n_old > 0 and np.array_equal(values[:n_old], self.values)
        if not grown:
            n_old, self.state, self.smooth = 0, 0.0, np.zeros(0)
        new = np.empty(len(values) - n_old)
        s, b = self.state, self.beta
        for i, v in enumerate(values[n_old:]):
            s = b * s + (1 - b) * v
            new[i] = s / (1 - b ** (n_old + i + 1))
        self.state, self.values = s, values.copy()
        self.smooth = np.concatenate([self.smooth, new])
        return self.smooth


UNITS = ((1e9, "G"), (1e6, "M"), (1e3, "k"))


def compact_label(value: float, spacing: float) -> str:
    """A tick label as short as its neighbours allow: 10000 -> "10k", 1200000 -> "1.2M", with just
    the decimals needed to tell ticks ``spacing`` apart ("1.5k" beside "2k", never "1.50k")."""
    size = abs(value)
    scale, suffix = next(((u, s) for u, s in UNITS if size >= u * (1 - 1e-9)), (1.0, ""))
    decimals = max(0, math.ceil(-math.log10(spacing / scale) - 1e-9)) if spacing > 0 else 0
    while decimals < 6 and abs(round(value / scale, decimals) - value / scale) > 1e-9 * max(1.0, size / scale):
        decimals += 1     # a tick between round numbers (12500 with ticks 2500 apart) keeps its digits
    text = f"{value / scale:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("0", "-0") else text + suffix


def nice_steps(start: float):
    """1, 2, 5 times a power of ten, from the first one >= ``start`` upwards."""
    power = 10.0 ** math.floor(math.log10(start))
    while True:
        for m in (1, 2, 5):
            if m * power >= start * (1 - 1e-9):
                yield m * power
        power *= 10


class CompactAxis(pg.AxisItem):
    """An "images seen" axis whose labels never run into each other at any width: short labels
    ("10k", "1.2M") and a major tick spacing wide enough for the widest of them plus a gap. Only
    the major ticks are labelled (the minor ones are grid lines)."""

    GAP_DIGITS = 2     # free space between two labels, in widths of "0"

    def __init__(self, orientation: str = "bottom", **kwargs):
        self.fixed_spacing = False        # setTickSpacing chose the spacing: leave it be
        super().__init__(orientation, **kwargs)
        self.setStyle(maxTextLevel=0)
        # its labels carry their own k/M: pyqtgraph 0.13.7 would also divide them by 1e6 past a million
        self.enableAutoSIPrefix(False)

    def setTickSpacing(self, major=None, minor=None, levels=None):
        super().setTickSpacing(major, minor, levels)
        self.fixed_spacing = major is not None or levels is not None

    def tickStrings(self, values, scale, spacing):
        if self.logMode:
            return super().tickStrings(values, scale, spacing)
        return [compact_label(v * scale, spacing * scale) for v in values]

    def tickSpacing(self, minVal, maxVal, size):
        levels = super().tickSpacing(minVal, maxVal, size)
        if not levels or self.fixed_spacing or self.logMode or size <= 0:
            return levels
        lo, hi = sorted((minVal, maxVal))
        metrics = QtGui.QFontMetricsF(self.style["tickFont"] or self.font())
        gap = self.GAP_DIGITS * metrics.horizontalAdvance("0")
        pixels_per_unit = size / (hi - lo)
        for major in nice_steps(levels[0][0]):
            ticks = np.arange(math.ceil(lo / major), math.floor(hi / major) + 1) * major
            widest = max((metrics.horizontalAdvance(t) for t in self.tickStrings(ticks, 1.0, major)), default=0.0)
            if major * pixels_per_unit >= widest + gap or len(ticks) <= 1:
                break
        if major == levels[0][0]:
            return levels
        first_digit = round(major / 10.0 ** math.floor(math.log10(major)))
        return [(major, 0), (major / (2 if first_digit == 2 else 5), 0)][:len(levels)]


NO_TRAINING = "no training yet"


class CurvesPanel(Panel):
    title = "Training curves"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.log_box = QtWidgets.QCheckBox("log scale for the loss")
        self.log_box.setToolTip("A log axis shows the late, slow decrease of the loss")
        self.log_box.toggled.connect(self.set_log_loss)
        self.controls.addWidget(self.log_box)
        self.controls.addStretch(1)
        self.loss_plot = self._make_plot(0, "loss")
        self.acc_plot = self._make_plot(1, "accuracy (%)")
        self.acc_plot.setXLink(self.loss_plot)
        self.acc_plot.setYRange(0, 100, padding=0.02)
        self.acc_plot.enableAutoRange(y=False)
        self.lines = {
            "loss": self.loss_plot.plot(pen=pg.mkPen(theme.RAW_LINE, width=1), name="loss (each batch)"),
            "loss_smooth": self.loss_plot.plot(pen=pg.mkPen(theme.SMOOTH_LINE, width=2.5), name="loss (smoothed)"),
            "accuracy": self.acc_plot.plot(pen=pg.mkPen(theme.ACC_RAW, width=1), name="train (each batch)"),
            "accuracy_smooth": self.acc_plot.plot(pen=pg.mkPen(theme.ACC_SMOOTH, width=2.5), name="train (smoothed)"),
            "val_accuracy": self.acc_plot.plot(pen=pg.mkPen(self.theme.val_line, width=2.5), symbol="o", symbolSize=7,
                                               symbolBrush=self.theme.val_line, symbolPen=None, name="validation"),
        }
        for item in self.lines.values():
            item.setSkipFiniteCheck(True)
            # a long run has tens of thousands of points: draw at most ~ one per screen pixel
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
        self.placeholder = pg.TextItem(NO_TRAINING, color=theme.MUTED, anchor=(0.5, 0.5))
        self.placeholder.setFont(theme.font(self.theme.title_pt))
        self.loss_plot.addItem(self.placeholder, ignoreBounds=True)
        self.loss_plot.getViewBox().sigResized.connect(self._place_placeholder)
        # the empty plot's range can change without a resize: the sentence stays in its middle
        self.loss_plot.getViewBox().sigRangeChanged.connect(self._place_placeholder)
        self.side_by_side = False
        self._seen: dict[str, tuple] = {}
        self._ema = {"loss": RunningEMA(), "accuracy": RunningEMA()}
        self.data: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _make_plot(self, row: int, ylabel: str) -> pg.PlotItem:
        p = self.canvas.addPlot(row=row, col=0, axisItems={"bottom": CompactAxis("bottom")})
        p.hideButtons()
        p.setMenuEnabled(False)
        p.showGrid(x=True, y=True, alpha=0.25)
        style = {"font-size": f"{self.theme.font_pt}pt", "color": theme.TEXT}
        p.setLabel("left", ylabel, **style)
        p.setLabel("bottom", "images seen", **style)
        for name in ("left", "bottom"):
            p.getAxis(name).setTickFont(theme.font(self.theme.font_pt))
            p.getAxis(name).setTextPen(theme.TEXT)
            p.getAxis(name).setStyle(maxTickLevel=1)   # no minor grid: calmer, and half the paint time
        # loss falls: its legend goes top right; accuracy rises: bottom right
        p.legend_item = p.addLegend(offset=(-10, 10) if row == 0 else (-10, -10), labelTextSize=f"{self.theme.small_pt}pt", labelTextColor=theme.TEXT,
                             brush=pg.mkBrush(255, 255, 255, 200), pen=pg.mkPen(theme.GRID))
        return p

    def theme_changed(self, old_scale: float) -> None:
        super().theme_changed(old_scale)
        self.lines["val_accuracy"].setPen(pg.mkPen(self.theme.val_line, width=2.5))
        self.lines["val_accuracy"].setSymbolBrush(self.theme.val_line)
        for p in (self.loss_plot, self.acc_plot):
            p.legend_item.setLabelTextSize(f"{self.theme.small_pt}pt")
        self._seen.clear()     # redraw the lines and the caption this frame

    def canvas_resized(self, w: int, h: int) -> None:
        """A wide, low dock: loss and accuracy side by side; legends only where they fit beside
        the lines (the caption names the lines anyway)."""
        side = w > 2.2 * h
        if side != self.side_by_side:
            self.side_by_side = side
            ci = self.canvas.ci
            ci.removeItem(self.acc_plot)
            ci.addItem(self.acc_plot, row=0 if side else 1, col=1 if side else 0)
        plot_h = h if side else h / 2
        for p in (self.loss_plot, self.acc_plot):
            p.legend_item.setVisible(plot_h >= 200)

    def set_log_loss(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=bool(on))
        self.loss_plot.setLabel("left", "loss (log scale)" if on else "loss")

    def show_snapshot(self, snapshot, layer_index: int | None) -> None:
        self._remember(snapshot, layer_index)
        curves = snapshot.curves or {}
        changed = False
        for key, scale in (("loss", 1.0), ("accuracy", 100.0), ("val_accuracy", 100.0)):
            arr = curves.get(key)
            sig = None if arr is None or arr.shape[-1] == 0 else (arr.shape[-1], float(arr[0, -1]), float(arr[1, -1]))
            if sig == self._seen.get(key):
                continue
            changed = True
            self._seen[key] = sig
            if sig is None:
                self.lines[key].setData([], [])
                if key + "_smooth" in self.lines:
                    self.lines[key + "_smooth"].setData([], [])
                self.data.pop(key, None)
                continue
            x = np.asarray(arr[0], dtype=np.float64)
            y = np.asarray(arr[1], dtype=np.float64) * scale
            self.data[key] = (x, y)
            self.lines[key].setData(x, y)
            if key in self._ema:
                self.lines[key + "_smooth"].setData(x, self._ema[key](y))
        if changed or not hasattr(self, "_captioned"):
            self._captioned = True
            self.placeholder.setVisible("loss" not in self.data)
            self._place_placeholder()
            self.set_caption(self._caption(snapshot))

    def _place_placeholder(self, *_args) -> None:
        """The placeholder in the middle of the empty loss plot, wrapped to its width (at the default
        size the plot is ~150 px wide: one line was cut at both ends)."""
        if not self.placeholder.isVisible():
            return
        box = self.loss_plot.getViewBox()
        width = box.boundingRect().width()
        self.placeholder.textItem.setTextWidth(max(40.0, 0.94 * width) if width > 0 else -1)
        self.placeholder.updateTextPos()     # anchored to its new size now (0.13.7 waited for a new view transform)
        (x0, x1), (y0, y1) = box.viewRange()   # centre of whatever range the empty plot shows
        self.placeholder.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    def _caption(self, snapshot) -> str:
        """The head, then the latest smoothed loss and accuracy (the thick lines' ends: one batch's
        value jumps too much to read) and the last validation."""
        smoothed = [f"loss {self._ema['loss'].smooth[-1]:.3f}" if "loss" in self.data else "",
                    f"train accuracy {self._ema['accuracy'].smooth[-1]:.1f}%" if "accuracy" in self.data else ""]
        smoothed = " and ".join(p for p in smoothed if p)
        parts = [f"{smoothed} (smoothed)" if smoothed else ""]
        if "val_accuracy" in self.data:
            parts.append(f"last validation {self.data['val_accuracy'][1][-1]:.1f}%")
        parts = [p for p in parts if p]
        head = ("<b>Training</b> — cross-entropy loss (blue) and accuracy (orange) against images seen; "
                f"thin: each batch, thick: smoothed (moving average); {self.theme.words['validation']} dots: "
                "validation accuracy.")
        if "loss" not in self.data:
            return head + " Nothing trained yet: press Play (Space) or Batch (B)."
        return head + (" Now: " + ", ".join(parts) + "." if parts else "")

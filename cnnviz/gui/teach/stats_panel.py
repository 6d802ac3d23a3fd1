"""Statistics over time: gradient norm per layer against steps (log y: vanishing gradients show as the
first layers' lines sinking), update-to-weight ratio, weight and gradient histograms, the confusion
matrix on validation data and a gallery of misclassified images.

It draws what ``cnnviz.session.stats`` computes: a list of ``layer_stats`` dicts (one per recorded step)
and one ``validation_stats`` dict. It never touches a model.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from cnnviz.gui import theme
from cnnviz.session.stats import GRAD_LOG_EDGES, series

# Okabe-Ito: distinguishable with every common colour-vision deficiency (yellow left out: pale on white)
LAYER_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999999")
GALLERY_MAX = 24
GALLERY_COLS = 6
RATIO_GUIDE = 1e-3     # rule of thumb: updates about a thousandth of the weights
# plot positions (norm, ratio, confusion, weights, gradients, gallery): three columns when the canvas
# is at least WIDE_PX wide, else two (three columns in a 600 px dock pushed the confusion matrix off)
WIDE_PX = 900
NARROW_MIN_PX = (680, 660)
# ... and the dead channels per conv layer over time: a fourth column (wide), a fourth row (narrow)
WIDE = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3))
NARROW = ((0, 0), (0, 1), (2, 0), (1, 0), (1, 1), (2, 1), (3, 0))


class ClickableCells(pg.ImageItem):
    """An ImageItem that reports the (row, column) of a left-clicked cell."""

    cell_clicked = QtCore.pyqtSignal(int, int)

    def mouseClickEvent(self, ev):
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            pos = ev.pos()
            self.cell_clicked.emit(int(np.floor(pos.y())), int(np.floor(pos.x())))
            ev.accept()
        else:
            super().mouseClickEvent(ev)


def layer_colour(position: int) -> str:
    return LAYER_COLOURS[position % len(LAYER_COLOURS)]


def log_tick_strings(values, scale, spacing) -> list[str]:
    """Labels for a log axis: only 1, 2 and 5 x 10^k are written (e.g. 0.001, 2e-3), never an SI prefix."""
    labels = []
    for v in values:
        number = 10.0 ** float(v)
        mantissa = number / 10.0 ** np.floor(np.log10(number) + 1e-9)
        if round(mantissa, 3) not in (1.0, 2.0, 5.0):
            labels.append("")
        elif 1e-2 <= number < 1e4:
            labels.append(f"{number:g}")
        else:
            labels.append(f"{mantissa:.0f}e{int(np.floor(np.log10(number) + 1e-9))}")
    return labels


def _style_plot(plot: pg.PlotItem, title: str, left: str, bottom: str) -> None:
    plot.setTitle(title, size=f"{theme.FONT_PT}pt", color=theme.TEXT)
    for name, text in (("left", left), ("bottom", bottom)):
        axis = plot.getAxis(name)
        axis.setTickFont(theme.font(theme.SMALL_PT))
        axis.setTextPen(theme.TEXT)
        axis.enableAutoSIPrefix(False)     # "(x0.001)" next to a label confuses more than it saves
        axis.setLabel(text, color=theme.TEXT, **{"font-size": f"{theme.FONT_PT}pt"})
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.hideButtons()
    plot.setMenuEnabled(False)


class StatsPanel(QtWidgets.QWidget):
    """``set_history(list of layer_stats dicts)`` / ``add_stats(dict)``; ``set_validation(stats,
    images (N, C, H, W) in 0..1, labels (N,), class_names=None)``. The layer box picks whose weight
    histogram is shown; gradient histograms of all layers are overlaid. Clicking a confusion cell
    (``select_confusion_cell(true, predicted)``) shows its images in the gallery."""

    title = "Statistics"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.theme = theme.DEFAULT     # its palette; text at the base sizes (lecture mode zooms it whole)
        self.setFont(theme.font(theme.FONT_PT))
        self.history: list[dict] = []
        self.layer_box = QtWidgets.QComboBox()
        self.layer_box.setToolTip("Layer whose weight histogram is shown")
        self.caption = QtWidgets.QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet(f"font-size: {theme.TITLE_PT}pt; color: {theme.TEXT};")
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Weights of:"))
        row.addWidget(self.layer_box)
        row.addWidget(self.caption, 1)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(theme.BACKGROUND)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addLayout(row)
        # below NARROW_MIN_PX the two columns would be cut off: the canvas scrolls instead
        self.scroll = QtWidgets.QScrollArea()
        self.scroll.setWidget(self.canvas)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        box.addWidget(self.scroll, 1)
        self._build_plots()
        self.wide = True
        self.scroll.installEventFilter(self)
        self.layer_box.currentIndexChanged.connect(lambda _i: self._draw_weight_hist())

    def eventFilter(self, obj, event) -> bool:
        if obj is self.scroll and event.type() == QtCore.QEvent.Type.Resize:
            self.arrange(event.size().width() >= WIDE_PX)
        return super().eventFilter(obj, event)

    def arrange(self, wide: bool) -> None:
        """Three columns of plots, or two (and three rows) for a narrow dock."""
        if wide == self.wide:
            return
        self.wide = wide
        self.canvas.setMinimumSize(*((0, 0) if wide else NARROW_MIN_PX))
        plots = [self.norm_plot, self.ratio_plot, self.confusion_plot, self.weight_plot, self.grad_plot,
                 self.gallery_plot, self.dead_plot]
        layout = self.canvas.ci
        for plot in plots:
            layout.removeItem(plot)
        for plot, (row, col) in zip(plots, WIDE if wide else NARROW):
            layout.addItem(plot, row=row, col=col)

    def _build_plots(self) -> None:
        c = self.canvas
        self.norm_plot = c.addPlot(row=0, col=0)
        _style_plot(self.norm_plot, "gradient norm ‖dL/dW‖ per layer", "‖dL/dW‖", "step")
        self.norm_plot.setLogMode(y=True)
        self._log_axis(self.norm_plot)
        self.norm_legend = self.norm_plot.addLegend(offset=(-5, 5), labelTextSize=f"{theme.SMALL_PT}pt",
                                                   brush=(255, 255, 255, 210))
        self.ratio_plot = c.addPlot(row=0, col=1)
        _style_plot(self.ratio_plot, "update / weight ‖ΔW‖/‖W‖", "ratio", "step")
        self.ratio_plot.setLogMode(y=True)
        self._log_axis(self.ratio_plot)
        self.ratio_guide = pg.InfiniteLine(pos=np.log10(RATIO_GUIDE), angle=0,
                                           pen=pg.mkPen(theme.MUTED, style=QtCore.Qt.PenStyle.DashLine),
                                           label="1e-3", labelOpts={"color": theme.MUTED, "position": 0.05})
        self.ratio_plot.addItem(self.ratio_guide, ignoreBounds=True)
        self.confusion_plot = c.addPlot(row=0, col=2)
        _style_plot(self.confusion_plot, "confusion matrix (validation)", "true class", "predicted class")
        self.confusion_plot.showGrid(x=False, y=False)
        self.confusion_plot.invertY(True)
        self.confusion_plot.setAspectLocked(True)
        self.confusion_image = ClickableCells(axisOrder="row-major")
        self.confusion_image.cell_clicked.connect(self.select_confusion_cell)
        self.confusion_plot.setToolTip("Click a cell to see its images in the gallery; click it again for all mistakes")
        self.confusion_mark = QtWidgets.QGraphicsRectItem()
        self.confusion_mark.setPen(pg.mkPen(self.theme.predicted, width=3))
        self.confusion_mark.setZValue(20)
        self.confusion_mark.hide()
        self.confusion_image.setLookupTable(theme.lut(self.theme.sequential))
        self.confusion_plot.addItem(self.confusion_image)
        self.confusion_plot.addItem(self.confusion_mark, ignoreBounds=True)
        self.validation = None          # (stats, images, labels, names) of the last set_validation
        self.selected_cell: tuple[int, int] | None = None
        self.confusion_texts: list[pg.TextItem] = []
        self.weight_plot = c.addPlot(row=1, col=0)
        _style_plot(self.weight_plot, "weight histogram", "count", "W")
        self.weight_bars = pg.BarGraphItem(x=[0], height=[0], width=1, brush=self.theme.predicted, pen=None)
        self.weight_plot.addItem(self.weight_bars)
        self.grad_plot = c.addPlot(row=1, col=1)
        _style_plot(self.grad_plot, "gradient sizes (last step)", "fraction of the layer's weights",
                    "log₁₀ |dL/dW|")
        self.grad_legend = self.grad_plot.addLegend(offset=(5, 5), labelTextSize=f"{theme.SMALL_PT}pt",
                                                   brush=(255, 255, 255, 210))
        self.gallery_plot = c.addPlot(row=1, col=2)
        _style_plot(self.gallery_plot, "misclassified (true → predicted)", "", "")
        for name in ("left", "bottom"):
            self.gallery_plot.showAxis(name, False)
        self.gallery_plot.showGrid(x=False, y=False)
        self.gallery_plot.invertY(True)
        self.gallery_plot.setAspectLocked(True)
        self.gallery_image = pg.ImageItem(axisOrder="row-major")
        self.gallery_image.setLookupTable(theme.lut(theme.GREYS_INK))
        self.gallery_plot.addItem(self.gallery_image)
        self.gallery_texts: list[pg.TextItem] = []
        self.dead_plot = c.addPlot(row=0, col=3)
        _style_plot(self.dead_plot, "dead channels per conv layer", "channels never positive", "step")
        self.dead_plot.setToolTip("A dead channel: its ReLU output was 0 on every one of the last 1,000 "
                                  "training images, so it passes no signal and its filter learns nothing.")
        self.dead_legend = self.dead_plot.addLegend(offset=(5, 5), labelTextSize=f"{theme.SMALL_PT}pt",
                                                   brush=(255, 255, 255, 210))
        self.dead_curves: dict[int, pg.PlotDataItem] = {}
        self.norm_curves: dict[int, pg.PlotDataItem] = {}
        self.ratio_curves: dict[int, pg.PlotDataItem] = {}
        self.grad_curves: dict[int, pg.PlotDataItem] = {}

    def apply_theme(self, look: theme.Theme) -> None:
        """Colour with ``look``'s palette (its text stays at the base sizes)."""
        self.theme = look
        self.confusion_image.setLookupTable(theme.lut(look.sequential))
        self.confusion_mark.setPen(pg.mkPen(look.predicted, width=3))
        self.weight_bars.setOpts(brush=look.predicted)

    @staticmethod
    def _log_axis(plot: pg.PlotItem) -> None:
        axis = plot.getAxis("left")
        axis.enableAutoSIPrefix(False)
        axis.tickStrings = log_tick_strings
        axis.setWidth(64)

    # -- over time -------------------------------------------------------------------------
    def set_history(self, history: list[dict]) -> None:
        """Redraw from a list of ``layer_stats`` records (oldest first)."""
        self.history = list(history)
        self._redraw()

    def add_stats(self, record: dict) -> None:
        self.history.append(record)
        self._redraw()

    def _layer_names(self) -> dict[int, str]:
        names = {}
        for record in self.history:
            for entry in record["layers"]:
                names[entry["index"]] = f"{entry['index']} {entry['label']}"
        return names

    def _curve(self, store, plot, legend_plot_name, index, position, name):
        if index not in store:
            pen = pg.mkPen(layer_colour(position), width=2)
            store[index] = plot.plot([], [], pen=pen, name=name if legend_plot_name else None)
        return store[index]

    def _redraw(self) -> None:
        if not self.history:
            return
        names = self._layer_names()
        if [self.layer_box.itemData(i) for i in range(self.layer_box.count())] != list(names):
            self.layer_box.blockSignals(True)
            self.layer_box.clear()
            for index, name in names.items():
                self.layer_box.addItem(name, index)
            self.layer_box.setCurrentIndex(0)
            self.layer_box.blockSignals(False)
        for field, store, plot in (("grad_norm", self.norm_curves, self.norm_plot),
                                   ("update_ratio", self.ratio_curves, self.ratio_plot)):
            steps, values = series(self.history, field)
            for position, (index, ys) in enumerate(values.items()):
                ok = np.isfinite(ys) & (ys > 0)
                curve = self._curve(store, plot, plot is self.norm_plot, index, position, names[index])
                curve.setData(steps[ok], ys[ok])
        steps, values = series(self.history, "dead_channels")
        for position, (index, ys) in enumerate(values.items()):
            ok = np.isfinite(ys)
            curve = self._curve(self.dead_curves, self.dead_plot, True, index, position, names[index])
            curve.setData(steps[ok], ys[ok], stepMode=None)
        self._draw_grad_hist(names)
        self._draw_weight_hist()
        last = self.history[-1]["layers"]
        if len(last) >= 2 and last[-1]["grad_norm"] > 0:
            ratio = last[0]["grad_norm"] / last[-1]["grad_norm"]
            self.caption.setText(f"first layer's gradient norm = {ratio:.2g} × the last layer's")

    def _draw_grad_hist(self, names) -> None:
        centres = (GRAD_LOG_EDGES[:-1] + GRAD_LOG_EDGES[1:]) / 2
        for position, entry in enumerate(self.history[-1]["layers"]):
            curve = self._curve(self.grad_curves, self.grad_plot, True, entry["index"], position,
                                names[entry["index"]])
            total = max(1, int(np.sum(entry["grad_hist"])) + int(entry["grad_zeros"]))
            curve.setData(GRAD_LOG_EDGES, np.asarray(entry["grad_hist"]) / total, stepMode="center")
        self.grad_plot.setXRange(centres[0], GRAD_LOG_EDGES[-1], padding=0.02)

    def _draw_weight_hist(self) -> None:
        index = self.layer_box.currentData()
        entry = next((e for e in self.history[-1]["layers"] if e["index"] == index), None) if self.history else None
        if entry is None:
            return
        edges, counts = entry["weight_edges"], entry["weight_hist"]
        width = float(edges[1] - edges[0])
        self.weight_bars.setOpts(x=(edges[:-1] + edges[1:]) / 2, height=counts, width=width * 0.9)
        self.weight_plot.setXRange(edges[0], edges[-1], padding=0.02)
        self.weight_plot.setTitle(f"weight histogram, layer {entry['index']} (step {self.history[-1]['step']})",
                                  size=f"{theme.FONT_PT}pt", color=theme.TEXT)

    # -- validation ------------------------------------------------------------------------
    def set_validation(self, stats: dict, images: np.ndarray | None = None, labels: np.ndarray | None = None,
                       class_names=None) -> None:
        """Confusion matrix with counts, and up to GALLERY_MAX misclassified images (display images
        (N, C, H, W) in 0..1 of the validation set the stats came from)."""
        confusion = np.asarray(stats["confusion"])
        k = confusion.shape[0]
        names = list(class_names or [str(i) for i in range(k)])
        self.confusion_image.setImage(confusion.astype(np.float32), autoLevels=False,
                                      levels=(0, max(1, int(confusion.max()))))
        for item in self.confusion_texts:
            self.confusion_plot.removeItem(item)
        self.confusion_texts = []
        top = max(1, int(confusion.max()))
        for (t, p), count in np.ndenumerate(confusion):
            if count == 0:
                continue
            item = pg.TextItem(str(int(count)), anchor=(0.5, 0.5),
                               color="#ffffff" if count > 0.6 * top else theme.TEXT)
            item.setFont(theme.font(theme.SMALL_PT))
            item.setPos(p + 0.5, t + 0.5)
            self.confusion_plot.addItem(item)
            self.confusion_texts.append(item)
        ticks = [[(i + 0.5, names[i]) for i in range(k)], []]
        self.confusion_plot.getAxis("left").setTicks(ticks)
        self.confusion_plot.getAxis("bottom").setTicks(ticks)
        accuracy = stats.get("accuracy")
        self.confusion_plot.setTitle(
            (f"confusion matrix, validation accuracy {accuracy:.1%}" if accuracy is not None else "confusion matrix")
            + (f" (step {stats['step']})" if stats.get("step") is not None else ""),
            size=f"{theme.FONT_PT}pt", color=theme.TEXT)
        self.selected_cell = None
        self.confusion_mark.hide()
        self.validation = None
        if images is not None and labels is not None:
            self.validation = (stats, np.asarray(images), np.asarray(labels), names)
            self._draw_gallery(np.asarray(stats["wrong"]), "misclassified")

    def select_confusion_cell(self, true_class: int, predicted: int) -> None:
        """Show the validation images of one confusion cell in the gallery (the diagonal: correctly
        classified ones); the same cell again goes back to all misclassified images."""
        if self.validation is None:
            return
        stats, _images, labels, names = self.validation
        k = len(names)
        if not (0 <= true_class < k and 0 <= predicted < k) or self.selected_cell == (true_class, predicted):
            self.selected_cell = None
            self.confusion_mark.hide()
            self._draw_gallery(np.asarray(stats["wrong"]), "misclassified")
            return
        self.selected_cell = (true_class, predicted)
        self.confusion_mark.setRect(QtCore.QRectF(predicted, true_class, 1, 1))
        self.confusion_mark.show()
        chosen = np.flatnonzero((labels == true_class) & (np.asarray(stats["predicted"]) == predicted))
        what = "correct" if true_class == predicted else "misclassified"
        self._draw_gallery(chosen, f"{what} {names[true_class]}→{names[predicted]}")

    def _draw_gallery(self, indices: np.ndarray, what: str) -> None:
        stats, images, labels, names = self.validation
        for item in self.gallery_texts:
            self.gallery_plot.removeItem(item)
        self.gallery_texts = []
        total = int(len(indices))
        wrong = np.asarray(indices)[:GALLERY_MAX]
        self.gallery_indices = wrong
        if wrong.size == 0:
            self.gallery_image.clear()
            self.gallery_plot.setTitle(f"{what}: none", size=f"{theme.FONT_PT}pt", color=theme.TEXT)
            return
        h, w = images.shape[-2:]
        cols = min(GALLERY_COLS, wrong.size)
        rows = -(-wrong.size // cols)
        label_h, sep = 6, 2       # room above each image for its "t → p" label
        cell_h, cell_w = h + label_h + sep, w + sep
        mosaic = np.zeros((rows * cell_h, cols * cell_w), np.float32)
        for n, index in enumerate(wrong):
            r, c = divmod(n, cols)
            y0, x0 = r * cell_h + label_h, c * cell_w
            mosaic[y0:y0 + h, x0:x0 + w] = images[index].reshape(-1, h, w)[0]
            right = labels[index] == stats["predicted"][index]
            item = pg.TextItem(f"{names[labels[index]]}→{names[stats['predicted'][index]]}",
                               color=self.theme.true_class if right else self.theme.wrong, anchor=(0.5, 1.0))
            item.setFont(theme.font(theme.SMALL_PT))
            item.setPos(x0 + w / 2, y0)
            self.gallery_plot.addItem(item)
            self.gallery_texts.append(item)
        self.gallery_image.setImage(mosaic, autoLevels=False, levels=(0.0, 1.0))
        shown = f"{wrong.size} of {total}" if total > wrong.size else f"{wrong.size}"
        self.gallery_plot.setTitle(f"{what}: {shown} (true→predicted)", size=f"{theme.FONT_PT}pt",
                                   color=theme.TEXT)
        self.gallery_plot.autoRange(padding=0.02)

"""Kernels: the weights W of the selected layer. A conv layer's F x C kernels as one mosaic (row =
filter, column = input channel); a dense layer's weights into one unit, reshaped to the image they
look at when its input came through a flatten (e.g. 800 -> 8 maps of 10x10)."""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtWidgets

from cnnviz.gui import theme
from cnnviz.gui.panels.common import (PARAM_KINDS, MapView, Panel, image_shape_before, label,
                                      layer_title, nearest_layer)


def kernel_maps(W: np.ndarray, transpose: bool = False) -> tuple[np.ndarray, int | None]:
    """Conv W (F, C, k, k) -> (F*C, k, k) maps and the number of mosaic columns.

    One input channel: the F kernels in a compact grid (cols None = choose). Several: row = filter f,
    column = input channel c; transpose: row = c, column = f (for a wide plot and F > C)."""
    F, C, kh, kw = W.shape
    if C == 1:
        return W.reshape(F, kh, kw), None
    if transpose:
        return np.ascontiguousarray(W.transpose(1, 0, 2, 3)).reshape(C * F, kh, kw), F
    return W.reshape(F * C, kh, kw), C


def kernel_of_tile(index: int, F: int, C: int, transpose: bool) -> tuple[int, int]:
    """Mosaic tile ``index`` -> (filter f, input channel c) for kernel_maps' arrangement."""
    if C == 1:
        return index, 0
    return (index % F, index // F) if transpose else (index // C, index % C)


def wants_transpose(F: int, C: int, view_aspect: float) -> bool:
    """Rows = input channels when that fills a plot of this width/height better (e.g. 16x6 in a wide plot)."""
    if C == 1 or F == C:
        return False
    return abs(np.log((F / C) / view_aspect)) < abs(np.log((C / F) / view_aspect))


def weight_at(view, x: float, y: float, layer: int, shape: tuple, transposed: bool = False,
              dense_unit: int | None = None):
    """(layer, out, in_channel, i, j) of the weight under image point (x, y) of ``view``, for a conv
    W of ``shape`` drawn by draw_kernels, a dense unit's weights drawn as maps (dense_unit), or a
    dense matrix (out = row, j = column, in_channel = i = 0). None off the weights."""
    if view.layout is None:
        return None
    hit = view.layout.locate(x, y)
    if hit is None:
        return None
    index, ty, tx = hit
    if len(shape) == 4:
        f, c = kernel_of_tile(index, shape[0], shape[1], transposed)
        return (layer, f, c, ty, tx)
    if dense_unit is not None:
        return (layer, dense_unit, index, ty, tx)
    return (layer, ty, 0, 0, tx)


def draw_kernels(view, W: np.ndarray) -> bool:
    """Draw conv W on ``view`` (MapView) in the orientation that fits it; returns transpose."""
    F, C = W.shape[:2]
    transpose = wants_transpose(F, C, view.view_aspect())
    maps, cols = kernel_maps(W, transpose)
    small = view.plot.getViewBox().boundingRect().height() < 140   # tick numbers would be a smear
    if C == 1 or small:
        view.show_maps(maps, signed=True, cols=cols, numbers=C == 1)
    else:
        rows_t, cols_t = ("input channel", "filter (output map)") if transpose else ("filter (output map)", "input channel")
        nr, nc = (C, F) if transpose else (F, C)
        view.show_maps(maps, signed=True, cols=cols, row_labels=[str(i) for i in range(nr)],
                       col_labels=[str(i) for i in range(nc)], row_title=rows_t, col_title=cols_t)
    return transpose


class KernelsPanel(Panel):
    """Signal weight_clicked(layer, out, in_channel, i, j): the weight W[out, in_channel, i, j] of a
    conv layer; for a dense layer shown as maps, out = the unit and (in_channel, i, j) the place of
    its input in the pre-flatten maps; for a plain matrix, out = the row and j = the input (in_channel = i = 0)."""

    title = "Kernels (weights W)"
    weight_clicked = QtCore.pyqtSignal(int, int, int, int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.unit_box = QtWidgets.QSpinBox()
        self.unit_box.setToolTip("Which unit of the dense layer to show the incoming weights of")
        self.unit_box.setMinimumWidth(70)
        self.unit_label = label("dense unit:", "A dense unit's weights, drawn in the shape of its input")
        self.controls.addWidget(self.unit_label)
        self.controls.addWidget(self.unit_box)
        self.controls.addStretch(1)
        self.unit_box.valueChanged.connect(lambda _v: self.redraw())
        self.view = MapView(self.canvas, 0, 0, bar_label="weight")
        self.view.image.clicked.connect(self._clicked)
        self.shown_layer: int | None = None
        self.mode = None   # "conv", "dense-maps", "matrix"
        self.transposed = False
        self._set_unit_controls(False)

    def _set_unit_controls(self, visible: bool) -> None:
        self.unit_box.setVisible(visible)
        self.unit_label.setVisible(visible)

    def show_snapshot(self, snapshot, layer_index: int | None) -> None:
        self._remember(snapshot, layer_index)
        state = nearest_layer(snapshot.layers, layer_index, PARAM_KINDS)
        if state is None or "W" not in state.params:
            self.shown_layer = None
            self._set_unit_controls(False)
            self.set_caption("This network has no layer with weights.")
            self.view.show_placeholder("no weights to show")
            return
        self.shown_layer = state.index
        note = ""
        if layer_index is not None and layer_index != state.index:
            sel = snapshot.layers[max(0, min(int(layer_index), len(snapshot.layers) - 1))]
            if sel.index != state.index:
                note = (f" <span style='color:{theme.MUTED}'>({layer_title(sel)} has no weights; "
                        f"showing {layer_title(state)})</span>")
        W = state.params["W"]
        if state.kind == "conv":
            self._show_conv(snapshot, state, W, note)
        else:
            self._show_dense(snapshot, state, W, note)

    def _show_conv(self, snapshot, state, W, note):
        self._set_unit_controls(False)
        self.mode = "conv"
        self.view.set_aspect_locked(True)
        F, C, kh, kw = W.shape
        self.transposed = draw_kernels(self.view, W)
        if C == 1:
            how = "one kernel per filter (the input has 1 channel); number = filter"
        elif self.transposed:
            how = "column = filter (output map), row = input channel"
        else:
            how = "row = filter (output map), column = input channel"
        lo, hi = self.view.levels
        self.view.set_title(f"{F} filters x {C} input channels, each {kh}x{kw}")
        self.set_caption(f"<b>{layer_title(state)}</b> — kernels W, shape {theme.shape_text(W.shape)}; "
                         f"{how}. {self.theme.signed_words().capitalize()}{range_words(snapshot, hi)}.{note}")

    def _show_dense(self, snapshot, state, W, note):
        out_n, in_n = W.shape
        image_shape = image_shape_before(snapshot.layers, state.index)
        if image_shape is not None and int(np.prod(image_shape)) == in_n:
            self._set_unit_controls(True)
            self.mode = "dense-maps"
            self.view.set_aspect_locked(True)
            if self.unit_box.maximum() != out_n - 1:
                self.unit_box.blockSignals(True)
                self.unit_box.setRange(0, out_n - 1)
                self.unit_box.blockSignals(False)
            unit = self.unit_box.value()
            maps = W[unit].reshape(image_shape)
            self.view.show_maps(maps, signed=True)
            self.view.set_title(f"weights into unit {unit}, as {theme.shape_text(image_shape)} "
                                f"(number = input channel)")
            self.set_caption(f"<b>{layer_title(state)}</b> — W {theme.shape_text(W.shape)}: the {in_n} weights "
                             f"into unit {unit}, drawn where their inputs sit in the "
                             f"{theme.shape_text(image_shape)} maps before the flatten"
                             f"{range_words(snapshot, self.view.levels[1])}.{note}")
        else:
            self._set_unit_controls(False)
            self.mode = "matrix"
            self.view.set_aspect_locked(False)
            self.view.show_maps(W[None], signed=True)
            self.view.set_title(f"W: row = output unit (0..{out_n - 1}), column = input (0..{in_n - 1})")
            self.set_caption(f"<b>{layer_title(state)}</b> — weight matrix W, {out_n} x {in_n}; "
                             f"z = W a + b{range_words(snapshot, self.view.levels[1])}.{note}")

    def _clicked(self, x: float, y: float) -> None:
        weight = self.locate(x, y)
        if weight is not None:
            self.weight_clicked.emit(*weight)

    def locate(self, x: float, y: float) -> tuple[int, int, int, int, int] | None:
        """Image point -> (layer, out, in_channel, i, j) of the weight drawn there, or None."""
        if self.shown_layer is None:
            return None
        W = self.snapshot.layers[self.shown_layer].params["W"]
        unit = self.unit_box.value() if self.mode == "dense-maps" else None
        return weight_at(self.view, x, y, self.shown_layer, W.shape, self.transposed, unit)


def range_words(snapshot, high: float) -> str:
    """", colour range ±0.9" for the caption; none while training live: the caption is redrawn only
    a few times a second (common.LIVE_CAPTION_INTERVAL), so its number would disagree with the colour
    bar's, which follows every frame."""
    return "" if snapshot.phase == "training" else f", colour range ±{theme.fmt(high)}"

"""Gradients: for the selected layer, dL/d(output) arriving from above (for the probe image), dL/dW
of its weights (mean over the last batch, or over a stepping walk's images; eqs. 3 and 11) and the last update ΔW the optimizer applied.
All signed: diverging colour map, levels symmetric about zero, a colour bar each."""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore

from cnnviz.gui import theme
from cnnviz.gui.panels.common import (PARAM_KINDS, MapView, Panel, as_maps, gradient_source, layer_title,
                                      learned_levels, learned_words, locate_unit, nearest_layer,
                                      zero_gradient_reason)
from cnnviz.gui.panels.kernels import draw_kernels, weight_at

NO_GRADIENT = "no gradient yet:\nstep backward or train"
NO_UPDATE = "no update yet:\napply the update or train"
ALL_ZERO = "dL/dW is exactly 0\n(see the caption)"
# how dL/dW is averaged: over the last training batch, or over the images of a stepping walk (the
# walk's size, often 1 image, is set on the toolbar; the caption gives it from the snapshot)
BATCH_MEAN = "batch mean"
WALK_MEAN = "walk mean"     # the caption says it in full: the mean over the walk's images


def images(n: int | None) -> str:
    """"1 image", "4 images"; "images" when the number is not known."""
    return "images" if n is None else f"{n} image" + ("" if n == 1 else "s")


def walk_snapshot(snapshot) -> bool:
    """A stepping walk's snapshot (of the probe, or of training images: its maps are the walk's first)."""
    return snapshot.walk_images is not None


class GradientsPanel(Panel):
    """Signals: unit_clicked(layer, channel, y, x) for a cell of dL/d(output) (a dense unit u gives
    (layer, u, 0, 0)); weight_clicked(layer, out, in_channel, i, j) for a weight in dL/dW or ΔW (same
    convention as KernelsPanel)."""

    title = "Gradients"
    unit_clicked = QtCore.pyqtSignal(int, int, int, int)
    weight_clicked = QtCore.pyqtSignal(int, int, int, int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.dout_view = MapView(self.canvas, 0, 0, bar_label="dL/d(out)")
        self.dW_view = MapView(self.canvas, 0, 1, bar_label="dL/dW")
        self.update_view = MapView(self.canvas, 0, 2, bar_label="ΔW")
        self.wide = True
        self.dense = False                # the shown weights are a dense matrix (see _arrange)
        self.dout_layer: int | None = None
        self.dout_units = 0
        self.weight_layer = None          # the LayerState whose dL/dW and ΔW are shown
        self.transposed = {}              # id(view) -> kernels drawn turned
        self.dout_view.image.clicked.connect(self._dout_clicked)
        self.dW_view.image.clicked.connect(lambda x, y: self._weight_clicked(self.dW_view, x, y))
        self.update_view.image.clicked.connect(lambda x, y: self._weight_clicked(self.update_view, x, y))

    def _dout_clicked(self, x: float, y: float) -> None:
        cell = None if self.dout_layer is None else locate_unit(self.dout_view.layout, x, y, self.dout_units)
        if cell is not None:
            self.unit_clicked.emit(self.dout_layer, *cell)

    def _weight_clicked(self, view: MapView, x: float, y: float) -> None:
        st = self.weight_layer
        if st is None or view.data is None:
            return
        weight = weight_at(view, x, y, st.index, st.params["W"].shape, self.transposed.get(id(view), False))
        if weight is not None:
            self.weight_clicked.emit(*weight)

    def canvas_resized(self, width: int, height: int) -> None:
        """Wide dock: the three pictures in a row; otherwise dL/d(out) on top, dL/dW and ΔW below."""
        self.wide = width >= 2.2 * max(1, height)
        self._arrange()

    def _arrange(self) -> None:
        """Place the three plots. Conv weights: a row (wide dock) or dL/d(out) over dL/dW and ΔW. A
        dense weight matrix (10x128, 128x800) is far wider than tall: dL/d(out) in a narrow column
        on the left, dL/dW over ΔW in a wide one, so each matrix gets most of the dock's width."""
        key = ("dense" if self.dense else ("wide" if self.wide else "tall"))
        if key == getattr(self, "_arranged", None):
            return
        self._arranged = key
        ci = self.canvas.ci
        views = (self.dout_view, self.dW_view, self.update_view)
        for view in views:
            ci.removeItem(view.plot)
        places = {"wide": [(0, 0, 1, 1), (0, 1, 1, 1), (0, 2, 1, 1)],
                  "tall": [(0, 0, 1, 2), (1, 0, 1, 1), (1, 1, 1, 1)],
                  "dense": [(0, 0, 2, 1), (0, 1, 1, 1), (1, 1, 1, 1)]}[key]
        for view, (r, c, rs, cs) in zip(views, places):
            ci.addItem(view.plot, row=r, col=c, rowspan=rs, colspan=cs)
        grid = ci.layout
        stretch = (1, 3, 0) if key == "dense" else (1, 1, 1)
        for col, factor in enumerate(stretch):
            grid.setColumnStretchFactor(col, factor)
        rows = 1 if key == "wide" else 2
        for row in range(3):   # an empty row must take no height (it left a blank band under a wide row)
            grid.setRowStretchFactor(row, 1 if row < rows else 0)

    def show_snapshot(self, snapshot, layer_index: int | None) -> None:
        self._remember(snapshot, layer_index)
        layers = snapshot.layers
        if not layers:
            for view in (self.dout_view, self.dW_view, self.update_view):
                view.show_placeholder("no network")
            self.set_caption("No network yet.")
            return
        if layer_index is None:
            state = nearest_layer(layers, None, PARAM_KINDS) or layers[0]
        else:
            state = layers[max(0, min(int(layer_index), len(layers) - 1))]
        self._show_dout(state, snapshot)
        wstate = state if state.kind in PARAM_KINDS else nearest_layer(layers, state.index, PARAM_KINDS)
        if wstate is not None and wstate.index > state.index:
            wstate = None
        walk = walk_snapshot(snapshot)
        zero_reason = ""
        if wstate is not None and "W" in wstate.params and snapshot.step > 0:
            grad = wstate.grads.get("W")
            if grad is not None and not np.any(grad):
                zero_reason = zero_gradient_reason(snapshot, wstate)
        self._show_weights(state, wstate, WALK_MEAN if walk else BATCH_MEAN, zero=bool(zero_reason))
        parts = [f"<b>{layer_title(state)}</b> ({state.label}), backward: {gradient_source(snapshot)}"]
        if zero_reason:
            parts.insert(0, f"<span style='color:{theme.DEAD}'><b>{zero_reason}</b></span> ")
        if state.dL_dout is not None and learned_words(snapshot, state.dL_dout):
            parts.insert(0, f"<b>{learned_words(snapshot, state.dL_dout)}</b> ")
        if wstate is not None and wstate is not state:
            parts.append(f"; no weights here: dL/dW and ΔW of {layer_title(wstate)}")
        if wstate is not None and "W" in wstate.params:
            if zero_reason:
                pass
            elif self.dW_view.placeholder_text is not None:     # no batch has run backward yet
                parts.append("; dL/dW comes with the walk's backward pass" if walk else
                             "; dL/dW comes with a backward pass over a batch")
            else:
                parts.append(f"; dL/dW: mean over the walk's {images(snapshot.walk_images)} (toolbar: Walk)"
                             if walk else "; dL/dW: mean over the last batch")
        parts.append(f". {self.theme.signed_words().capitalize()}, each its own range.")
        if wstate is not None and wstate.kind == "conv":
            parts.append(" Kernels: rows = filters, columns = input channels (turned in a wide dock).")
        self.set_caption("".join(parts))

    def _show_dout(self, state, snapshot=None) -> None:
        v = self.dout_view
        self.dout_layer = state.index
        self.dout_units = 0
        if state.dL_dout is None:
            v.set_title("dL/d(out)")
            v.show_placeholder(NO_GRADIENT)
            return
        maps, is_vector = as_maps(state.dL_dout)
        self.dout_units = state.dL_dout.size if is_vector else 0
        v.set_aspect_locked(True)
        v.show_maps(maps, signed=True, units=self.dout_units or None, levels=learned_levels(snapshot, maps))
        shape = theme.shape_text(state.dL_dout.shape)
        unit = f" units, {maps.shape[2]} a row" if is_vector else ""
        v.set_title(f"dL/d(out)<br>{shape}{unit}")

    def _show_weights(self, state, wstate, mean: str = BATCH_MEAN, zero: bool = False) -> None:
        self.weight_layer = wstate if wstate is not None and "W" in wstate.params else None
        if wstate is None or "W" not in wstate.params:
            self.dense = False
            self._arrange()
            for view, name in ((self.dW_view, "dL/dW"), (self.update_view, "ΔW")):
                view.set_title(name)
                view.show_placeholder(f"{layer_title(state)} has no weights")
            return
        self.dense = wstate.params["W"].ndim == 2
        self._arrange()
        grad = wstate.grads.get("W")
        # all zero: no backward pass on a batch yet (a live layer never has every dL/dW exactly 0)
        no_backward = grad is None or not np.any(grad)
        self._draw_weights(self.dW_view, None if no_backward else grad, f"dL/dW, {mean}",
                           ALL_ZERO if zero else NO_GRADIENT)
        upd = wstate.update.get("W") if wstate.update else None
        self._draw_weights(self.update_view, upd, "ΔW, last update", NO_UPDATE)

    def _draw_weights(self, view: MapView, W, name: str, empty: str) -> None:
        if W is None:
            view.set_title(name)
            view.show_placeholder(empty)
            return
        view.set_aspect_locked(W.ndim == 4)
        if W.ndim == 4:
            self.transposed[id(view)] = draw_kernels(view, W)
        else:   # dense: the (out, in) matrix
            view.show_maps(np.asarray(W, dtype=np.float32)[None], signed=True)
        dims = theme.shape_text(W.shape)
        # a dense matrix's plot is wide and low: one line (a second line would cover the matrix)
        view.set_title(name.replace(",", f" {dims},", 1) if W.ndim == 2 else f"{name}<br>{dims}")

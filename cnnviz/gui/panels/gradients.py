"""Gradients: for the selected layer, dL/d(output) arriving from above (for the probe image), dL/dW
of its weights (mean over the batch, eqs. 3 and 11) and the last update ΔW the optimizer applied.
All signed: diverging colour map, levels symmetric about zero, a colour bar each."""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore

from cnnviz.gui import theme
from cnnviz.gui.panels.common import (PARAM_KINDS, MapView, Panel, as_maps, layer_title, locate_unit,
                                      nearest_layer)
from cnnviz.gui.panels.kernels import draw_kernels, weight_at

NO_GRADIENT = "no gradient yet — step backward or train"
NO_UPDATE = "no update yet — apply the update or train"


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
        wide = width >= 2.2 * max(1, height)
        if wide != self.wide:
            self.wide = wide
            ci = self.canvas.ci
            for view in (self.dout_view, self.dW_view, self.update_view):
                ci.removeItem(view.plot)
            if wide:
                places = [(0, 0, 1, 1), (0, 1, 1, 1), (0, 2, 1, 1)]
            else:
                places = [(0, 0, 1, 2), (1, 0, 1, 1), (1, 1, 1, 1)]
            for view, (r, c, rs, cs) in zip((self.dout_view, self.dW_view, self.update_view), places):
                ci.addItem(view.plot, row=r, col=c, rowspan=rs, colspan=cs)

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
        self._show_dout(state)
        wstate = state if state.kind in PARAM_KINDS else nearest_layer(layers, state.index, PARAM_KINDS)
        if wstate is not None and wstate.index > state.index:
            wstate = None
        self._show_weights(state, wstate)
        parts = [f"<b>{layer_title(state)}</b> ({state.label}) — backward pass for the probe image."]
        if wstate is not None and wstate is not state:
            parts.append(f"{layer_title(state)} has no weights; dL/dW and ΔW are those of "
                         f"{layer_title(wstate)}.")
        parts.append(f"{theme.signed_words().capitalize()}; each picture has its own range. Kernels: one row per filter, "
                     "one column per input channel (turned when the dock is wide).")
        self.set_caption(" ".join(parts))

    def _show_dout(self, state) -> None:
        v = self.dout_view
        self.dout_layer = state.index
        self.dout_units = 0
        if state.dL_dout is None:
            v.set_title(f"dL/d(output) of {layer_title(state)}")
            v.show_placeholder(NO_GRADIENT)
            return
        maps, is_vector = as_maps(state.dL_dout)
        self.dout_units = state.dL_dout.size if is_vector else 0
        v.set_aspect_locked(True)
        v.show_maps(maps, signed=True, units=self.dout_units or None)
        shape = theme.shape_text(state.dL_dout.shape)
        unit = f" (unit = {maps.shape[2]}·row + col)" if is_vector else ""
        v.set_title(f"dL/d(output), probe<br>{shape}{unit}")

    def _show_weights(self, state, wstate) -> None:
        self.weight_layer = wstate if wstate is not None and "W" in wstate.params else None
        if wstate is None or "W" not in wstate.params:
            for view, name in ((self.dW_view, "dL/dW"), (self.update_view, "ΔW")):
                view.set_title(name)
                view.show_placeholder(f"{layer_title(state)} has no weights")
            return
        grad = wstate.grads.get("W")
        # all zero: no backward pass on a batch yet (a live layer never has every dL/dW exactly 0)
        no_backward = grad is None or not np.any(grad)
        self._draw_weights(self.dW_view, None if no_backward else grad, "dL/dW, batch mean", NO_GRADIENT)
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
        view.set_title(f"{name}<br>{theme.shape_text(W.shape)}")

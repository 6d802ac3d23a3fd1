"""Feature maps: what the selected layer computed for the probe image. A conv (or dense) layer
followed by an activation is shown as a pair: pre-activation z (diverging, signed) beside the
activation a = f(z) (sequential when f is non-negative, e.g. ReLU, sigmoid). Click a cell to explain it."""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore

from cnnviz.gui import theme

from cnnviz.gui.panels.common import (ACTIVATION_KINDS, PARAM_KINDS, MapView, Panel, as_maps, dead_tip, dead_words,
                                      layer_title, locate_unit)

ACTIVATION_FORMULA = {"relu": "a = max(0, z)", "sigmoid": "a = 1 / (1 + e^-z)", "tanh": "a = tanh(z)"}


def pair_layers(layers, index: int | None):
    """(z_layer, a_layer or None) for the selected layer: conv/dense/pool + the activation after it.

    index None: the first layer whose output is a stack of maps."""
    if not layers:
        return None, None
    if index is None:
        index = next((s.index for s in layers if len(s.output_shape) == 3), 0)
    index = max(0, min(int(index), len(layers) - 1))
    state = layers[index]
    if state.kind in ACTIVATION_KINDS:
        if index > 0 and layers[index - 1].kind not in ACTIVATION_KINDS:
            return layers[index - 1], state
        return state, None
    if index + 1 < len(layers) and layers[index + 1].kind in ACTIVATION_KINDS:
        return state, layers[index + 1]
    return state, None


def describe_maps(array: np.ndarray) -> str:
    if array.ndim == 3:
        c, h, w = array.shape
        return f"{c} map{'s' if c != 1 else ''} of {h}x{w}"
    return f"{array.size} units"


class FeatureMapsPanel(Panel):
    """Signal unit_clicked(layer, channel, y, x): the clicked cell of a map (the layer is the one whose
    output was clicked: the conv for z, the activation for a). A dense unit u gives (layer, u, 0, 0)."""

    title = "Feature maps"
    unit_clicked = QtCore.pyqtSignal(int, int, int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.z_view = MapView(self.canvas, 0, 0, bar_label="z")
        self.a_view = MapView(self.canvas, 0, 1, bar_label="a")
        self.z_view.image.clicked.connect(lambda x, y: self._clicked(self.z_view, x, y))
        self.a_view.image.clicked.connect(lambda x, y: self._clicked(self.a_view, x, y))
        self.views_layer: dict[int, int] = {}      # id(view) -> layer index shown there
        self.views_vector: dict[int, int] = {}     # id(view) -> number of units (0 for maps)
        self._pair_shown = True

    def _show_pair(self, pair: bool) -> None:
        if pair == self._pair_shown:
            return
        self._pair_shown = pair
        if pair:
            self.canvas.ci.addItem(self.a_view.plot, row=0, col=1)
            self.a_view.plot.show()
        else:
            self.canvas.ci.removeItem(self.a_view.plot)
            self.a_view.plot.hide()

    def show_snapshot(self, snapshot, layer_index: int | None) -> None:
        self._remember(snapshot, layer_index)
        z_layer, a_layer = pair_layers(snapshot.layers, layer_index)
        if z_layer is None:
            self.z_view.show_placeholder("no layers")
            return
        self._show_pair(a_layer is not None)
        if a_layer is not None:
            z = a_layer.pre_activation if a_layer.pre_activation is not None else z_layer.output
            self._draw(self.z_view, z_layer.index, z, signed=True,
                       what="z (pre-activation)", dead=z_layer.dead)
            self._draw(self.a_view, a_layer.index, a_layer.output, signed=None,
                       what=f"activation {ACTIVATION_FORMULA.get(a_layer.kind, 'a')}", dead=a_layer.dead)
            caption = (f"<b>{layer_title(z_layer)} → {layer_title(a_layer)}</b> for the probe image: "
                       f"left z ({self.theme.signed_words()}), right a = {a_layer.kind}(z). Click a cell to explain it.")
            self.z_view.set_bar_label("z")
        else:
            self._draw(self.z_view, z_layer.index, z_layer.output, signed=None,
                       what=f"output of {z_layer.label}", dead=z_layer.dead)
            # a conv or dense layer's own output is z (eq. 1, 6); a pool's, an activation's, a
            # flatten's output is an activation a (labelling max-pool or tanh outputs "z" was wrong)
            self.z_view.set_bar_label("z" if z_layer.kind in PARAM_KINDS else "a")
            caption = (f"<b>{layer_title(z_layer)}</b> ({z_layer.label}) output for the probe image. "
                       f"Click a cell to explain it.")
        words = dead_words(snapshot, z_layer)
        self.set_caption(caption + (f" <span style='color:{theme.DEAD}'>{words}</span>" if words else ""))

    def _draw(self, view: MapView, layer: int, array, signed, what: str, dead=None) -> None:
        self.views_layer[id(view)] = layer
        if array is None:
            self.views_vector[id(view)] = 0
            view.set_title(what)
            view.show_placeholder("not computed yet — step forward")
            return
        maps, is_vector = as_maps(array)
        self.views_vector[id(view)] = array.size if is_vector else 0
        view.show_maps(maps, signed=signed, units=array.size if is_vector else None)
        view.mark_dead(() if is_vector or not dead else dead, dead_tip(self.snapshot))
        extra = f" (unit = {maps.shape[2]}·row + col)" if is_vector else ""
        view.set_title(f"{what}<br>{describe_maps(array)}{extra}")

    def locate(self, view: MapView, x: float, y: float) -> tuple[int, int, int, int] | None:
        """Image point (x, y) of ``view`` -> (layer, channel, y, x) of the unit there, or None."""
        if id(view) not in self.views_layer:
            return None
        cell = locate_unit(view.layout, x, y, self.views_vector.get(id(view), 0))
        return None if cell is None else (self.views_layer[id(view)], *cell)

    def _clicked(self, view: MapView, x: float, y: float) -> None:
        unit = self.locate(view, x, y)
        if unit is not None:
            self.unit_clicked.emit(*unit)

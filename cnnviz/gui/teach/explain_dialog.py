"""Explain this unit: one cell of a feature map (or a pooled cell, or a dense unit) with its computation
in the paper's notation and the real numbers of a Snapshot.

Forward: the receptive field on the layer's input and on the original image, the input patch, the
kernel for each input channel, their element-wise products, the sum + bias = z, the activation a.
Pooling: the window and its winner. Backward (when the snapshot has gradients): dL/dz at the unit, its
share of dL/dW, the batch's dL/dW, the plain SGD update -lr x dL/dW, and a Check button that recomputes
one derivative by finite differences. All numbers come from ``cnnviz.nn.explain`` (plain loops).
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from cnnviz.errors import CnnvizError
from cnnviz.gui import theme
from cnnviz.gui.teach.grid import NumberGrid, number_text as n3
from cnnviz.nn.explain import (explain_conv_gradient, explain_conv_unit, explain_conv_unit_backward,
                               explain_dense_unit, explain_pool_unit, finite_difference_check,
                               receptive_field)

ACTIVATIONS = {"relu": "ReLU(z) = max(0, z)", "sigmoid": "σ(z) = 1/(1+e<sup>−z</sup>)", "tanh": "tanh(z)"}
CHECK_EPS = (1e-3, 1e-4, 1e-5, 1e-6)   # shrinking steps: the quotient converges unless a kink is near


def layer_geometry(state) -> tuple[int, int, int]:
    """(k, stride, padding) of a conv or pooling LayerState, read from its label ("Conv 8@5x5 s1 p0")."""
    numbers = dict(re.findall(r"\b([sp])(\d+)\b", state.label))
    size = re.search(r"(\d+)x\1", state.label)
    k = int(state.params["W"].shape[-1]) if "W" in state.params else int(size.group(1)) if size else 2
    return k, int(numbers.get("s", 1)), int(numbers.get("p", 0))


def layer_configs(layers) -> list[dict]:
    """Enough of each layer's config for ``receptive_field``."""
    configs = []
    for state in layers:
        if state.kind == "conv":
            k, s, p = layer_geometry(state)
            configs.append({"type": "conv", "kernel": k, "stride": s, "padding": p})
        elif state.kind in ("maxpool", "avgpool"):
            k, s, _ = layer_geometry(state)
            configs.append({"type": state.kind, "size": k, "stride": s})
        else:
            configs.append({"type": state.kind})
    return configs


def forward_params(snapshot, state) -> dict:
    """The weights that produced the activations shown: in the "update" phase the snapshot's params
    are already updated while the maps are from before, so W - ΔW; otherwise the params."""
    if snapshot.phase == "update" and state.update:
        return {key: np.asarray(value) - np.asarray(state.update.get(key, 0)) for key, value in state.params.items()}
    return dict(state.params)


def snapshot_model(snapshot):
    """(model, x (1, C, H, W), y (1,)): the snapshot's preset rebuilt with the snapshot's weights, and
    its probe image and label. CnnvizError when that is impossible."""
    from cnnviz.nn import build_model

    if not snapshot.preset or snapshot.probe_image is None or snapshot.probe_label is None:
        raise CnnvizError("this snapshot has no preset name or no probe image, so the check cannot rebuild the network.")
    first = snapshot.layers[0]
    classes = len(snapshot.probs) if snapshot.probs is not None else None
    model = build_model(snapshot.preset, input_shape=first.input_shape, num_classes=classes)
    if [layer.kind for layer in model.layers] != [s.kind for s in snapshot.layers]:
        raise CnnvizError(f"preset {snapshot.preset!r} no longer has the layers this snapshot was taken from.")
    for layer, state in zip(model.layers, snapshot.layers):
        for key, value in forward_params(snapshot, state).items():
            layer.params[key][...] = value
    x = np.asarray(snapshot.probe_image, np.float32)[None]
    return model, x, np.array([snapshot.probe_label])


def resolve_unit(layers, layer_index: int):
    """(z_state, activation_state or None): a click on an activation's map explains the conv/dense
    before it; a click on a conv/dense also shows the activation after it."""
    state = layers[layer_index]
    if state.kind in ACTIVATIONS and layer_index > 0 and layers[layer_index - 1].kind in ("conv", "dense", "maxpool", "avgpool"):
        return layers[layer_index - 1], state
    following = layers[layer_index + 1] if layer_index + 1 < len(layers) else None
    if state.kind in ("conv", "dense") and following is not None and following.kind in ACTIVATIONS:
        return state, following
    return state, None


def _html_rows(rows) -> str:
    return "<table cellspacing='2' cellpadding='1'>" + "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows) + "</table>"


class ExplainUnitDialog(QtWidgets.QDialog):
    """``ExplainUnitDialog(snapshot, layer_index, channel, y, x, model_factory=None)``; arrows and
    Page Up/Down move to the neighbouring unit (``step_unit``), ``show_unit(...)`` to any unit.

    layer_index: the layer whose map was clicked (an activation layer means the conv/dense before it);
    a dense unit u is (layer, u, 0, 0). model_factory() -> (model, x, y) for the Check button (default
    ``snapshot_model``: the preset rebuilt with the snapshot's weights and its probe image).
    After construction: ``explanation`` (the dict from ``cnnviz.nn.explain``), ``engine_value`` (the
    snapshot's own number for the unit), ``check_result`` ((analytic, numeric) after Check)."""

    def __init__(self, snapshot, layer_index: int, channel: int, y: int, x: int,
                 model_factory: Callable | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Explain this unit")
        self.setFont(theme.font(theme.FONT_PT))
        self.setModal(False)
        self.model_factory = model_factory or (lambda: snapshot_model(self.snapshot))
        self.header = QtWidgets.QLabel()
        self.header.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        self.channel_box = QtWidgets.QComboBox()
        self.channel_box.setToolTip("Which input channel c' of the sum to show")
        self.channel_row = QtWidgets.QHBoxLayout()
        self.channel_row.addWidget(QtWidgets.QLabel("Input channel c':"))
        self.channel_row.addWidget(self.channel_box)
        self.channel_row.addStretch(1)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(theme.BACKGROUND)
        self.forward_text = self._text_label()
        self.backward_text = self._text_label()
        self.check_button = QtWidgets.QPushButton("Check by finite differences")
        self.check_text = self._text_label()
        self.table = QtWidgets.QTableWidget()
        self.table.hide()
        check_row = QtWidgets.QVBoxLayout()
        check_row.addWidget(self.check_button, 0, QtCore.Qt.AlignmentFlag.AlignLeft)
        check_row.addWidget(self.check_text)
        texts = QtWidgets.QWidget()
        text_box = QtWidgets.QVBoxLayout(texts)
        text_box.setContentsMargins(0, 0, 0, 0)
        text_box.addWidget(self.forward_text)
        text_box.addWidget(self.backward_text)
        text_box.addLayout(check_row)
        text_box.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(texts)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        # below this size the 5x5 grids lose their numbers: scroll instead (a 1024x768 projector)
        self.canvas.setMinimumSize(930, 780)
        canvas_scroll = QtWidgets.QScrollArea()
        canvas_scroll.setWidget(self.canvas)
        canvas_scroll.setWidgetResizable(True)
        canvas_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        # the arrows belong to the dialog (walking the units), never to a scroll area or the table
        for widget in (canvas_scroll, scroll, self.table, self.canvas):
            widget.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.channel_box.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)     # still works with the mouse
        self.check_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        splitter.addWidget(canvas_scroll)
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.addWidget(self.table)
        right.addWidget(scroll)
        splitter.addWidget(right)
        splitter.setSizes([1060, 440])
        box = QtWidgets.QVBoxLayout(self)
        box.addWidget(self.header)
        box.addLayout(self.channel_row)
        box.addWidget(splitter, 1)
        self.check_button.clicked.connect(self.run_check)
        self.channel_box.currentIndexChanged.connect(self._channel_changed)
        self.grids: list[NumberGrid] = []
        self._grid_cache: dict[tuple, NumberGrid] = {}
        self.check_result: tuple[float, float] | None = None
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        width, height = 1500, 950                     # fits 5x5 grids with readable numbers
        if screen is not None:                        # a projector may be 1024x768: stay on screen
            width, height = min(width, int(screen.width() * 0.95)), min(height, int(screen.height() * 0.9))
        self.resize(width, height)
        self.show_unit(snapshot, layer_index, channel, y, x)

    @staticmethod
    def _text_label() -> QtWidgets.QLabel:
        label = QtWidgets.QLabel()
        label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        label.setWordWrap(True)
        label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setStyleSheet(f"font-family: monospace; font-size: {theme.FONT_PT}pt; color: {theme.TEXT};")
        label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        return label

    # -- moving to a neighbour with the keyboard ------------------------------------------------
    KEY_STEPS = {QtCore.Qt.Key.Key_Left: (0, 0, -1), QtCore.Qt.Key.Key_Right: (0, 0, 1),
                 QtCore.Qt.Key.Key_Up: (0, -1, 0), QtCore.Qt.Key.Key_Down: (0, 1, 0),
                 QtCore.Qt.Key.Key_PageUp: (-1, 0, 0), QtCore.Qt.Key.Key_PageDown: (1, 0, 0)}

    def step_unit(self, d_channel: int, dy: int, dx: int) -> None:
        """Explain the neighbouring unit (clamped to the layer's output): arrows move (y, x), Page
        Up/Down the channel; for a dense layer every key moves to the previous/next unit."""
        out = self.z_state.output
        if out is None:
            return
        c, y, x = self.unit
        if out.ndim == 1:
            step = d_channel + dy + dx
            self.show_unit(self.snapshot, self.z_state.index, int(np.clip(c + step, 0, out.size - 1)), 0, 0)
            return
        self.show_unit(self.snapshot, self.z_state.index, int(np.clip(c + d_channel, 0, out.shape[0] - 1)),
                       int(np.clip(y + dy, 0, out.shape[1] - 1)), int(np.clip(x + dx, 0, out.shape[2] - 1)))

    def keyPressEvent(self, event):
        step = self.KEY_STEPS.get(event.key())
        if step is not None and self.explanation is not None and type(self) is ExplainUnitDialog:
            self.step_unit(*step)
            event.accept()
        else:
            super().keyPressEvent(event)

    # -- building the picture ---------------------------------------------------------------
    def _reset_canvas(self) -> None:
        """Start a new picture. Grids are kept and reused where the next picture has one in the same
        place (building a plot costs ~20 ms); ``_drop_unused`` removes the rest afterwards."""
        for i in range(3):
            self.canvas.ci.layout.setRowStretchFactor(i, 0)
        self.grids = []
        self.check_text.setText("")
        self.check_result = None
        self.table.hide()

    def _drop_unused(self) -> None:
        used = {id(grid) for grid in self.grids}
        for key, grid in list(self._grid_cache.items()):
            if id(grid) not in used:
                self.canvas.removeItem(grid.plot)
                del self._grid_cache[key]
        # a changed layout resizes itself to its size hint; put it back to the view's size
        self.canvas.ci.layout.activate()
        self.canvas.ci.setGeometry(QtCore.QRectF(0, 0, self.canvas.width(), self.canvas.height()))

    def _free_cells(self, row, col, rowspan, colspan) -> None:
        """Remove kept grids of an earlier picture that overlap these cells (the layout allows one
        item per cell)."""
        used = {id(grid) for grid in self.grids}
        for key, grid in list(self._grid_cache.items()):
            r, c, rs, cs, _ = key
            overlaps = r < row + rowspan and row < r + rs and c < col + colspan and col < c + cs
            if overlaps and id(grid) not in used:
                self.canvas.removeItem(grid.plot)
                del self._grid_cache[key]

    def _grid(self, row, col, title, bar="", colorbar=True, rowspan=1, colspan=1) -> NumberGrid:
        key = (row, col, rowspan, colspan, colorbar)
        grid = self._grid_cache.get(key)
        if grid is None:
            self._free_cells(row, col, rowspan, colspan)
            grid = NumberGrid(self.canvas, row, col, title, colorbar=colorbar, bar_label=bar,
                              rowspan=rowspan, colspan=colspan)
            grid.plot.setMinimumWidth(120)    # long titles must not widen a column past the canvas
            self._grid_cache[key] = grid
        else:
            grid.reuse(title, bar)
        self.grids.append(grid)
        layout = self.canvas.ci.layout
        for i in range(3):                # equal columns and used rows, whatever the titles
            layout.setColumnStretchFactor(i, 1)
        for i in range(row + rowspan):
            layout.setRowStretchFactor(i, 1)
        return grid

    def show_unit(self, snapshot, layer_index: int, channel: int, y: int, x: int) -> None:
        """Explain another unit (or the same unit in a newer snapshot)."""
        self.snapshot = snapshot
        self.z_state, self.a_state = resolve_unit(snapshot.layers, int(layer_index))
        self.unit = (int(channel), int(y), int(x))
        self._reset_canvas()
        self.explanation, self.engine_value, self.check_target = None, None, None
        kind = self.z_state.kind
        self.channel_box.blockSignals(True)
        self.channel_box.clear()
        self.channel_box.blockSignals(False)
        self._set_channel_row(False)
        self.check_button.setVisible(kind in ("conv", "dense"))
        if self.z_state.input is None:
            self._nothing(f"Layer {self.z_state.index} has not run forward yet in this snapshot: step forward first.")
        elif kind == "conv":
            self._explain_conv()
        elif kind in ("maxpool", "avgpool"):
            self._explain_pool()
        elif kind == "dense":
            self._explain_dense()
        else:
            self._nothing(f"Layer {self.z_state.index} ({self.z_state.label}) computes nothing per unit: "
                          "it only reshapes or applies a function element by element.")
        self._drop_unused()

    def _set_channel_row(self, visible: bool) -> None:
        for i in range(self.channel_row.count()):
            widget = self.channel_row.itemAt(i).widget()
            if widget is not None:
                widget.setVisible(visible)

    def _nothing(self, sentence: str) -> None:
        self.header.setText(f"<b>{sentence}</b>")
        self.forward_text.setText("")
        self.backward_text.setText("")
        self.check_button.hide()

    def _has_backward(self) -> bool:
        return self.z_state.dL_dout is not None

    # -- receptive field pictures ------------------------------------------------------------
    def _field_pictures(self, rows, cols, channel_in: int, row: int = 0) -> None:
        """The layer's input channel with the unit's field, and the original image with its field."""
        state = self.z_state
        field_grid = self._grid(row, 0, f"layer {state.index} input, channel {channel_in}", bar="a")
        field_grid.set_data(np.asarray(state.input[channel_in]), numbers=False)
        field_grid.highlight("field", rows[0], cols[0], rows[1] - rows[0] + 1, cols[1] - cols[0] + 1)
        if state.output is not None and state.output.ndim == 3:
            c, y, x = self.unit
            out_grid = self._grid(row, 2, f"layer {state.index} output, map {c}", bar="z")
            out_grid.set_data(np.asarray(state.output[c]), numbers=False, signed=True)
            out_grid.highlight("unit", y, x, 1, 1)
        image = self.snapshot.probe_display if self.snapshot.probe_display is not None else self.snapshot.layers[0].input
        if image is None or state.index == 0:
            return
        try:
            top, left, bottom, right = receptive_field(layer_configs(self.snapshot.layers), state.index,
                                                       self.unit[1], self.unit[2])
        except CnnvizError:
            return
        image_grid = self._grid(row, 1, f"original image: field {bottom - top + 1}x{right - left + 1}",
                                bar="pixel")
        image_grid.set_data(np.asarray(image[0]), numbers=False, signed=False)
        image_grid.highlight("field", top, left, bottom - top + 1, right - left + 1)

    # -- conv ---------------------------------------------------------------------------------
    def _explain_conv(self) -> None:
        state, (f, y, x) = self.z_state, self.unit
        k, s, p = layer_geometry(state)
        params = forward_params(self.snapshot, state)
        e = explain_conv_unit(state.input, params["W"], params["b"], f, y, x, s, p)
        self.explanation, self.geometry = e, (k, s, p)
        self.engine_value = float(state.output[f, y, x])
        channels = state.input.shape[0]
        self.channel_box.blockSignals(True)
        for c in range(channels):
            self.channel_box.addItem(f"{c}   (Σ = {n3(e['channel_sums'][c])})")
        best = int(np.argmax(np.abs(e["channel_sums"])))
        self.channel_box.setCurrentIndex(best)
        self.channel_box.blockSignals(False)
        self._set_channel_row(channels > 1)
        self.header.setText(
            f"<span style='font-size:{theme.TITLE_PT + 2}pt'><b>Layer {state.index} {state.label}</b>: unit "
            f"z<sub>{f}</sub>({y},{x})</span> &nbsp; = Σ<sub>c'</sub> Σ<sub>i</sub> Σ<sub>j</sub> "
            f"w<sub>{f},c'</sub>(i,j) · a<sub>c'</sub>({y}·{s}+i, {x}·{s}+j) + b<sub>{f}</sub> &nbsp; (eq. 8; "
            f"{k}x{k} kernel, stride {s}, padding {p})")
        self._draw_conv_channel(best)

    def _channel_changed(self, index: int) -> None:
        if index >= 0 and self.z_state.kind == "conv" and self.explanation is not None:
            self._reset_canvas()
            self._draw_conv_channel(index)
            self._drop_unused()

    def _draw_conv_channel(self, c: int) -> None:
        e, state, (f, y, x) = self.explanation, self.z_state, self.unit
        k, s, p = self.geometry
        self._field_pictures(e["rows"], e["cols"], c)
        self._grid(1, 0, f"patch a<sub>{c}</sub>", bar="a").set_data(e["patch"][c])
        self._grid(1, 1, f"kernel w<sub>{f},{c}</sub>", bar="w").set_data(e["kernel"][c], signed=True)
        self._grid(1, 2, "products w·a", bar="w·a").set_data(e["products"][c], signed=True)
        sums = e["channel_sums"]
        cells = [f"c'={i}: {n3(v):>8}" + (" ◀" if i == c else "") for i, v in enumerate(sums)]
        rows = [cells[i:i + 2] for i in range(0, len(cells), 2)]
        lines = [f"<b>Forward</b> (this image{self._weights_note()})",
                 f"Σ<sub>i,j</sub> w·a for channel {c} = <b>{n3(sums[c])}</b>",
                 "sum over channels:" + _html_rows(rows),
                 f"Σ = {n3(e['sum'])} &nbsp; + b<sub>{f}</sub> = {n3(e['bias'])}",
                 f"<b>z = {n3(e['z'])}</b> &nbsp; (engine: {n3(self.engine_value)} "
                 f"{'✓' if abs(e['z'] - self.engine_value) <= 1e-4 * max(1, abs(e['z'])) else '✗'})"]
        lines += self._activation_lines(e["z"])
        self.forward_text.setText("<br>".join(lines))
        self._conv_backward(c)

    def _weights_note(self) -> str:
        if self.snapshot.phase == "update" and self.z_state.update:
            return "; weights before this update, W − ΔW"
        return ""

    def _activation_lines(self, z: float) -> list[str]:
        if self.a_state is None or self.a_state.output is None:
            return []
        f, y, x = self.unit
        a = float(self.a_state.output[f, y, x] if self.a_state.output.ndim == 3 else self.a_state.output[f])
        return [f"<b>a = {ACTIVATIONS[self.a_state.kind]} = {n3(a)}</b>"]

    def _conv_backward(self, c: int) -> None:
        state, (f, y, x) = self.z_state, self.unit
        if not self._has_backward():
            self.backward_text.setText("<b>Backward</b>: no gradients yet (step through the backward pass).")
            self.check_button.setEnabled(False)
            return
        k, s, p = self.geometry
        share = explain_conv_unit_backward(state.input, state.dL_dout, f, y, x, k, s, p)
        self._grid(2, 0, f"share of dL/dW<sub>{f},{c}</sub>", bar="dL/dW").set_data(share["dW"][c], signed=True)
        lines = ["<b>Backward</b>",
                 f"dL/dz<sub>{f}</sub>({y},{x}) = <b>{n3(share['dz'])}</b> (arrived from above, this image)",
                 f"its share of dL/dW<sub>{f},{c}</sub>(i,j) = dL/dz · a<sub>{c}</sub>({y}·{s}+i, {x}·{s}+j) (eq. 11)",
                 f"its share of dL/db<sub>{f}</sub> = dL/dz = {n3(share['db'])} (eq. 12)"]
        if share["dz"] == 0 and self.a_state is not None and self.a_state.kind == "relu" and self.explanation["z"] <= 0:
            lines.append("z ≤ 0, so the ReLU passed no gradient back (eq. 32): this unit does not learn from this image")
        if "W" in state.grads:
            grad = np.asarray(state.grads["W"][f, c])
            lr = float(self.snapshot.lr)
            self._grid(2, 1, f"batch dL/dW<sub>{f},{c}</sub>", bar="dL/dW").set_data(grad, signed=True)
            self._grid(2, 2, f"−lr·dL/dW (lr {n3(lr)})", bar="ΔW").set_data(-lr * grad, signed=True)
            lines.append("dL/dW of the batch sums every unit's share over all positions and images (eq. 11).")
            if "W" in state.update:
                lines.append(f"the optimizer's actual ΔW<sub>{f},{c}</sub>(0,0) = {n3(state.update['W'][f, c, 0, 0])} "
                             f"(Adam scales each weight's step)")
            i, j = np.unravel_index(int(np.argmax(np.abs(grad))), grad.shape)
            self.check_target = ("W", int(np.ravel_multi_index((f, c, i, j), state.params["W"].shape)),
                                 f"dL/dW<sub>{f},{c}</sub>({i},{j})")
            self.check_button.setEnabled(True)
            self.check_button.setToolTip(f"Recompute dL/dW[{f},{c},{i},{j}] by central differences")
        self.backward_text.setText("<br>".join(lines))

    # -- pooling ------------------------------------------------------------------------------
    def _explain_pool(self) -> None:
        state, (c, y, x) = self.z_state, self.unit
        size, stride, _ = layer_geometry(state)
        mode = "max" if state.kind == "maxpool" else "avg"
        e = explain_pool_unit(state.input, size, stride, c, y, x, mode)
        self.explanation, self.engine_value = e, float(state.output[c, y, x])
        self.header.setText(
            f"<span style='font-size:{theme.TITLE_PT + 2}pt'><b>Layer {state.index} {state.label}</b>: cell "
            f"({c}, {y}, {x})</span> &nbsp; = {'max' if mode == 'max' else 'mean'} of a {size}x{size} window "
            f"(eq. 29)")
        self._field_pictures(e["rows"], e["cols"], c)
        window = self._grid(1, 0, "window", bar="a")
        window.set_data(e["window"])
        lines = ["<b>Forward</b>", f"window rows {e['rows'][0]}..{e['rows'][1]}, columns {e['cols'][0]}..{e['cols'][1]}"]
        if mode == "max":
            i, j = e["winner"]
            window.highlight("winner", i, j, 1, 1)
            r, q = e["winner_at"]
            in_mask = state.mask is not None and bool(state.mask[c, r, q])
            lines += [f"winner: ({r}, {q}) of the input, the first maximum in row-major order",
                      f"<b>value = {n3(e['value'])}</b> &nbsp; (engine: {n3(self.engine_value)}; "
                      f"pooling mask {'marks it ✓' if in_mask else 'does not mark it ✗'})"]
        else:
            lines.append(f"<b>value = mean = {n3(e['value'])}</b> &nbsp; (engine: {n3(self.engine_value)})")
        self.forward_text.setText("<br>".join(lines))
        if self._has_backward():
            g = float(state.dL_dout[c, y, x])
            back = ["<b>Backward</b>", f"dL/d(out) at this cell = <b>{n3(g)}</b>"]
            if mode == "max":
                back.append(f"eq. 30: all of it goes to the winner ({r}, {q}); the other cells of the window get 0")
                routed = np.zeros_like(e["window"])
                routed[i, j] = g
                self._grid(1, 1, "dL/da routed to the winner", bar="dL/da").set_data(routed, signed=True)
            else:
                back.append(f"each of the {size * size} cells gets {n3(g / (size * size))}")
            self.backward_text.setText("<br>".join(back))
        else:
            self.backward_text.setText("<b>Backward</b>: no gradients yet.")

    # -- dense ---------------------------------------------------------------------------------
    def _explain_dense(self) -> None:
        state, u = self.z_state, self.unit[0]
        a = np.asarray(state.input).reshape(-1)
        params = forward_params(self.snapshot, state)
        e = explain_dense_unit(a, params["W"], params["b"], u, top=10)
        self.explanation, self.engine_value = e, float(state.output[u])
        self.header.setText(
            f"<span style='font-size:{theme.TITLE_PT + 2}pt'><b>Layer {state.index} {state.label}</b>: unit "
            f"z<sub>{u}</sub></span> &nbsp; = Σ<sub>i</sub> W<sub>{u},i</sub> a<sub>i</sub> + b<sub>{u}</sub> "
            f"(eq. 1), {a.size} inputs")
        dz = float(state.dL_dout[u]) if self._has_backward() else None
        headers = ["i", "a_i", f"W[{u},i]", "W·a"] + ([f"dz·a_i"] if dz is not None else [])
        self.table.setStyleSheet("font-family: monospace;")
        self.table.verticalHeader().hide()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(e["top"]))
        for r, (i, ai, wi, product) in enumerate(e["top"]):
            values = [str(i), n3(ai), n3(wi), n3(product)] + ([n3(dz * ai)] if dz is not None else [])
            for col, text in enumerate(values):
                item = QtWidgets.QTableWidgetItem(text)
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, col, item)
        self.table.resizeColumnsToContents()
        self.table.setMaximumHeight(self.table.horizontalHeader().height() + 4
                                    + sum(self.table.rowHeight(r) for r in range(self.table.rowCount())))
        self.table.show()
        products = self._grid(0, 0, f"all {a.size} products W<sub>{u},i</sub>·a<sub>i</sub> (16 per row; "
                                    f"the 10 largest outlined)", bar="W·a", rowspan=3, colspan=3)
        width = 16 if a.size > 16 else a.size
        padded = np.zeros(-(-a.size // width) * width)
        padded[: a.size] = e["products"]
        products.set_data(padded.reshape(-1, width), signed=True, numbers=a.size <= 64)
        for rank, (i, *_rest) in enumerate(e["top"]):
            products.highlight(f"top{rank}", i // width, i % width, 1, 1, pen_width=2)
        lines = [f"<b>Forward</b> (the 10 largest terms are in the table{self._weights_note()})",
                 f"Σ of those 10 = {n3(e['sum'] - e['rest'])}, the other {a.size - len(e['top'])} terms = {n3(e['rest'])}",
                 f"Σ = {n3(e['sum'])} &nbsp; + b<sub>{u}</sub> = {n3(e['bias'])}",
                 f"<b>z = {n3(e['z'])}</b> &nbsp; (engine: {n3(self.engine_value)} "
                 f"{'✓' if abs(e['z'] - self.engine_value) <= 1e-4 * max(1, abs(e['z'])) else '✗'})"]
        lines += self._activation_lines(e["z"])
        if self.snapshot.probs is not None and state.index == len(self.snapshot.layers) - 1:
            lines.append(f"softmax: p<sub>{u}</sub> = {n3(self.snapshot.probs[u])}")
        self.forward_text.setText("<br>".join(lines))
        if dz is None:
            self.backward_text.setText("<b>Backward</b>: no gradients yet.")
            self.check_button.setEnabled(False)
            return
        lr = float(self.snapshot.lr)
        back = ["<b>Backward</b>", f"dL/dz<sub>{u}</sub> = <b>{n3(dz)}</b> (this image)",
                f"dL/dW<sub>{u},i</sub> = dL/dz · a<sub>i</sub> (eq. 3); dL/db<sub>{u}</sub> = dL/dz (eq. 4)"]
        if "W" in state.grads:
            i = e["top"][0][0]
            g = float(state.grads["W"][u, i])
            back += [f"batch dL/dW<sub>{u},{i}</sub> = {n3(g)}; SGD update −lr·dL/dW = {n3(-lr * g)} (lr {n3(lr)})"]
            self.check_target = ("W", int(np.ravel_multi_index((u, i), state.params["W"].shape)),
                                 f"dL/dW<sub>{u},{i}</sub>")
            self.check_button.setEnabled(True)
        self.backward_text.setText("<br>".join(back))

    # -- finite differences --------------------------------------------------------------------
    def run_check(self) -> None:
        """dL/dW at the unit's largest-gradient weight: backprop against central differences with a
        shrinking step, for the probe image alone (a batch of one), in float64 on a copy (the live model
        is never touched)."""
        if self.check_target is None:
            return
        key, flat, name = self.check_target
        try:
            model, x, y = self.model_factory()
            results = [finite_difference_check(model, x, y, self.z_state.index, key, flat, eps=eps)
                       for eps in CHECK_EPS]
        except CnnvizError as exc:
            self.check_text.setText(f"<span style='color:{theme.WRONG}'>{exc}</span>")
            return
        analytic = results[0][0]
        diffs = [abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-12) for _, numeric in results]
        best = int(np.argmin(diffs))
        self.check_result = (analytic, results[best][1])
        share = self.check_share()
        ratio = analytic / share if share else 1.0
        batch_note = (f"<br>(in its batch this image's share was {n3(share)}, divided by the batch size "
                      f"N ≈ {ratio:.0f}; alone, N = 1)" if abs(ratio - 1) > 0.01 and ratio > 0 else "")
        rows = [[f"ε = {eps:g}", f"{numeric: .7g}", f"rel. diff {diff:.1e}"]
                for eps, (_, numeric), diff in zip(CHECK_EPS, results, diffs)]
        verdict = ("agree ✓" if diffs[best] < 1e-4 else "differ ✗")
        kink = (" (a larger ε crossed a kink: a ReLU at 0 or a max-pool winner changing)"
                if diffs[best] < 1e-4 and max(diffs) > 1e-3 else "")
        self.check_text.setText(
            f"{name}, probe image alone (batch of 1):<br>backprop: {analytic:.7g}<br>"
            f"(L(w+ε) − L(w−ε)) / 2ε:" + _html_rows(rows) + f"<b>{verdict}</b>{kink}{batch_note}")

    def check_share(self) -> float:
        """This image's share of the checked derivative, as the snapshot's dL/dz gives it (0 if unknown)."""
        key, flat, _ = self.check_target
        state = self.z_state
        if state.dL_dout is None or state.input is None:
            return 0.0
        index = np.unravel_index(flat, state.params[key].shape)
        if state.kind == "dense":
            a = np.asarray(state.input).reshape(-1)
            return float(state.dL_dout[index[0]]) * (float(a[index[1]]) if key == "W" else 1.0)
        if key == "b":
            return float(np.sum(state.dL_dout[index[0]]))
        k, s, p = layer_geometry(state)
        return float(explain_conv_gradient(state.input, state.dL_dout, *index, s, p)["dW"])

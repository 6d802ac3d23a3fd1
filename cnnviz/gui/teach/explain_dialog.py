"""Explain this unit: one cell of a feature map (or a pooled cell, or a dense unit) with its computation
in the paper's notation and the real numbers of a Snapshot.

Forward: the receptive field on the layer's input and on the original image, the input patch, the
kernel for each input channel, their element-wise products, the sum + bias = z, the activation a.
Pooling: the window and its winner. Backward (when the snapshot has gradients): dL/dz at the unit, its
share of dL/dW, the batch's dL/dW, the plain SGD update -lr x dL/dW, and a Check button that recomputes
one derivative by finite differences. All numbers come from ``cnnviz.nn.explain`` (plain loops).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from cnnviz.errors import CnnvizError
from cnnviz.gui import theme
from cnnviz.gui.teach.explain_pool_dense import explain_dense, explain_pool
from cnnviz.gui.teach.grid import NumberGrid, number_text as n3
from cnnviz.gui.teach.unit_lookup import (ACTIVATIONS, actual_update_line, forward_params, html_rows,
                                          layer_configs, layer_geometry, resolve_unit, snapshot_model)
from cnnviz.nn.explain import (explain_conv_gradient, explain_conv_unit, explain_conv_unit_backward,
                               finite_difference_check, receptive_field)

__all__ = ["ExplainUnitDialog", "forward_params", "layer_configs", "layer_geometry", "resolve_unit",
           "snapshot_model"]

CHECK_EPS = (1e-3, 1e-4, 1e-5, 1e-6)   # shrinking steps: the quotient converges unless a kink is near


class ExplainUnitDialog(QtWidgets.QDialog):
    """``ExplainUnitDialog(snapshot, layer_index, channel, y, x, model_factory=None)``; arrows and
    Page Up/Down move to the neighbouring unit (``step_unit``), ``show_unit(...)`` to any unit.

    layer_index: the layer whose map was clicked (an activation layer means the conv/dense before it);
    a dense unit u is (layer, u, 0, 0). model_factory() -> (model, x, y) for the Check button (default
    ``snapshot_model``: the preset rebuilt with the snapshot's weights and its probe image).
    After construction: ``explanation`` (the dict from ``cnnviz.nn.explain``), ``engine_value`` (the
    snapshot's own number for the unit), ``check_result`` ((analytic, numeric) after Check)."""

    def __init__(self, snapshot, layer_index: int, channel: int, y: int, x: int,
                 model_factory: Callable | None = None, parent=None, look: theme.Theme = theme.DEFAULT):
        super().__init__(parent)
        self.theme = look          # its palette; text at the base sizes (lecture mode zooms it whole)
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
        font = theme.font(theme.FONT_PT)     # a font, not a style sheet size: lecture mode can grow it
        font.setFamily("monospace")
        font.setStyleHint(QtGui.QFont.StyleHint.Monospace)
        label.setFont(font)
        label.setStyleSheet(f"color: {theme.TEXT};")
        label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        return label

    def apply_theme(self, look: theme.Theme) -> None:
        """Colour with ``look``'s palette from the next ``show_unit`` on (the opener redraws it)."""
        self.theme = look
        for grid in self._grid_cache.values():
            grid.apply_theme(look)

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

    def grid(self, row, col, title, bar="", colorbar=True, rowspan=1, colspan=1) -> NumberGrid:
        key = (row, col, rowspan, colspan, colorbar)
        grid = self._grid_cache.get(key)
        if grid is None:
            self._free_cells(row, col, rowspan, colspan)
            grid = NumberGrid(self.canvas, row, col, title, colorbar=colorbar, bar_label=bar,
                              rowspan=rowspan, colspan=colspan, look=self.theme)
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
            explain_pool(self)
        elif kind == "dense":
            explain_dense(self)
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

    def has_backward(self) -> bool:
        return self.z_state.dL_dout is not None

    # -- receptive field pictures ------------------------------------------------------------
    def field_pictures(self, rows, cols, channel_in: int, row: int = 0) -> None:
        """The layer's input channel with the unit's field, and the original image with its field."""
        state = self.z_state
        field_grid = self.grid(row, 0, f"layer {state.index} input, channel {channel_in}", bar="a")
        field_grid.set_data(np.asarray(state.input[channel_in]), numbers=False)
        field_grid.highlight("field", rows[0], cols[0], rows[1] - rows[0] + 1, cols[1] - cols[0] + 1)
        if state.output is not None and state.output.ndim == 3:
            c, y, x = self.unit
            out_grid = self.grid(row, 2, f"layer {state.index} output, map {c}", bar="z")
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
        image_grid = self.grid(row, 1, f"original image: field {bottom - top + 1}x{right - left + 1}",
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
        self.field_pictures(e["rows"], e["cols"], c)
        self.grid(1, 0, f"patch a<sub>{c}</sub>", bar="a").set_data(e["patch"][c])
        self.grid(1, 1, f"kernel w<sub>{f},{c}</sub>", bar="w").set_data(e["kernel"][c], signed=True)
        self.grid(1, 2, "products w·a", bar="w·a").set_data(e["products"][c], signed=True)
        sums = e["channel_sums"]
        cells = [f"c'={i}: {n3(v):>8}" + (" ◀" if i == c else "") for i, v in enumerate(sums)]
        rows = [cells[i:i + 2] for i in range(0, len(cells), 2)]
        lines = [f"<b>Forward</b> (this image{self.weights_note()})",
                 f"Σ<sub>i,j</sub> w·a for channel {c} = <b>{n3(sums[c])}</b>",
                 "sum over channels:" + html_rows(rows),
                 f"Σ = {n3(e['sum'])} &nbsp; + b<sub>{f}</sub> = {n3(e['bias'])}",
                 f"<b>z = {n3(e['z'])}</b> &nbsp; (engine: {n3(self.engine_value)} "
                 f"{'✓' if abs(e['z'] - self.engine_value) <= 1e-4 * max(1, abs(e['z'])) else '✗'})"]
        lines += self.activation_lines(e["z"])
        self.forward_text.setText("<br>".join(lines))
        self._conv_backward(c)

    def weights_note(self) -> str:
        if self.snapshot.phase == "update" and self.z_state.update:
            return "; weights before this update, W − ΔW"
        return ""

    def activation_lines(self, z: float) -> list[str]:
        if self.a_state is None or self.a_state.output is None:
            return []
        f, y, x = self.unit
        a = float(self.a_state.output[f, y, x] if self.a_state.output.ndim == 3 else self.a_state.output[f])
        return [f"<b>a = {ACTIVATIONS[self.a_state.kind]} = {n3(a)}</b>"]

    def _conv_backward(self, c: int) -> None:
        state, (f, y, x) = self.z_state, self.unit
        if not self.has_backward():
            self.backward_text.setText("<b>Backward</b>: no gradients yet (step through the backward pass).")
            self.check_button.setEnabled(False)
            return
        k, s, p = self.geometry
        share = explain_conv_unit_backward(state.input, state.dL_dout, f, y, x, k, s, p)
        self.grid(2, 0, f"share of dL/dW<sub>{f},{c}</sub>", bar="dL/dW").set_data(share["dW"][c], signed=True)
        lines = ["<b>Backward</b>",
                 f"dL/dz<sub>{f}</sub>({y},{x}) = <b>{n3(share['dz'])}</b> (arrived from above, this image)",
                 f"its share of dL/dW<sub>{f},{c}</sub>(i,j) = dL/dz · a<sub>{c}</sub>({y}·{s}+i, {x}·{s}+j) (eq. 11)",
                 f"its share of dL/db<sub>{f}</sub> = dL/dz = {n3(share['db'])} (eq. 12)"]
        if share["dz"] == 0 and self.a_state is not None and self.a_state.kind == "relu" and self.explanation["z"] <= 0:
            lines.append("z ≤ 0, so the ReLU passed no gradient back (eq. 32): this unit does not learn from this image")
        if "W" in state.grads:
            grad = np.asarray(state.grads["W"][f, c])
            lr = float(self.snapshot.lr)
            self.grid(2, 1, f"batch dL/dW<sub>{f},{c}</sub>", bar="dL/dW").set_data(grad, signed=True)
            self.grid(2, 2, f"plain SGD's step −lr·dL/dW (lr {n3(lr)})", bar="−lr·dL/dW").set_data(-lr * grad, signed=True)
            lines.append("dL/dW of the batch sums every unit's share over all positions and images (eq. 11).")
            if "W" in state.update:
                lines.append(actual_update_line(float(state.update["W"][f, c, 0, 0]), f"ΔW<sub>{f},{c}</sub>(0,0)",
                                                sgd_step=float(-lr * grad[0, 0])))
            i, j = np.unravel_index(int(np.argmax(np.abs(grad))), grad.shape)
            self.check_target = ("W", int(np.ravel_multi_index((f, c, i, j), state.params["W"].shape)),
                                 f"dL/dW<sub>{f},{c}</sub>({i},{j})")
            self.check_button.setEnabled(True)
            self.check_button.setToolTip(f"Recompute dL/dW[{f},{c},{i},{j}] by central differences")
        self.backward_text.setText("<br>".join(lines))

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
            self.check_text.setText(f"<span style='color:{self.theme.wrong}'>{exc}</span>")
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
            f"(L(w+ε) − L(w−ε)) / 2ε:" + html_rows(rows) + f"<b>{verdict}</b>{kink}{batch_note}")

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

"""Explain one weight's gradient: dL/dW as the sum of dL/dz times the input it multiplied, over every
position it was used at (eq. 11 for a conv kernel, eq. 3 for a dense weight), with the real numbers of
the probe image, the batch gradient, what plain SGD would do (-lr x dL/dW) beside the optimizer's
actual ΔW (Adam's differs), and the finite-difference check.

Opened by a click on a kernel or gradient cell (the panels' ``weight_clicked(layer, out, in_channel,
i, j)``); shares the window, pictures and Check button of ``ExplainUnitDialog``.
"""

from __future__ import annotations

import numpy as np

from cnnviz.gui import theme
from cnnviz.gui.teach.explain_dialog import ExplainUnitDialog, forward_params, layer_geometry
from cnnviz.gui.teach.unit_lookup import actual_update_line
from cnnviz.gui.mosaic import make_layout, tile
from cnnviz.gui.teach.grid import number_text as n3
from cnnviz.nn.explain import explain_conv_gradient


def pre_flatten_shape(layers, layer_index: int) -> tuple | None:
    """(C, H, W) of the maps a dense layer's flat input came from through a Flatten, else None."""
    k = layer_index - 1
    while k >= 0 and layers[k].kind in ("relu", "sigmoid", "tanh"):
        k -= 1
    if k >= 0 and layers[k].kind == "flatten" and len(layers[k].input_shape) == 3:
        return tuple(int(v) for v in layers[k].input_shape)
    return None


def dense_input_index(layers, layer_index: int, in_channel: int, i: int, j: int) -> int:
    """The flat input of dense layer ``layer_index`` that (in_channel, i, j) names: the place in the
    pre-flatten (C, H, W) maps, c*H*W + i*W + j (for a plain matrix in_channel = i = 0, so just j)."""
    shape = pre_flatten_shape(layers, layer_index)
    if shape is not None:
        _, h, w = shape
        return int(in_channel) * h * w + int(i) * w + int(j)
    return int(j)


class ExplainWeightDialog(ExplainUnitDialog):
    """``ExplainWeightDialog(snapshot, layer_index, out, in_channel, i, j, model_factory=None)``: the
    gradient of W[out, in_channel, i, j] (conv) or of W[out, input] (dense, see ``dense_input_index``).
    ``explanation`` holds the numbers; ``show_weight(...)`` re-targets it."""

    def __init__(self, snapshot, layer_index: int, out: int, in_channel: int, i: int, j: int,
                 model_factory=None, parent=None, look: theme.Theme = theme.DEFAULT):
        self.weight = (int(out), int(in_channel), int(i), int(j))   # (out, in_channel, i, j) explained
        super().__init__(snapshot, layer_index, 0, 0, 0, model_factory=model_factory, parent=parent, look=look)
        self.setWindowTitle("Explain this weight")

    def show_unit(self, snapshot, layer_index, channel, y, x) -> None:   # the base class's entry point
        self.show_weight(snapshot, layer_index, *self.weight)

    def show_weight(self, snapshot, layer_index: int, out: int, in_channel: int, i: int, j: int) -> None:
        self.snapshot = snapshot
        self.weight = (int(out), int(in_channel), int(i), int(j))
        self.z_state, self.a_state = snapshot.layers[int(layer_index)], None
        self.unit = (int(out), 0, 0)
        self._reset_canvas()
        self.explanation, self.engine_value, self.check_target = None, None, None
        self._set_channel_row(False)
        self.check_button.setVisible(True)
        self.check_button.setEnabled(False)
        state = self.z_state
        if state.kind not in ("conv", "dense") or "W" not in state.params:
            self._nothing(f"Layer {state.index} ({state.label}) has no weights.")
        elif state.input is None or state.dL_dout is None:
            self._nothing(f"No gradient for layer {state.index} yet: step through the backward pass first.")
        elif state.kind == "conv":
            self._conv_weight()
        else:
            self._dense_weight()
        self._drop_unused()

    def _weight_lines(self, index: tuple, name: str, probe_share: float) -> list[str]:
        """Batch gradient, plain SGD's step, the actual update, and the Check target, for weight ``index``."""
        state = self.z_state
        w = float(forward_params(self.snapshot, state)["W"][index])
        lines = [f"{name} = {n3(w)} (its value in the forward pass)",
                 f"this image's share of dL/d{name} = <b>{n3(probe_share)}</b>"]
        if "W" in state.grads:
            g = float(state.grads["W"][index])
            lr = float(self.snapshot.lr)
            lines += [f"batch dL/d{name} = <b>{n3(g)}</b> (the shares of all images, each already ÷ N)",
                      f"plain SGD would step −lr·dL/dW = −{n3(lr)} × {n3(g)} = {n3(-lr * g)}"]
            if "W" in state.update:
                lines.append(actual_update_line(float(state.update["W"][index])))
            self.check_target = ("W", int(np.ravel_multi_index(index, state.params["W"].shape)), f"dL/d{name}")
            self.check_button.setEnabled(True)
        return lines

    def _conv_weight(self) -> None:
        state, (f, c, i, j) = self.z_state, self.weight
        k, s, p = layer_geometry(state)
        e = explain_conv_gradient(state.input, state.dL_dout, f, c, i, j, s, p)
        self.explanation = e
        name = f"W<sub>{f},{c}</sub>({i},{j})"
        self.header.setText(
            f"<span style='font-size:{theme.TITLE_PT + 2}pt'><b>Layer {state.index} {state.label}</b>: weight "
            f"{name}</span> &nbsp; dL/dW<sub>{f},{c}</sub>({i},{j}) = Σ<sub>y,x</sub> dL/dz<sub>{f}</sub>(y,x) · "
            f"a<sub>{c}</sub>(y·{s}+{i}, x·{s}+{j}) (eq. 11)")
        self.grid(0, 0, f"dL/dz<sub>{f}</sub>", bar="dL/dz").set_data(e["dz"], signed=True, numbers=e["dz"].size <= 64)
        self.grid(0, 1, f"a<sub>{c}</sub>(y·{s}+{i}, x·{s}+{j})", bar="a").set_data(e["inputs"], numbers=e["dz"].size <= 64)
        self.grid(0, 2, "products", bar="dL/dz·a").set_data(e["terms"], signed=True, numbers=e["dz"].size <= 64)
        if "W" in state.grads:
            self.grid(1, 0, f"batch dL/dW<sub>{f},{c}</sub>", bar="dL/dW").set_data(
                np.asarray(state.grads["W"][f, c]), signed=True)
            self.grids[-1].highlight("weight", i, j, 1, 1)
        lines = ["<b>Backward</b> (this image)",
                 f"the weight meets the input at all {e['dz'].size} positions of map {f}:",
                 f"Σ of the products = {n3(e['dW'])}"]
        self.forward_text.setText("<br>".join(lines))
        self.backward_text.setText("<br>".join(self._weight_lines((f, c, i, j), name, e["dW"])))

    def _dense_weight(self) -> None:
        state, (u, c, i, j) = self.z_state, self.weight
        index = dense_input_index(self.snapshot.layers, state.index, c, i, j)
        a = float(np.asarray(state.input).reshape(-1)[index])
        dz = float(state.dL_dout[u])
        self.explanation = {"dz": dz, "a": a, "dW": dz * a, "input": index}
        name = f"W<sub>{u},{index}</sub>"
        self.header.setText(
            f"<span style='font-size:{theme.TITLE_PT + 2}pt'><b>Layer {state.index} {state.label}</b>: weight "
            f"{name}</span> &nbsp; dL/dW<sub>{u},i</sub> = dL/dz<sub>{u}</sub> · a<sub>i</sub> (eq. 3)")
        grads = np.asarray(state.grads.get("W", np.zeros_like(state.params["W"])))[u]
        source = pre_flatten_shape(self.snapshot.layers, state.index)
        layout = None
        if source is not None and int(np.prod(source)) == grads.size:
            # in the shape of the maps they came from: input i sits where its pixel was
            layout = make_layout(source[0], source[1], source[2], None, aspect=1.6)
            picture, layout = tile(grads.reshape(source), layout)
            oy, ox = layout.origin(c)
            place = (oy + i, ox + j)
            title = f"batch dL/dW<sub>{u},i</sub> in the shape of the {source[0]} input maps"
        else:
            width = 16 if grads.size > 16 else grads.size
            picture = np.zeros(-(-grads.size // width) * width)
            picture[: grads.size] = grads
            picture = picture.reshape(-1, width)
            place = divmod(index, width)
            title = f"batch dL/dW<sub>{u},i</sub>, {width} inputs per row"
        grid = self.grid(0, 0, title + f"; input {index} outlined", bar="dL/dW", rowspan=3, colspan=3)
        grid.set_data(picture, signed=True, numbers=picture.size <= 64)
        if layout is not None:
            grid.set_separators(*layout.separator_lines())
        grid.highlight("weight", place[0], place[1], 1, 1)
        self.forward_text.setText("<br>".join([
            "<b>Backward</b> (this image)", f"dL/dz<sub>{u}</sub> = {n3(dz)}", f"a<sub>{index}</sub> = {n3(a)}",
            f"dL/dz · a = {n3(dz)} × {n3(a)} = {n3(dz * a)}"]))
        self.backward_text.setText("<br>".join(self._weight_lines((u, index), name, dz * a)))

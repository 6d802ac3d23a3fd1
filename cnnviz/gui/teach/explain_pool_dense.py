"""The pooling-cell and dense-unit pictures of the explain dialog: ``explain_pool(dialog)`` and
``explain_dense(dialog)`` draw into an ExplainUnitDialog through its public parts (its canvas
``grid``s, ``header``, text labels, table and Check button) and set its ``explanation`` and
``engine_value``."""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtWidgets

from cnnviz.gui import theme
from cnnviz.gui.teach.grid import number_text as n3
from cnnviz.gui.teach.unit_lookup import actual_update_line, forward_params, layer_geometry
from cnnviz.nn.explain import explain_dense_unit, explain_pool_unit


# -- pooling ------------------------------------------------------------------------------
def explain_pool(dialog) -> None:
    """A pooling cell, eq. 29 (forward) and 30 (backward)."""
    state, (c, y, x) = dialog.z_state, dialog.unit
    size, stride, _ = layer_geometry(state)
    mode = "max" if state.kind == "maxpool" else "avg"
    e = explain_pool_unit(state.input, size, stride, c, y, x, mode)
    dialog.explanation, dialog.engine_value = e, float(state.output[c, y, x])
    dialog.header.setText(
        f"<span style='font-size:{theme.TITLE_PT + 2}pt'><b>Layer {state.index} {state.label}</b>: cell "
        f"({c}, {y}, {x})</span> &nbsp; = {'max' if mode == 'max' else 'mean'} of a {size}x{size} window "
        f"(eq. 29)")
    dialog.field_pictures(e["rows"], e["cols"], c)
    window = dialog.grid(1, 0, "window", bar="a")
    window.set_data(e["window"])
    lines = ["<b>Forward</b>", f"window rows {e['rows'][0]}..{e['rows'][1]}, columns {e['cols'][0]}..{e['cols'][1]}"]
    if mode == "max":
        i, j = e["winner"]
        window.highlight("winner", i, j, 1, 1)
        r, q = e["winner_at"]
        in_mask = state.mask is not None and bool(state.mask[c, r, q])
        lines += [f"winner: ({r}, {q}) of the input, the first maximum in row-major order",
                  f"<b>value = {n3(e['value'])}</b> &nbsp; (engine: {n3(dialog.engine_value)}; "
                  f"pooling mask {'marks it ✓' if in_mask else 'does not mark it ✗'})"]
    else:
        lines.append(f"<b>value = mean = {n3(e['value'])}</b> &nbsp; (engine: {n3(dialog.engine_value)})")
    dialog.forward_text.setText("<br>".join(lines))
    if dialog.has_backward():
        g = float(state.dL_dout[c, y, x])
        back = ["<b>Backward</b>", f"dL/d(out) at this cell = <b>{n3(g)}</b>"]
        if mode == "max":
            back.append(f"eq. 30: all of it goes to the winner ({r}, {q}); the other cells of the window get 0")
            routed = np.zeros_like(e["window"])
            routed[i, j] = g
            dialog.grid(1, 1, "dL/da routed to the winner", bar="dL/da").set_data(routed, signed=True)
        else:
            back.append(f"each of the {size * size} cells gets {n3(g / (size * size))}")
        dialog.backward_text.setText("<br>".join(back))
    else:
        dialog.backward_text.setText("<b>Backward</b>: no gradients yet.")


# -- dense ---------------------------------------------------------------------------------
def explain_dense(dialog) -> None:
    """A dense unit, eq. 1 (forward) and 2-4 (backward)."""
    state, u = dialog.z_state, dialog.unit[0]
    a = np.asarray(state.input).reshape(-1)
    params = forward_params(dialog.snapshot, state)
    e = explain_dense_unit(a, params["W"], params["b"], u, top=10)
    dialog.explanation, dialog.engine_value = e, float(state.output[u])
    dialog.header.setText(
        f"<span style='font-size:{theme.TITLE_PT + 2}pt'><b>Layer {state.index} {state.label}</b>: unit "
        f"z<sub>{u}</sub></span> &nbsp; = Σ<sub>i</sub> W<sub>{u},i</sub> a<sub>i</sub> + b<sub>{u}</sub> "
        f"(eq. 1), {a.size} inputs")
    dz = float(state.dL_dout[u]) if dialog.has_backward() else None
    headers = ["i", "a_i", f"W[{u},i]", "W·a"] + ([f"dz·a_i"] if dz is not None else [])
    dialog.table.setStyleSheet("font-family: monospace;")
    dialog.table.verticalHeader().hide()
    dialog.table.setColumnCount(len(headers))
    dialog.table.setHorizontalHeaderLabels(headers)
    dialog.table.setRowCount(len(e["top"]))
    for r, (i, ai, wi, product) in enumerate(e["top"]):
        values = [str(i), n3(ai), n3(wi), n3(product)] + ([n3(dz * ai)] if dz is not None else [])
        for col, text in enumerate(values):
            item = QtWidgets.QTableWidgetItem(text)
            item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
            dialog.table.setItem(r, col, item)
    dialog.table.resizeColumnsToContents()
    dialog.table.setMaximumHeight(dialog.table.horizontalHeader().height() + 4
                                + sum(dialog.table.rowHeight(r) for r in range(dialog.table.rowCount())))
    dialog.table.show()
    products = dialog.grid(0, 0, f"all {a.size} products W<sub>{u},i</sub>·a<sub>i</sub> (16 per row; "
                                f"the 10 largest outlined)", bar="W·a", rowspan=3, colspan=3)
    width = 16 if a.size > 16 else a.size
    padded = np.zeros(-(-a.size // width) * width)
    padded[: a.size] = e["products"]
    products.set_data(padded.reshape(-1, width), signed=True, numbers=a.size <= 64)
    for rank, (i, *_rest) in enumerate(e["top"]):
        products.highlight(f"top{rank}", i // width, i % width, 1, 1, pen_width=2)
    lines = [f"<b>Forward</b> (the 10 largest terms are in the table{dialog.weights_note()})",
             f"Σ of those 10 = {n3(e['sum'] - e['rest'])}, the other {a.size - len(e['top'])} terms = {n3(e['rest'])}",
             f"Σ = {n3(e['sum'])} &nbsp; + b<sub>{u}</sub> = {n3(e['bias'])}",
             f"<b>z = {n3(e['z'])}</b> &nbsp; (engine: {n3(dialog.engine_value)} "
             f"{'✓' if abs(e['z'] - dialog.engine_value) <= 1e-4 * max(1, abs(e['z'])) else '✗'})"]
    lines += dialog.activation_lines(e["z"])
    if dialog.snapshot.probs is not None and state.index == len(dialog.snapshot.layers) - 1:
        lines.append(f"softmax: p<sub>{u}</sub> = {n3(dialog.snapshot.probs[u])}")
    dialog.forward_text.setText("<br>".join(lines))
    if dz is None:
        dialog.backward_text.setText("<b>Backward</b>: no gradients yet.")
        dialog.check_button.setEnabled(False)
        return
    lr = float(dialog.snapshot.lr)
    back = ["<b>Backward</b>", f"dL/dz<sub>{u}</sub> = <b>{n3(dz)}</b> (this image)",
            f"dL/dW<sub>{u},i</sub> = dL/dz · a<sub>i</sub> (eq. 3); dL/db<sub>{u}</sub> = dL/dz (eq. 4)"]
    if "W" in state.grads:
        i = e["top"][0][0]
        g = float(state.grads["W"][u, i])
        back += [f"batch dL/dW<sub>{u},{i}</sub> = {n3(g)}; plain SGD would step −lr·dL/dW = {n3(-lr * g)} "
                 f"(lr {n3(lr)})"]
        if "W" in state.update:
            back.append(actual_update_line(float(state.update["W"][u, i]), f"ΔW<sub>{u},{i}</sub>"))
        dialog.check_target = ("W", int(np.ravel_multi_index((u, i), state.params["W"].shape)),
                             f"dL/dW<sub>{u},{i}</sub>")
        dialog.check_button.setEnabled(True)
    dialog.backward_text.setText("<br>".join(back))

"""Teaching tools: the numbers "explain" shows are the engine's, the finite-difference check agrees,
the animation computes eq. 8, a drawn digit comes out MNIST-like, exports are valid files, and the
statistics panel draws what it is given."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PyQt6 import QtCore, QtGui, QtWidgets

from fakes import lay_out_now
from cnnviz.gui.teach.conv_animation import ConvAnimation, default_input, output_size
from cnnviz.gui.teach.draw_digit import CANVAS, DrawDigitCanvas
from cnnviz.gui.teach.explain_dialog import ExplainUnitDialog, layer_configs, layer_geometry, snapshot_model
from cnnviz.gui.teach.export import ExportError, export_plot_png, export_plot_svg, export_widget_png
from cnnviz.gui.teach.grid import cell_text, number_text as n3
from cnnviz.gui.teach.stats_panel import StatsPanel
from cnnviz.nn import build_model
from cnnviz.nn.explain import receptive_field
from cnnviz.nn.naive import conv_forward_naive
from cnnviz.session.stats import layer_stats, validation_stats


def digits(n):
    """n generated digits (built in, no data needed), (n, 1, 28, 28) float32 in 0..1, and their labels."""
    from cnnviz.data import generate_digits
    images, labels = generate_digits(n, seed=[7, 1])
    return images[:, None].astype(np.float32) / 255.0, labels


def grid_numbers(grid):
    return [item.toPlainText() for item in grid.numbers]


# -- explain --------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer,unit", [(0, (3, 10, 12)), (2, (5, 6, 8)), (3, (1, 0, 19))])
def test_explain_conv_z_equals_the_engine(qtbot, make_snapshot, layer, unit):
    snap = make_snapshot("seed", "backward")
    dialog = ExplainUnitDialog(snap, layer, *unit)
    qtbot.addWidget(dialog)
    conv = snap.layers[2 if layer == 3 else layer]         # a click on a ReLU map explains its conv
    f, y, x = unit
    assert dialog.z_state.index == conv.index
    assert dialog.explanation["z"] == pytest.approx(float(conv.output[f, y, x]), abs=1e-4)
    if layer == 3:
        relu = snap.layers[3].output[f, y, x]
        assert f"max(0, z) = {n3(relu)}" in dialog.forward_text.text()
    # the patch drawn is the patch of the selected channel, numbers as shown on its cells
    c = dialog.channel_box.currentIndex()
    patch = dialog.explanation["patch"][c]
    shown = [g for g in dialog.grids if g.title.startswith("patch")][0]
    assert np.allclose(shown.data, patch, atol=1e-6)
    assert grid_numbers(shown) == [cell_text(v, shown.exponent, float(np.abs(patch).max())) for v in patch.ravel()]


def test_explain_update_phase_uses_the_weights_before_the_update(qtbot, make_snapshot):
    snap = make_snapshot("seed", "update")
    dialog = ExplainUnitDialog(snap, 2, 4, 7, 9)
    qtbot.addWidget(dialog)
    assert dialog.explanation["z"] == pytest.approx(float(snap.layers[2].output[4, 7, 9]), abs=1e-4)
    assert "W − ΔW" in dialog.forward_text.text()


def test_explain_pool_winner_is_in_the_mask(qtbot, make_snapshot):
    snap = make_snapshot("seed", "backward")
    pool = snap.layers[4]
    c, y, x = np.unravel_index(int(np.argmax(pool.output)), pool.output.shape)
    dialog = ExplainUnitDialog(snap, 4, int(c), int(y), int(x))
    qtbot.addWidget(dialog)
    r, q = dialog.explanation["winner_at"]
    assert pool.mask[c, r, q] and dialog.explanation["value"] == pytest.approx(float(pool.output[c, y, x]))
    assert "marks it ✓" in dialog.forward_text.text()


def test_explain_dense_unit_and_check_agrees(qtbot, make_snapshot):
    snap = make_snapshot("seed", "backward")
    dialog = ExplainUnitDialog(snap, 8, 3, 0, 0)
    qtbot.addWidget(dialog)
    assert dialog.explanation["z"] == pytest.approx(float(snap.layers[8].output[3]), abs=1e-4)
    assert dialog.table.rowCount() == 10
    qtbot.mouseClick(dialog.check_button, QtCore.Qt.MouseButton.LeftButton)
    analytic, numeric = dialog.check_result
    assert numeric == pytest.approx(analytic, rel=1e-4, abs=1e-10)
    assert "agree ✓" in dialog.check_text.text()


def test_conv_check_agrees_and_leaves_the_snapshot_model_alone(qtbot, make_snapshot):
    snap = make_snapshot("seed", "backward")
    made = []

    def factory():
        made.append(snapshot_model(snap))
        return made[-1]

    dialog = ExplainUnitDialog(snap, 2, 0, 12, 7, model_factory=factory)
    qtbot.addWidget(dialog)
    dialog.run_check()
    analytic, numeric = dialog.check_result
    assert numeric == pytest.approx(analytic, rel=1e-4, abs=1e-10)
    model = made[0][0]
    assert all(v.dtype == np.float32 for layer in model.layers for v in layer.params.values())
    assert np.array_equal(model.layers[2].params["W"], snap.layers[2].params["W"])


def test_explain_without_gradients_says_so(qtbot, make_snapshot):
    snap = make_snapshot("seed", "forward")
    dialog = ExplainUnitDialog(snap, 0, 0, 0, 0)
    qtbot.addWidget(dialog)
    assert "no gradients yet" in dialog.backward_text.text()
    assert not dialog.check_button.isEnabled()


def test_snapshot_geometry_gives_the_receptive_field(make_snapshot):
    snap = make_snapshot("seed", "forward")
    assert layer_geometry(snap.layers[0]) == (5, 1, 0) and layer_geometry(snap.layers[4]) == (2, 2, 0)
    assert receptive_field(layer_configs(snap.layers), 2, 0, 0) == receptive_field(build_model("seed"), 2, 0, 0)


# -- convolution animation ----------------------------------------------------------------------------
def test_animation_fills_the_output_with_eq_8(qtbot):
    w = ConvAnimation()
    qtbot.addWidget(w)
    w.padding_box.setValue(1)
    w.stride_box.setValue(2)
    assert w.z_full.shape == (output_size(7, 3, 2, 1),) * 2 == (4, 4)
    expected = conv_forward_naive(default_input()[None, None], w.w[None, None], np.zeros(1), 2, 1)[0, 0]
    assert np.allclose(w.z_full, expected)
    cells = []
    w.position_changed.connect(lambda y, x: cells.append((y, x)))
    for _ in range(16):
        w.step()
    assert cells == [(y, x) for y in range(4) for x in range(4)]
    assert not w.output_grid.veil.isVisible()


def test_flip_toggle_computes_a_true_convolution(qtbot):
    w = ConvAnimation()
    qtbot.addWidget(w)
    correlation = w.z_full.copy()
    w.flip_box.setChecked(True)
    assert np.array_equal(w.kernel_used, w.w[::-1, ::-1])
    assert np.allclose(w.z_full, -correlation)          # the edge kernel flipped is its negative
    assert "flipped" in w.note.text()


def test_play_advances_on_the_timer_and_stops_at_the_end(qtbot):
    w = ConvAnimation()
    qtbot.addWidget(w)
    w.speed.setValue(20)
    w.set_input(np.ones((4, 4), np.float32))
    w.play_button.setChecked(True)
    qtbot.waitUntil(lambda: not w.timer.isActive(), timeout=3000)
    assert w.position == w.total_positions() - 1 and w.play_button.text() == "Play"


def test_animation_takes_a_real_kernel_from_a_snapshot(qtbot, make_snapshot):
    snap = make_snapshot("seed", "forward")
    w = ConvAnimation()
    qtbot.addWidget(w)
    w.use_snapshot(snap, f=2)
    assert np.array_equal(w.w, snap.layers[0].params["W"][2, 0]) and w.x.shape == (7, 7)
    assert w.z_full.shape == (3, 3)


# -- drawing -------------------------------------------------------------------------------------------
def test_drawn_digit_is_emitted_mnist_like(qtbot):
    canvas = DrawDigitCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(600, 400)
    canvas.show()
    qtbot.waitExposed(canvas)
    area = canvas.paint_area
    sq = area.square()
    to_widget = lambda x, y: QtCore.QPoint(int(sq.left() + x * sq.width() / CANVAS),
                                           int(sq.top() + y * sq.height() / CANVAS))
    with qtbot.waitSignal(canvas.digit_drawn, timeout=2000) as blocker:
        qtbot.mousePress(area, QtCore.Qt.MouseButton.LeftButton, pos=to_widget(40, 30))
        for t in np.linspace(0, 1, 12):
            qtbot.mouseMove(area, to_widget(40 + 40 * t, 30 + 150 * t))
        qtbot.mouseRelease(area, QtCore.Qt.MouseButton.LeftButton, pos=to_widget(80, 180))
    digit = blocker.args[0]
    assert digit.shape == (1, 28, 28) and digit.dtype == np.float32
    assert 0 <= digit.min() and digit.max() <= 1 and digit.max() > 0.5
    rows = np.flatnonzero(digit[0].max(axis=1) > 0.02)
    assert rows[-1] - rows[0] + 1 == 20                # the tall stroke fills 20 rows
    mass = digit[0].sum()
    cy = (digit[0].sum(axis=1) @ np.arange(28)) / mass
    assert abs(cy - 14) <= 0.51
    with qtbot.waitSignal(canvas.cleared):
        qtbot.mouseClick(canvas.clear_button, QtCore.Qt.MouseButton.LeftButton)
    assert not canvas.drawing().any()


# -- export --------------------------------------------------------------------------------------------
def test_exports_are_valid_files(qtbot, tmp_path):
    panel = StatsPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    model = build_model("tiny", seed=0)
    panel.set_history([layer_stats(model, step=0)])
    png = export_widget_png(panel, tmp_path / "panel.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = QtGui.QImage(str(png))
    assert (image.width(), image.height()) == (900, 600)
    svg = export_plot_svg(panel.norm_plot, tmp_path / "plot.svg")
    assert ET.parse(svg).getroot().tag.endswith("svg")
    svg2 = export_plot_svg(panel, tmp_path / "canvas.svg")          # a whole canvas
    assert ET.parse(svg2).getroot().tag.endswith("svg")
    plot_png = export_plot_png(panel.norm_plot, tmp_path / "plot.png", width=400)
    assert QtGui.QImage(str(plot_png)).width() == 400


def test_failed_png_export_keeps_the_old_file(qtbot, tmp_path, monkeypatch):
    panel = StatsPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 200)
    target = tmp_path / "keep.png"
    target.write_bytes(b"old picture")
    monkeypatch.setattr(QtGui.QImage, "save", lambda self, *a: False)
    with pytest.raises(ExportError, match="keep.png"):
        export_widget_png(panel, target)
    assert target.read_bytes() == b"old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


# -- statistics panel ------------------------------------------------------------------------------------
def test_stats_panel_draws_history_and_validation(qtbot, make_snapshot):
    panel = StatsPanel()
    qtbot.addWidget(panel)
    model = build_model("tiny", seed=0)
    images, labels = digits(64)
    x = ((images - 0.1307) / 0.3081).astype(np.float32)
    history = []
    for step in range(3):
        from cnnviz.nn import SoftmaxCrossEntropy
        loss = SoftmaxCrossEntropy()
        loss.forward(model.forward(x[:16]), labels[:16])
        model.backward(loss.backward())
        updates = [{k: 0.01 * v for k, v in layer.params.items()} for layer in model.layers]
        history.append(layer_stats(model, updates, step=step))
    panel.set_history(history[:2])
    panel.add_stats(history[2])
    assert set(panel.norm_curves) == {0, 4} and panel.layer_box.count() == 2
    xs, ys = panel.norm_curves[0].getData()
    assert len(xs) == 3 and np.allclose(10 ** ys if panel.norm_plot.ctrl.logYCheck.isChecked() else ys,
                                        [h["layers"][0]["grad_norm"] for h in history], rtol=1e-5)
    stats = validation_stats(model, x, labels, 10)
    panel.set_validation(stats, images, labels)
    assert len(panel.confusion_texts) == int(np.count_nonzero(stats["confusion"]))
    assert len(panel.gallery_texts) == min(24, len(stats["wrong"]))
    assert "confusion matrix" in panel.confusion_plot.titleLabel.text
    t, p = next((t, p) for (t, p), n in np.ndenumerate(stats["confusion"]) if t != p and n > 0)
    panel.select_confusion_cell(t, p)
    expected = np.flatnonzero((labels == t) & (stats["predicted"] == p))
    assert list(panel.gallery_indices) == list(expected[:24]) and panel.confusion_mark.isVisible()
    panel.select_confusion_cell(3, 3)                       # the diagonal: the correct ones
    assert all(labels[i] == 3 and stats["predicted"][i] == 3 for i in panel.gallery_indices)
    panel.select_confusion_cell(3, 3)                       # again: back to every mistake
    assert list(panel.gallery_indices) == list(stats["wrong"][:24]) and not panel.confusion_mark.isVisible()


# -- explain a weight ---------------------------------------------------------------------------------
def test_weight_gradient_is_the_probe_share_and_the_check_agrees(qtbot, make_snapshot):
    from cnnviz.gui.teach.explain_weight import ExplainWeightDialog
    from cnnviz.nn.explain import explain_conv_gradient
    snap = make_snapshot("seed", "backward")        # a batch of 8: the probe's dL/dz is divided by 8
    dialog = ExplainWeightDialog(snap, 2, 0, 4, 1, 1)
    qtbot.addWidget(dialog)
    conv = snap.layers[2]
    expected = explain_conv_gradient(conv.input, conv.dL_dout, 0, 4, 1, 1, 1, 0)["dW"]
    assert dialog.explanation["dW"] == pytest.approx(expected)
    dialog.run_check()
    analytic, numeric = dialog.check_result
    assert numeric == pytest.approx(analytic, rel=1e-4, abs=1e-10)
    assert analytic == pytest.approx(8 * expected, rel=1e-3)   # alone (N = 1) it is 8x its share
    assert "N ≈ 8" in dialog.check_text.text()


def test_dense_weight_index_follows_the_flatten(qtbot, make_snapshot):
    from cnnviz.gui.teach.explain_weight import ExplainWeightDialog, dense_input_index
    snap = make_snapshot("seed", "backward")
    assert dense_input_index(snap.layers, 6, 3, 4, 5) == 3 * 100 + 4 * 10 + 5
    assert dense_input_index(snap.layers, 8, 0, 0, 17) == 17
    dialog = ExplainWeightDialog(snap, 6, 9, 3, 4, 5)
    qtbot.addWidget(dialog)
    dense = snap.layers[6]
    assert dialog.explanation["dW"] == pytest.approx(float(dense.dL_dout[9]) * float(dense.input[345]))
    dialog.show_weight(snap, 0, 0, 0, 0, 0)
    assert dialog.explanation["dz"].shape == (24, 24)
    dialog.show_weight(make_snapshot("seed", "forward"), 0, 0, 0, 0, 0)
    assert "backward pass first" in dialog.header.text()


def test_nothing_to_animate_when_the_kernel_does_not_fit(qtbot):
    w = ConvAnimation()
    qtbot.addWidget(w)
    w.set_input(np.ones((2, 2), np.float32))
    assert w.total_positions() == 0 and "does not fit" in w.formula.text()
    w.play_button.setChecked(True)
    assert not w.timer.isActive() and not w.play_button.isChecked()
    w.padding_box.setValue(1)
    assert w.z_full.shape == (2, 2)


def test_window_png_is_the_whole_window(qtbot, tmp_path):
    from PyQt6 import QtWidgets
    from cnnviz.gui.teach.export import export_window_png
    window = QtWidgets.QMainWindow()
    qtbot.addWidget(window)
    panel = StatsPanel()
    window.setCentralWidget(panel)
    window.resize(640, 480)
    path = export_window_png(panel, tmp_path / "window.png")     # any widget inside: its window is saved
    image = QtGui.QImage(str(path))
    assert (image.width(), image.height()) == (640, 480)


def test_arrow_keys_move_to_the_neighbouring_unit(qtbot, make_snapshot):
    snap = make_snapshot("seed", "backward")
    dialog = ExplainUnitDialog(snap, 0, 2, 5, 23)
    qtbot.addWidget(dialog)
    qtbot.keyClick(dialog, QtCore.Qt.Key.Key_Right)            # already at the last column: stays
    assert dialog.unit == (2, 5, 23)
    qtbot.keyClick(dialog, QtCore.Qt.Key.Key_Down)
    qtbot.keyClick(dialog, QtCore.Qt.Key.Key_PageDown)
    assert dialog.unit == (3, 6, 23)
    assert dialog.explanation["z"] == pytest.approx(float(snap.layers[0].output[3, 6, 23]), abs=1e-4)
    dense = ExplainUnitDialog(snap, 8, 9, 0, 0)
    qtbot.addWidget(dense)
    qtbot.keyClick(dense, QtCore.Qt.Key.Key_Down)
    qtbot.keyClick(dense, QtCore.Qt.Key.Key_Up)
    assert dense.unit[0] == 8
    qtbot.keyClick(dense, QtCore.Qt.Key.Key_Down)                  # the last unit: stays
    assert dense.unit[0] == 9


def test_keys_of_the_tools_act_only_when_they_have_focus(qtbot):
    w = ConvAnimation()
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    qtbot.waitActive(w)
    w.setFocus()
    qtbot.waitUntil(w.hasFocus)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_Right)
    assert w.position == 0
    other = QtWidgets.QLineEdit()            # focus elsewhere: the animation ignores the key
    qtbot.addWidget(other)
    other.show()
    other.setFocus()
    qtbot.keyClick(other, QtCore.Qt.Key.Key_Right)
    assert w.position == 0


def test_switching_units_keeps_the_pictures_filling_the_dialog(qtbot, make_snapshot):
    """Grids are reused between units; the layout must still fill the canvas afterwards."""
    snap = make_snapshot("seed", "backward")
    dialog = ExplainUnitDialog(snap, 4, 2, 3, 3)
    qtbot.addWidget(dialog)
    dialog.resize(1400, 900)
    dialog.show()
    qtbot.waitExposed(dialog)
    for unit in [(3, 0, 12, 7), (8, 1, 0, 0), (2, 0, 12, 8), (0, 1, 1, 1)]:
        dialog.show_unit(snap, *unit)
        dialog.channel_box.setCurrentIndex(0)
        rect = dialog.canvas.ci.geometry()
        assert abs(rect.height() - dialog.canvas.height()) <= 1 and abs(rect.width() - dialog.canvas.width()) <= 1
        assert len(dialog.canvas.ci.items) == len(dialog.grids)


def test_one_explain_window_follows_clicks_and_snapshots(qtbot, make_snapshot):
    from PyQt6 import QtWidgets
    from cnnviz.gui.teach.explain_opener import ExplainOpener
    window = QtWidgets.QWidget()
    qtbot.addWidget(window)
    state = {"snap": make_snapshot("seed", "backward")}
    opener = ExplainOpener(window, latest=lambda: state["snap"], live_interval=0.0)
    opener.explain_unit(2, 0, 5, 5)
    first = opener.unit_dialog
    assert first.isVisible() and first.unit == (0, 5, 5)
    opener.explain_unit(0, 1, 2, 3)                       # the same window, re-targeted
    assert opener.unit_dialog is first and first.unit == (1, 2, 3)
    newer = make_snapshot("seed", "update")
    assert opener.refresh(newer) and first.snapshot is newer
    assert first.explanation["z"] == pytest.approx(float(newer.layers[0].output[1, 2, 3]), abs=1e-4)
    opener.explain_weight(2, 0, 4, 1, 1)
    assert opener.weight_dialog.isVisible() and opener.weight_dialog.weight == (0, 4, 1, 1)
    tiny = make_snapshot("tiny", "backward")                # another architecture: the targets are gone
    opener.refresh(tiny)
    assert not first.isVisible() and not opener.weight_dialog.isVisible()
    state["snap"] = None
    opener.explain_unit(0, 0, 0, 0)                       # nothing to explain yet: ignored


def test_arrows_still_walk_after_the_check_button_was_clicked(qtbot, make_snapshot):
    snap = make_snapshot("seed", "backward")
    dialog = ExplainUnitDialog(snap, 2, 0, 5, 5)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitActive(dialog)
    qtbot.mouseClick(dialog.check_button, QtCore.Qt.MouseButton.LeftButton)
    assert dialog.check_result is not None
    focus = QtWidgets.QApplication.focusWidget()
    qtbot.keyClick(focus if focus is not None else dialog, QtCore.Qt.Key.Key_Right)
    assert dialog.unit == (0, 5, 6)


def test_geometry_comes_from_the_layer_config_or_else_the_label(make_snapshot):
    from dataclasses import replace
    snap = make_snapshot("seed", "forward")
    assert snap.layers[4].config == {"type": "maxpool", "size": 2, "stride": 2}
    assert layer_geometry(snap.layers[4]) == (2, 2, 0)
    odd = replace(snap.layers[0], config={"type": "conv", "filters": 8, "kernel": 5, "stride": 2, "padding": 1})
    assert layer_geometry(odd) == (5, 2, 1)
    old = replace(snap.layers[0], config={})          # a snapshot from before configs were carried
    assert layer_geometry(old) == (5, 1, 0)


def test_weight_explain_names_plain_sgds_step_beside_the_optimizers_actual_update(qtbot, make_snapshot):
    """The update snapshot comes from an Adam step: its ΔW is not −lr·dL/dW, and the window must not
    call −lr·dL/dW "the SGD step" as if it were what happened."""
    from cnnviz.gui.teach.explain_weight import ExplainWeightDialog
    snap = make_snapshot("seed", "update")
    dialog = ExplainWeightDialog(snap, 0, 1, 0, 2, 2)
    qtbot.addWidget(dialog)
    text = dialog.backward_text.text()
    g, lr = float(snap.layers[0].grads["W"][1, 0, 2, 2]), snap.lr
    actual = float(snap.layers[0].update["W"][1, 0, 2, 2])
    assert f"plain SGD would step −lr·dL/dW = −{n3(lr)} × {n3(g)} = {n3(-lr * g)}" in text
    assert f"the optimizer's actual last ΔW = <b>{n3(actual)}</b>" in text and "Adam" in text
    assert abs(actual - (-lr * g)) > 1e-6         # Adam's step really differs: both numbers are needed
    assert "SGD step" not in text


def test_number_grid_titles_wrap_and_keep_their_scale_factor(qtbot):
    """A long title with its power of ten wraps inside its plot instead of losing the '(×10⁻⁴)'."""
    from cnnviz.gui.teach.grid import NumberGrid
    import pyqtgraph as pg
    canvas = pg.GraphicsLayoutWidget()
    qtbot.addWidget(canvas)
    canvas.resize(300, 300)
    grid = NumberGrid(canvas, 0, 0, "dL/da routed to the winner of its window")
    canvas.show()
    qtbot.waitExposed(canvas)
    grid.set_data(np.array([[7.83e-4, 0.0], [0.0, 0.0]]), signed=True)
    lay_out_now(canvas)                  # the plot has its width: the title wrapped to it
    lines = grid.shown_title.split("<br>")
    assert len(lines) > 1 and lines[-1].endswith("(×10⁻⁴)")
    from cnnviz.gui import theme
    from cnnviz.gui.panels.common import plain_text
    metrics = QtGui.QFontMetrics(theme.font(theme.FONT_PT))
    assert all(metrics.horizontalAdvance(plain_text(line)) <= grid.plot.geometry().width() for line in lines)


def test_dense_and_conv_unit_explain_name_sgds_step_and_the_actual_update(qtbot, make_snapshot):
    snap = make_snapshot("seed", "update")
    dense = ExplainUnitDialog(snap, 8, 3, 0, 0)
    qtbot.addWidget(dense)
    text = dense.backward_text.text()
    i = dense.explanation["top"][0][0]
    assert "plain SGD would step −lr·dL/dW" in text and "SGD update" not in text
    assert f"the optimizer's actual last ΔW<sub>3,{i}</sub> = <b>{n3(snap.layers[8].update['W'][3, i])}</b>" in text
    conv = ExplainUnitDialog(snap, 2, 0, 12, 7)
    qtbot.addWidget(conv)
    assert "the optimizer's actual last ΔW<sub>0," in conv.backward_text.text() and "plain SGD: " in conv.backward_text.text()
    assert any("plain SGD's step" in grid.title for grid in conv.grids)

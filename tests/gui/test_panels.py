"""Every panel draws real Snapshots (seed, lenet, tiny; every layer), and what it draws is the
Snapshot's numbers placed by the mosaic helper: values, levels, pooling winners, bars, curves,
placeholders and clicks are checked, not just that drawing ran."""

import dataclasses

import numpy as np
import pytest
from PyQt6 import QtCore

from cnnviz.gui import theme
from cnnviz.gui.mosaic import tile
from cnnviz.gui.panels import (ALL_PANELS, CurvesPanel, FeatureMapsPanel, GradientsPanel, InputPanel,
                               KernelsPanel, PoolingPanel, PredictionPanel)
from cnnviz.gui.panels.common import as_maps
from cnnviz.gui.panels.curves import compact_label, ema
from cnnviz.gui.panels.feature_maps import pair_layers
from cnnviz.gui.panels.gradients import NO_GRADIENT, NO_UPDATE
from cnnviz.gui.panels.kernels import kernel_maps, kernel_of_tile, wants_transpose
from cnnviz.gui.panels.pooling import SUPER, marked_cells
from cnnviz.gui.pg_compat import axis_ticks
from cnnviz.session.snapshot import freeze
from fakes import FakeClock, lay_out_now

PRESETS = ("seed", "lenet", "tiny")


@pytest.fixture
def make(qtbot):
    """make(PanelClass, size) -> a shown panel, kept alive until the test's end and then deleted by
    Qt (a top-level panel freed by Python's refcount mid-event-loop would be deleted under a paint;
    in the program the dock owns it)."""
    made = []

    def build(cls, size=(900, 600)):
        panel = cls()
        panel.clock = FakeClock()          # live captions keep pace by it, never by the machine's speed
        made.append(panel)
        panel.resize(*size)
        panel.show()
        return panel

    yield build
    for panel in made:
        panel.close()
        panel.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    made.clear()


def assert_symmetric(view, data):
    m = float(np.max(np.abs(data)))
    lo, hi = view.levels
    assert lo == pytest.approx(-m) and hi == pytest.approx(m)
    assert tuple(view.image.getLevels()) == pytest.approx((-m, m))
    assert view.bar.levels() == pytest.approx((-m, m))


def assert_kernel_mosaic(view, W):
    """Every tile of the view holds the kernel W[f, c] that its place stands for."""
    F, C, k, _ = W.shape
    transposed = C > 1 and F != C and view.layout.cols == F
    np.testing.assert_array_equal(view.image.image, mosaic_of(view, kernel_maps(W, transposed)[0]))
    for i in range(F * C):
        f, c = kernel_of_tile(i, F, C, transposed)
        y, x = view.layout.origin(i)
        np.testing.assert_array_equal(view.image.image[y:y + k, x:x + k], W[f, c])
    return transposed


def mosaic_of(view, maps):
    """What the view's ImageItem must hold: ``maps`` placed by the view's own layout."""
    return tile(np.asarray(maps, np.float32), layout=view.layout)[0]


# -- every panel, every preset, every layer ---------------------------------------------------
@pytest.mark.parametrize("preset", PRESETS + ("sigmoid",))
@pytest.mark.parametrize("phase", ["forward", "backward", "update"])
def test_every_panel_draws_every_layer(qtbot, make_snapshot, preset, phase, make):
    snap = make_snapshot(preset, phase)
    panels = [make(cls, (700, 450)) for cls in ALL_PANELS]
    for panel in panels:
        assert isinstance(type(panel).title, str) and type(panel).title
        for index in [None, *range(len(snap.layers)), len(snap.layers) + 3, -1]:   # out of range: clamped
            panel.show_snapshot(snap, index)
        panel.repaint()


# -- kernels -------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", PRESETS)
def test_kernels_show_each_conv_W_with_symmetric_levels(qtbot, make_snapshot, preset, make):
    snap = make_snapshot(preset, "update")
    panel = make(KernelsPanel)
    for state in snap.layers:
        if state.kind != "conv":
            continue
        panel.show_snapshot(snap, state.index)
        W = state.params["W"]
        assert assert_kernel_mosaic(panel.view, W) == panel.transposed
        assert panel.view.image.image.dtype == np.float32
        assert panel.view.image.lut.shape[0] == 256
        assert_symmetric(panel.view, W)


def test_kernel_tiles_orientation_and_click(qtbot, make_snapshot, make):
    assert kernel_of_tile(7, F=16, C=6, transpose=False) == (1, 1)
    assert kernel_of_tile(7, F=16, C=6, transpose=True) == (7, 0)
    assert kernel_of_tile(3, F=8, C=1, transpose=True) == (3, 0)
    assert wants_transpose(16, 6, view_aspect=2.0) and not wants_transpose(16, 6, view_aspect=0.5)
    assert not wants_transpose(8, 8, 3.0)
    snap = make_snapshot("lenet", "update")
    for size in ((1200, 350), (350, 900)):        # wide and tall docks: both orientations
        panel = make(KernelsPanel, size)
        qtbot.waitExposed(panel)
        lay_out_now(panel)
        panel.show_snapshot(snap, 3)               # conv 16@5x5 over 6 channels
        W = snap.layers[3].params["W"]
        transposed = assert_kernel_mosaic(panel.view, W)
        assert transposed == (size[0] > size[1])
        i = 20
        f, c = kernel_of_tile(i, 16, 6, transposed)
        y, x = panel.view.layout.origin(i)
        with qtbot.waitSignal(panel.weight_clicked) as blocker:
            panel.view.image.clicked.emit(x + 3.5, y + 1.5)
        assert blocker.args == [3, f, c, 1, 3]


def test_kernels_of_a_dense_unit_are_reshaped_to_the_pre_flatten_maps(qtbot, make_snapshot, make):
    snap = make_snapshot("seed", "update")
    dense = next(s for s in snap.layers if s.kind == "dense")
    panel = make(KernelsPanel)
    panel.show_snapshot(snap, dense.index)
    assert panel.unit_box.isVisible() and panel.unit_box.maximum() == 127
    panel.unit_box.setValue(5)   # redraws the last snapshot
    expected = dense.params["W"][5].reshape(8, 10, 10)
    np.testing.assert_array_equal(panel.view.image.image, mosaic_of(panel.view, expected))
    assert_symmetric(panel.view, expected)
    # the last dense (fed by another dense) is a plain matrix, no unit chooser
    last = snap.layers[-1]
    panel.show_snapshot(snap, last.index)
    assert not panel.unit_box.isVisible()
    np.testing.assert_array_equal(panel.view.image.image, last.params["W"])


def test_kernels_fall_back_to_the_layer_with_weights(qtbot, make_snapshot, make):
    snap = make_snapshot("seed", "update")
    panel = make(KernelsPanel)
    panel.show_snapshot(snap, 1)          # ReLU after conv 0
    assert panel.shown_layer == 0
    assert "has no weights" in panel.caption.text()
    panel.show_snapshot(snap, None)
    assert panel.shown_layer == 0


# -- feature maps ------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", PRESETS)
def test_feature_maps_pair_z_and_activation(qtbot, make_snapshot, preset, make):
    snap = make_snapshot(preset, "forward")
    panel = make(FeatureMapsPanel)
    for state in snap.layers:
        panel.show_snapshot(snap, state.index)
        z_layer, a_layer = pair_layers(snap.layers, state.index)
        if a_layer is None:
            maps, _ = as_maps(z_layer.output)
            np.testing.assert_array_equal(panel.z_view.image.image, mosaic_of(panel.z_view, maps))
            continue
        z = a_layer.pre_activation
        np.testing.assert_array_equal(panel.z_view.image.image, mosaic_of(panel.z_view, as_maps(z)[0]))
        np.testing.assert_array_equal(panel.a_view.image.image,
                                      mosaic_of(panel.a_view, as_maps(a_layer.output)[0]))
        assert_symmetric(panel.z_view, z)                       # z is signed: diverging
        if a_layer.kind == "relu":                              # a >= 0: sequential, 0 .. max
            assert panel.a_view.cmap is theme.SEQUENTIAL
            assert panel.a_view.levels == pytest.approx((0.0, float(a_layer.output.max())))


def test_pair_layers_rules(make_snapshot):
    layers = make_snapshot("seed", "forward").layers
    kinds = lambda pair: tuple(None if s is None else s.index for s in pair)   # noqa: E731
    assert kinds(pair_layers(layers, 0)) == (0, 1)     # conv -> its ReLU
    assert kinds(pair_layers(layers, 1)) == (0, 1)     # the ReLU -> the conv before it
    assert kinds(pair_layers(layers, 4)) == (4, None)  # max-pool alone
    assert kinds(pair_layers(layers, 8)) == (8, None)  # logits
    assert kinds(pair_layers(layers, None)) == (0, 1)


def test_feature_map_click_maps_to_layer_channel_y_x(qtbot, make_snapshot, make):
    snap = make_snapshot("seed", "forward")
    panel = make(FeatureMapsPanel, (1000, 600))
    panel.show_snapshot(snap, 2)                        # conv 2 (8x20x20) -> ReLU 3
    view, layout = panel.z_view, panel.z_view.layout
    oy, ox = layout.origin(5)
    assert panel.locate(view, ox + 7.4, oy + 3.9) == (2, 5, 3, 7)
    assert panel.locate(panel.a_view, *reversed([v + 0.5 for v in panel.a_view.layout.origin(6)])) == (3, 6, 0, 0)
    assert panel.locate(view, ox - 0.5, oy + 1) is None      # on a separator
    # a dense layer: units in a grid 16 wide
    panel.show_snapshot(snap, 6)
    assert panel.locate(panel.z_view, 3.5, 2.5) == (6, 2 * 16 + 3, 0, 0)
    panel.show_snapshot(make_snapshot("lenet", "forward"), 9)      # 84 units: 6 rows, last has 4
    assert panel.locate(panel.z_view, 3.5, 5.5) == (9, 83, 0, 0)
    assert panel.locate(panel.z_view, 4.5, 5.5) is None             # padding, greyed
    assert panel.z_view.empty_tiles.path().boundingRect() == QtCore.QRectF(4, 5, 12, 1)
    snap = make_snapshot("seed", "forward")
    # a real mouse click through the scene
    panel.show_snapshot(snap, 2)
    qtbot.waitExposed(panel)
    lay_out_now(panel)                                      # the view has its final size and range
    panel.redraw()                # the grid for that shape now, not on the relayout it deferred to later
    lay_out_now(panel)
    oy, ox = panel.z_view.layout.origin(4)
    scene_pt = view.image.mapToScene(QtCore.QPointF(ox + 9.5, oy + 11.5))
    widget_pt = panel.canvas.mapFromScene(scene_pt)
    viewport, left = panel.canvas.viewport(), QtCore.Qt.MouseButton.LeftButton
    with qtbot.waitSignal(panel.unit_clicked, timeout=2000) as blocker:
        qtbot.mouseMove(viewport, widget_pt)        # pyqtgraph's scene wants a hover before a click
        qtbot.mousePress(viewport, left, pos=widget_pt)
        qtbot.mouseRelease(viewport, left, pos=widget_pt, delay=10)
    assert blocker.args == [2, 4, 11, 9]


# -- pooling -------------------------------------------------------------------------------------
def test_pooling_marks_exactly_the_mask_cells(qtbot, make_snapshot, make):
    snap = make_snapshot("seed", "forward")
    pool = next(s for s in snap.layers if s.kind == "maxpool")
    panel = make(PoolingPanel)
    panel.select_channel(None)                           # all channels as a mosaic
    panel.show_snapshot(snap, pool.index)
    assert not panel.gradient_mode
    layout = panel.in_view.layout
    np.testing.assert_array_equal(panel.in_view.image.image, mosaic_of(panel.in_view, pool.input))
    np.testing.assert_array_equal(panel.out_view.image.image, mosaic_of(panel.out_view, pool.output))
    np.testing.assert_array_equal(panel.winner_cells, np.argwhere(pool.mask))
    # what is drawn: the overlay's marked cells are exactly the mask's True cells, one per window
    drawn = marked_cells(panel.winners.image, layout)
    np.testing.assert_array_equal(drawn, np.argwhere(pool.mask))
    assert len(drawn) == pool.output.size
    assert panel.winners.image.shape[:2] == (layout.height * SUPER, layout.width * SUPER)
    # one channel, enlarged
    panel.select_channel(3)
    np.testing.assert_array_equal(panel.in_view.image.image, pool.input[3])
    np.testing.assert_array_equal(panel.winner_cells, [(3, yy, xx) for yy, xx in np.argwhere(pool.mask[3])])
    drawn = marked_cells(panel.winners.image, panel.in_view.layout)
    np.testing.assert_array_equal(drawn[:, 1:], np.argwhere(pool.mask[3]))
    # the window grid: 9 vertical + 9 horizontal boundaries inside a 20x20 channel
    wx, wy = panel.windows.getData()
    assert len(wx) == 2 * 18 and set(np.unique(wx[:18])) == set(float(v) for v in range(2, 20, 2))


def test_pooling_backward_shows_gradient_only_at_winners(qtbot, make_snapshot, make):
    snap = make_snapshot("seed", "backward")
    pool = next(s for s in snap.layers if s.kind == "maxpool")
    panel = make(PoolingPanel)
    panel.select_channel(None)
    panel.show_snapshot(snap, pool.index)
    assert panel.gradient_mode
    np.testing.assert_array_equal(panel.in_view.image.image, mosaic_of(panel.in_view, pool.dL_dinput))
    np.testing.assert_array_equal(panel.out_view.image.image, mosaic_of(panel.out_view, pool.dL_dout))
    assert np.all(pool.dL_dinput[~pool.mask] == 0)          # routed to winners only
    assert_symmetric(panel.out_view, np.concatenate([pool.dL_dinput.ravel(), pool.dL_dout.ravel()]))
    panel.set_mode("values")
    assert not panel.gradient_mode
    np.testing.assert_array_equal(panel.in_view.image.image, mosaic_of(panel.in_view, pool.input))
    # gradients asked for in the forward phase: a placeholder, not stale numbers
    panel.set_mode("gradients")
    panel.show_snapshot(make_snapshot("seed", "forward"), pool.index)
    assert panel.in_view.placeholder_text == "no gradient yet — step backward or train"


def test_average_pooling_has_no_winners(qtbot, make_snapshot, make):
    snap = make_snapshot("lenet", "forward")
    panel = make(PoolingPanel)
    panel.show_snapshot(snap, 2)
    assert panel.pool_layer == 2 and len(panel.winner_cells) == 0
    assert "average" in panel.caption.text()


def test_pooling_placeholder_without_a_pool_layer(qtbot, make_snapshot, make):
    snap = make_snapshot("tiny", "forward")
    no_pool = dataclasses.replace(snap, layers=tuple(s for s in snap.layers if s.kind != "maxpool"))
    panel = make(PoolingPanel)
    panel.show_snapshot(no_pool, 0)
    assert panel.in_view.placeholder_text == "no pooling layer in this network"


# -- gradients -----------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", PRESETS)
def test_gradients_show_dout_dW_and_update(qtbot, make_snapshot, preset, make):
    snap = make_snapshot(preset, "update")
    panel = make(GradientsPanel)
    for state in snap.layers:
        if not state.has_params:
            continue
        panel.show_snapshot(snap, state.index)
        np.testing.assert_array_equal(panel.dout_view.image.image,
                                      mosaic_of(panel.dout_view, as_maps(state.dL_dout)[0]))
        assert_symmetric(panel.dout_view, state.dL_dout)
        for view, W in ((panel.dW_view, state.grads["W"]), (panel.update_view, state.update["W"])):
            if W.ndim == 4:
                assert_kernel_mosaic(view, W)
            else:
                np.testing.assert_array_equal(view.image.image, W)
            assert_symmetric(view, W)


def test_gradients_placeholders(qtbot, make_snapshot, make):
    panel = make(GradientsPanel)
    panel.show_snapshot(make_snapshot("seed", "forward"), 2)
    assert panel.dout_view.placeholder_text == NO_GRADIENT
    assert panel.dW_view.placeholder_text == NO_GRADIENT
    assert panel.update_view.placeholder_text == NO_UPDATE
    panel.show_snapshot(make_snapshot("seed", "backward"), 2)     # backward done, no update yet
    assert panel.dout_view.placeholder_text is None and panel.dW_view.placeholder_text is None
    assert panel.update_view.placeholder_text == NO_UPDATE
    snap = make_snapshot("seed", "update")
    panel.show_snapshot(snap, 5)       # flatten: its dL/d(out), and the weights of conv 2 before it
    np.testing.assert_array_equal(panel.dout_view.image.image, as_maps(snap.layers[5].dL_dout)[0][0])
    assert_kernel_mosaic(panel.dW_view, snap.layers[2].grads["W"])
    assert "no weights here: dL/dW and ΔW of Layer 2 conv" in panel.caption.text()
    # the probe's dL/d(out) exists but the training model has not run a backward pass: dL/dW all 0
    zeroed = list(snap.layers)
    zeroed[2] = dataclasses.replace(snap.layers[2], grads={k: np.zeros_like(v) for k, v in snap.layers[2].grads.items()})
    panel.show_snapshot(dataclasses.replace(snap, layers=tuple(zeroed)), 2)
    assert panel.dout_view.placeholder_text is None and panel.dW_view.placeholder_text == NO_GRADIENT
    only_relu = dataclasses.replace(snap, layers=(snap.layers[1],))
    panel.show_snapshot(only_relu, 0)
    assert "has no weights" in panel.dW_view.placeholder_text


def test_gradients_say_whose_gradients_and_what_dL_dW_averages(qtbot, make_snapshot, make):
    panel = make(GradientsPanel, (580, 340))
    qtbot.waitExposed(panel)
    live = make_snapshot("seed", "update")
    panel.show_snapshot(live, 0)
    lay_out_now(panel)                        # laid out (the axes came back): the title wrapped to its plot
    assert "dL/dW: mean over the last batch" in panel.caption.text()
    assert panel.dW_view.title_text.startswith("dL/dW, batch mean")
    # a stepping walk (often 1 image): dL/dW is the mean over the walk's images, not a batch's
    walk = dataclasses.replace(live, phase="backward", layer_index=8, probe_split="train", seq=2, walk_images=1)
    panel.show_snapshot(walk, 8)
    lay_out_now(panel)                        # the dense arrangement is laid out, the title wrapped to it
    assert "dL/dW: mean over the walk's 1 image (toolbar: Walk)" in panel.caption.text()
    assert panel.dW_view.title_text == "dL/dW 10x128, walk mean"
    assert "batch" not in panel.caption.text() + panel.dW_view.title_text
    # a drawn digit has no label: its backward pass took the predicted class as the label
    pred = int(np.argmax(live.probs))
    drawn = dataclasses.replace(live, probe_split="drawn", probe_label=None, probe_index=None,
                                probe_loss=None, seq=3)
    panel.show_snapshot(drawn, 0)
    assert f"as if the label were {live.class_names[pred]}, the predicted class" in panel.caption.text()
    # nothing trained: the probe's dL/d(out) is there while dL/dW is not; the caption says why
    idle = dataclasses.replace(live, phase="idle", step=0, seq=4, layers=tuple(
        dataclasses.replace(s, grads={k: np.zeros_like(v) for k, v in s.grads.items()}) for s in live.layers))
    panel.show_snapshot(idle, 0)
    assert panel.dout_view.placeholder_text is None and panel.dW_view.placeholder_text == NO_GRADIENT
    assert "of the probe for the current weights (nothing trained yet)" in panel.caption.text()
    assert "dL/dW comes with a backward pass over a batch" in panel.caption.text()
    assert "mean over" not in panel.caption.text()          # there is no dL/dW to average yet


def test_pooling_says_a_drawn_digits_gradients_use_the_predicted_class(qtbot, make_snapshot, make):
    live = make_snapshot("seed", "update")
    pred = int(np.argmax(live.probs))
    panel = make(PoolingPanel)
    panel.show_snapshot(dataclasses.replace(live, probe_split="drawn", probe_label=None, probe_loss=None), None)
    assert panel.gradient_mode
    assert f"as if the label were {live.class_names[pred]}, the predicted class" in panel.caption.text()
    panel.set_mode("values")                   # forward values: no backward pass to explain
    assert "as if the label" not in panel.caption.text()


@pytest.mark.parametrize("layer", [0, 2, 6, 8])
def test_gradient_titles_and_placeholders_stay_inside_their_plots(qtbot, make_snapshot, make, layer):
    """At the default dock's size no title runs into its neighbour and no placeholder is cut."""
    from PyQt6 import QtGui
    panel = make(GradientsPanel, (580, 340))
    qtbot.waitExposed(panel)
    panel.show_snapshot(make_snapshot("seed", "backward"), layer)      # ΔW: a placeholder
    lay_out_now(panel)
    metrics = QtGui.QFontMetrics(theme.font(theme.FONT_PT))
    for view in (panel.dout_view, panel.dW_view, panel.update_view):
        room = view.plot.geometry().width() - view.plot.titleLabel.pos().x()
        assert max(metrics.horizontalAdvance(line) for line in view.title_text.split("\n")) <= room
        title = view.plot.titleLabel                     # every line of it above the picture
        assert title.geometry().height() >= title.item.boundingRect().height() - 0.5
        assert view.plot.getViewBox().geometry().top() >= title.geometry().bottom() - 0.5
        if view.placeholder_text:
            text = view.placeholder.mapRectToScene(view.placeholder.boundingRect())
            box = view.plot.getViewBox().sceneBoundingRect()
            assert box.left() <= text.left() and text.right() <= box.right() + 1


# -- prediction ----------------------------------------------------------------------------------
def test_prediction_bars_are_the_probabilities_and_mark_the_true_class(qtbot, make_snapshot, make):
    snap = make_snapshot("seed", "update", probe=1)
    panel = make(PredictionPanel)
    panel.show_snapshot(snap, None)
    np.testing.assert_allclose(panel.bars.opts["width"], snap.probs)
    np.testing.assert_array_equal(panel.bars.opts["y"], np.arange(10))
    true, pred = snap.probe_label, int(np.argmax(snap.probs))
    assert panel.true_class == true and panel.predicted == pred
    assert panel.brushes[true].color().name() == theme.TRUE_CLASS
    assert "true" in panel.true_item.toPlainText() and panel.true_item.pos().y() == true
    if pred != true:
        assert panel.brushes[pred].color().name() == theme.WRONG
        assert panel.pred_item.pos().y() == pred
    others = set(range(10)) - {true, pred}
    assert all(panel.brushes[i].color().name() == theme.BAR for i in others)
    assert snap.class_names[true] in panel.caption.text()
    panel.show_snapshot(dataclasses.replace(snap, probs=None), None)
    assert panel.placeholder.isVisible() and len(panel.bars.opts["width"]) == 0



def test_live_prediction_caption_and_bar_labels_come_from_one_snapshot(qtbot, make_snapshot, make):
    """Live, the caption is redrawn a few times a second; the bars wait for it, so the caption's
    percentage and the bar's label never disagree. A step is shown at once."""
    base = make_snapshot("seed", "training", probe=1)
    pred = int(np.argmax(base.probs))
    other = base.probs.copy()
    other[pred] -= 0.1
    other[(pred + 1) % 10] += 0.1
    first = dataclasses.replace(base, seq=50)
    second = dataclasses.replace(base, seq=51, probs=other, probe_loss=float(-np.log(max(other[base.probe_label], 1e-12))))
    panel = make(PredictionPanel)
    panel.show_snapshot(first, None)
    panel.show_snapshot(second, None)    # arrives 1/30 s later in the window: the caption is not due yet
    shown = f"{100 * first.probs[pred]:.1f}%"
    assert shown in panel.caption.text() and shown in panel.pred_item.toPlainText()
    np.testing.assert_allclose(panel.bars.opts["width"], first.probs)
    assert panel.snapshot is first      # a click explains what is on screen
    panel.clock.advance(1.0)            # the caption's interval has passed
    panel.show_snapshot(second, None)
    np.testing.assert_allclose(panel.bars.opts["width"], other)
    assert f"{100 * other.max():.1f}%" in panel.caption.text()
    step = dataclasses.replace(base, seq=52, phase="forward", layer_index=8)
    panel.show_snapshot(step, None)
    assert panel.snapshot is step


def test_kernels_caption_names_the_colour_range_only_when_it_holds_still(qtbot, make_snapshot, make):
    panel = make(KernelsPanel)
    step = make_snapshot("seed", "update")
    panel.show_snapshot(step, None)
    assert f"±{theme.fmt(panel.view.levels[1])}" in panel.caption.text()
    panel.clock.advance(1.0)
    panel.show_snapshot(dataclasses.replace(step, phase="training", seq=99), None)
    assert "colour range" not in panel.caption.text()   # live: the colour bar alone gives it, every frame


def test_prediction_label_sits_beside_a_short_bar_and_inside_only_when_it_fits(qtbot, make_snapshot, make):
    snap = make_snapshot("seed", "update", probe=1)
    panel = make(PredictionPanel, (700, 420))
    qtbot.waitExposed(panel)
    probs = np.array([0.05, 0.3, 0.08, 0.2, 0.02, 0.1, 0.05, 0.1, 0.05, 0.05])
    panel.show_snapshot(dataclasses.replace(snap, probs=probs, probe_label=3), None)
    for row in (1, 3):     # the predicted (30%) and the true class (20%): short bars
        item = panel.value_items[row]
        assert not item.inside and item.pos().x() > probs[row]        # right of the bar's end
        assert item.mapRectToView(item.boundingRect()).left() >= probs[row]
    certain = np.full(10, 0.001)
    certain[3] = 1 - certain.sum() + 0.001
    panel.show_snapshot(dataclasses.replace(snap, probs=certain, probe_label=3), None)
    item = panel.value_items[3]
    assert item.inside                     # a long bar carries its label inside, all of it
    rect = item.mapRectToView(item.boundingRect())
    assert rect.left() >= 0 and rect.right() <= certain[3]
    panel.resize(300, 420)                 # a narrow dock: a 65% bar is too short for its label
    lay_out_now(panel)
    sure = np.full(10, 0.35 / 9)
    sure[3] = 0.65
    panel.show_snapshot(dataclasses.replace(snap, probs=sure, probe_label=3), None)
    rect = item.mapRectToView(item.boundingRect())
    assert rect.left() >= 0.65 or (item.inside and rect.left() >= 0 and rect.right() <= 0.65)


# -- curves --------------------------------------------------------------------------------------
def test_curves_hold_the_snapshot_data_and_update_only_on_change(qtbot, make_snapshot, make):
    snap = make_snapshot("seed", "update")
    panel = make(CurvesPanel)
    panel.show_snapshot(snap, None)
    line = panel.lines["loss"]                 # xData/yData: what was given (getData() is clipped to view)
    x, y = line.xData, line.yData
    np.testing.assert_array_equal(x, snap.curves["loss"][0])
    np.testing.assert_array_equal(y, snap.curves["loss"][1])
    x, y = panel.lines["val_accuracy"].xData, panel.lines["val_accuracy"].yData
    np.testing.assert_array_equal(x, snap.curves["val_accuracy"][0])
    np.testing.assert_allclose(y, 100 * snap.curves["val_accuracy"][1])      # shown in percent
    smooth = panel.lines["loss_smooth"].yData
    np.testing.assert_allclose(smooth, ema(snap.curves["loss"][1]))
    # the caption reads the thick lines' ends (one batch's value jumps too much to read)
    caption = panel.caption.text()
    assert f"loss {smooth[-1]:.3f} and train accuracy {ema(100 * snap.curves['accuracy'][1])[-1]:.1f}% (smoothed)" \
        in caption
    assert f"last validation {100 * snap.curves['val_accuracy'][1][-1]:.1f}%" in caption
    assert not panel.placeholder.isVisible()
    calls = []
    panel.lines["loss"].setData = lambda *a, **k: calls.append(a)
    panel.show_snapshot(dataclasses.replace(snap, seq=2), None)       # same curves: no redraw
    assert calls == []
    panel.log_box.setChecked(True)
    assert panel.loss_plot.getAxis("left").logMode
    panel2 = make(CurvesPanel)
    panel2.show_snapshot(dataclasses.replace(snap, curves={}), None)
    assert panel2.placeholder.isVisible()


@pytest.mark.parametrize("value, spacing, label", [
    (0, 10_000, "0"), (10_000, 10_000, "10k"), (30_000, 10_000, "30k"), (1_500, 500, "1.5k"), (2_000, 500, "2k"),
    (500_000, 500_000, "500k"), (1_200_000, 200_000, "1.2M"), (1_250_000, 50_000, "1.25M"), (12_500, 2_500, "12.5k"),
    (3e9, 1e9, "3G"), (640, 20, "640"), (2.5, 0.5, "2.5"), (-10_000, 10_000, "-10k"), (1e-9, 10_000, "0")])
def test_compact_label_is_short_and_exact(value, spacing, label):
    assert compact_label(value, spacing) == label


def long_run_curves(images: int) -> dict:
    seen = np.linspace(32, images, 400)
    loss = 2.3 * np.exp(-5 * seen / images) + 0.1
    return {"loss": freeze(np.stack([seen, loss])), "accuracy": freeze(np.stack([seen, 1 - loss / 2.5])),
            "val_accuracy": freeze(np.stack([seen[::40], 1 - loss[::40] / 2.5]))}


def drawn_tick_labels(axis) -> list[tuple[QtCore.QRectF, str]]:
    """The x tick labels the axis paints, left to right, as (rectangle, text)."""
    from PyQt6.QtGui import QImage, QPainter
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    painter.setFont(axis.style["tickFont"])
    _axis, _ticks, texts = axis.generateDrawSpecs(painter)
    painter.end()
    return sorted(((rect, text) for rect, _flags, text in texts), key=lambda t: t[0].left())


def label_value(text: str) -> float:
    return float(text[:-1]) * {"k": 1e3, "M": 1e6, "G": 1e9}[text[-1]] if text[-1] in "kMG" else float(text)


@pytest.mark.parametrize("images", [35_000, 1_234_567, 56_000_000])
@pytest.mark.parametrize("width", [160, 300, 900])
def test_curves_x_labels_are_short_right_and_never_collide(qtbot, make_snapshot, make, images, width):
    panel = make(CurvesPanel, (width, 500))
    panel.show_snapshot(dataclasses.replace(make_snapshot("seed", "update"), curves=long_run_curves(images)), None)
    lay_out_now(panel)      # the layout gives the plots their narrow size, the view its range
    for plot in (panel.loss_plot, panel.acc_plot):
        axis = plot.getAxis("bottom")
        labels = drawn_tick_labels(axis)
        assert len(labels) >= (2 if width >= 300 else 1), labels
        assert all(len(text) <= 4 for _, text in labels), labels
        gap = axis.style["tickFont"].pointSizeF() / 2      # at least half a character between labels
        assert all(a.right() + gap <= b.left() for (a, _), (b, _) in zip(labels, labels[1:])), labels
        view = plot.getViewBox()
        x_per_pixel = view.viewPixelSize()[0]
        for rect, text in labels:       # each label names the value under its centre
            at = view.mapSceneToView(axis.mapToScene(rect.center())).x()
            assert abs(at - label_value(text)) <= 2 * x_per_pixel, (text, at)


def test_ema_is_bias_corrected():
    np.testing.assert_allclose(ema(np.full(5, 3.0)), 3.0)
    v = np.array([1.0, 0.0])
    np.testing.assert_allclose(ema(v, 0.5), [1.0, (0.25) / 0.75])


# -- input -----------------------------------------------------------------------------------------
def test_input_shows_the_probe_and_requests_others(qtbot, make_snapshot, make):
    snap = make_snapshot("seed", "forward", probe=2)
    panel = make(InputPanel)
    assert panel.placeholder.isVisible()
    (x0, x1), (y0, y1) = panel.plot.getViewBox().viewRange()
    assert x0 < 0.5 < x1 and y0 < 0.5 < y1          # the waiting sentence sits inside the view
    panel.show_snapshot(snap, None)
    np.testing.assert_array_equal(panel.image.image, snap.probe_display[0])
    qtbot.waitUntil(lambda: panel.plot.getViewBox().viewRange()[0][1] >= 27)   # the view fits the 28x28 image
    assert panel.index_box.value() == 2
    assert f"label <b>{snap.probe_label}</b>" in panel.caption.text()
    for button, kind in ((panel.next_button, "next"), (panel.prev_button, "prev"), (panel.random_button, "random")):
        with qtbot.waitSignal(panel.probe_requested) as blocker:
            qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
        assert blocker.args == [kind, 0]
    with qtbot.waitSignal(panel.probe_requested) as blocker:
        panel.index_box.setValue(17)
    assert blocker.args == ["index", 17]
    panel.show_snapshot(dataclasses.replace(snap, probe_display=None, probe_image=None), None)
    assert panel.placeholder.isVisible()


# -- before anything ran, and colour images -------------------------------------------------------
def test_idle_network_shows_placeholders_not_errors(qtbot, make, make_snapshot):
    from cnnviz.nn import build_model
    from cnnviz.session.snapshot import Snapshot, capture_layers

    idle = Snapshot(seq=0, layers=capture_layers(build_model("seed", seed=0)), phase="idle")
    panels = {cls: make(cls, (600, 400)) for cls in ALL_PANELS}
    for panel in panels.values():
        for index in [None, *range(len(idle.layers))]:
            panel.show_snapshot(idle, index)
    fm = panels[FeatureMapsPanel]
    fm.show_snapshot(idle, 0)
    assert fm.z_view.placeholder_text == "not computed yet — step forward"
    pool = panels[PoolingPanel]
    pool.show_snapshot(idle, 4)
    assert pool.in_view.placeholder_text == "not computed yet — step forward"
    assert panels[PredictionPanel].placeholder.isVisible()
    assert panels[InputPanel].placeholder.isVisible()
    assert panels[CurvesPanel].placeholder.isVisible()
    kernels = panels[KernelsPanel]                     # weights exist before any pass
    kernels.show_snapshot(idle, 0)
    assert_kernel_mosaic(kernels.view, idle.layers[0].params["W"])
    grads = panels[GradientsPanel]
    grads.show_snapshot(idle, 0)
    assert grads.dW_view.placeholder_text == NO_GRADIENT


def test_an_empty_snapshot_draws_nothing_without_errors(qtbot, make):
    from cnnviz.session.snapshot import Snapshot

    empty = Snapshot(seq=0, layers=())
    for cls in ALL_PANELS:
        panel = make(cls, (500, 300))
        panel.show_snapshot(empty, None)
        panel.show_snapshot(empty, 3)
        panel.repaint()


def test_colour_probe_is_shown_as_rgb(qtbot, make, make_snapshot):
    snap = make_snapshot("seed", "forward")
    rgb = np.random.default_rng(0).random((3, 32, 32)).astype(np.float32)
    panel = make(InputPanel)
    panel.show_snapshot(dataclasses.replace(snap, probe_display=rgb), None)
    np.testing.assert_array_equal(panel.image.image, rgb.transpose(1, 2, 0))
    assert "RGB" in panel.caption.text()


def test_running_ema_equals_ema_as_a_curve_grows():
    from cnnviz.gui.panels.curves import RunningEMA

    values = np.random.default_rng(0).random(500)
    running = RunningEMA()
    for n in (1, 7, 300, 300, 500):
        np.testing.assert_allclose(running(values[:n]), ema(values[:n]))
    np.testing.assert_allclose(running(values[:50] + 1), ema(values[:50] + 1))   # a new run restarts


def test_gradient_and_pooling_clicks_name_the_right_unit_or_weight(qtbot, make, make_snapshot):
    snap = make_snapshot("seed", "update")
    grads = make(GradientsPanel, (1300, 420))
    grads.show_snapshot(snap, 2)
    oy, ox = grads.dout_view.layout.origin(3)
    with qtbot.waitSignal(grads.unit_clicked) as blocker:
        grads.dout_view.image.clicked.emit(ox + 4.5, oy + 6.5)
    assert blocker.args == [2, 3, 6, 4]
    W = snap.layers[2].grads["W"]
    transposed = assert_kernel_mosaic(grads.dW_view, W)
    f, c = kernel_of_tile(10, 8, 8, transposed)
    oy, ox = grads.dW_view.layout.origin(10)
    with qtbot.waitSignal(grads.weight_clicked) as blocker:
        grads.dW_view.image.clicked.emit(ox + 1.5, oy + 2.5)
    assert blocker.args == [2, f, c, 2, 1]
    grads.show_snapshot(snap, 8)                       # dense 128 -> 10: matrix and vector
    with qtbot.waitSignal(grads.weight_clicked) as blocker:
        grads.update_view.image.clicked.emit(100.5, 7.5)
    assert blocker.args == [8, 7, 0, 0, 100]
    with qtbot.waitSignal(grads.unit_clicked) as blocker:
        grads.dout_view.image.clicked.emit(6.5, 0.5)
    assert blocker.args == [8, 6, 0, 0]

    pool = make(PoolingPanel)
    pool.select_channel(5)
    pool.show_snapshot(snap, 4)
    with qtbot.waitSignal(pool.unit_clicked) as blocker:
        pool.in_view.image.clicked.emit(13.5, 7.5)          # the pool's input = output of ReLU 3
    assert blocker.args == [3, 5, 7, 13]
    with qtbot.waitSignal(pool.unit_clicked) as blocker:
        pool.out_view.image.clicked.emit(2.5, 9.5)
    assert blocker.args == [4, 5, 9, 2]


def drawn_bar_labels(view):
    """The tick labels pyqtgraph would really draw on the view's colour bar (it silently drops a
    label that does not fit the axis)."""
    from PyQt6 import QtGui

    image = QtGui.QImage(50, 50, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)
    try:
        specs = view.bar.axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _, _, text in specs[2]] if specs else []


@pytest.mark.parametrize("preset", ["seed", "sigmoid"])
def test_colour_bars_draw_their_range_at_both_ends(qtbot, make, make_snapshot, preset):
    snap = make_snapshot(preset, "backward")
    panel = make(GradientsPanel, (700, 500))
    qtbot.waitExposed(panel)
    for index in (2, 3, 6):
        panel.show_snapshot(snap, index)
        lay_out_now(panel)
        for view in (panel.dout_view, panel.dW_view):
            if view.data is None:
                continue
            labels = drawn_bar_labels(view)
            lo, hi = view.levels
            assert theme.tick_text(lo) in labels and theme.tick_text(hi) in labels, (index, labels)


def test_winner_overlay_draws_a_frame_or_a_dot_per_winner():
    from cnnviz.gui.mosaic import make_layout
    from cnnviz.gui.panels.pooling import DOT, RING, winner_overlay

    mask = np.zeros((2, 4, 4), bool)
    mask[0, 1, 2] = mask[1, 3, 0] = True
    layout = make_layout(2, 4, 4, cols=2)
    ring = winner_overlay(layout, mask, single=True)
    np.testing.assert_array_equal(ring[1 * SUPER:2 * SUPER, 2 * SUPER:3 * SUPER, 3] > 0, RING.astype(bool))
    assert (ring[..., 3] > 0).sum() == 2 * RING.sum()
    dot = winner_overlay(layout, mask, single=False)
    y0, x0 = layout.origin(1)
    np.testing.assert_array_equal(dot[(y0 + 3) * SUPER:(y0 + 4) * SUPER, x0 * SUPER:(x0 + 1) * SUPER, 3] > 0,
                                  DOT.astype(bool))
    for image in (ring, dot):
        np.testing.assert_array_equal(marked_cells(image, layout), [(0, 1, 2), (1, 3, 0)])


def test_pixel_ticks_sit_at_cell_centres():
    from cnnviz.gui.panels.common import pixel_ticks

    major, minor = pixel_ticks(20)
    assert major == [(i + 0.5, str(i)) for i in range(0, 20, 2)]
    assert len(minor) == 10 and all(label == "" for _, label in minor)
    assert [t for _, t in pixel_ticks(10)[0]] == [str(i) for i in range(10)]
    assert pixel_ticks(128)[0][:2] == [(0.5, "0"), (20.5, "20")] and pixel_ticks(128)[1] == []


def test_theme_levels_and_tick_text():
    assert theme.symmetric_levels(np.array([-0.5, 2.0], np.float32)) == (-2.0, 2.0)
    assert theme.symmetric_levels(np.zeros(4)) == (-1.0, 1.0)            # all zero: a valid range
    assert theme.sequential_levels(np.array([0.0, 3.0])) == (0.0, 3.0)
    assert theme.sequential_levels(np.array([0.5, 0.9])) == (0.0, 0.9)   # activations start at 0
    assert theme.value_range(np.array([0.5, 0.9])) == (0.5, 0.9)
    lo, hi = theme.value_range(np.full(3, 0.7))
    assert lo < 0.7 < hi
    assert [theme.tick_text(v) for v in (0, 0.25, -1.5, 2e-4, -4.23e-10, 12345)] == \
        ["0", "0.25", "-1.5", "2e-4", "-4.2e-10", "1.2e4"]
    ticks = theme.bar_ticks((-2.0, 2.0), 5)[0]
    assert [t for _, t in ticks] == ["-2", "-1", "0", "1", "2"]
    # a confident probe's gradients: the bar must still read its range, not 0..0
    assert [t for _, t in theme.bar_ticks((-3e-17, 3e-17), 3)[0]] == ["-3e-17", "0", "3e-17"]
    assert all(-2.0 < v < 2.0 for v, _ in ticks)                          # a hair inside the ends
    assert theme.lut(theme.DIVERGING).shape == (256, 3)
    assert tuple(theme.lut(theme.DIVERGING)[128]) == pytest.approx((247, 247, 247), abs=2)   # 0 is white


# -- per-frame work: a new frame with the same shapes changes only what changed -------------------
def test_second_frame_with_the_same_layout_rebuilds_nothing(qtbot, make_snapshot, make, monkeypatch):
    """Training sends a new snapshot ~30 times a second with the same shapes: titles, tile numbers,
    separators and axes stay as they are; only the images, levels and colour-bar ticks change."""
    import pyqtgraph as pg

    created = []
    original_init = pg.TextItem.__init__

    def counting_init(self, *args, **kwargs):
        created.append(self)
        original_init(self, *args, **kwargs)

    panels = [make(cls) for cls in (FeatureMapsPanel, KernelsPanel, GradientsPanel, PoolingPanel)]
    first, second = make_snapshot("seed", "update", probe=0), make_snapshot("seed", "update", probe=1)
    for panel in panels:
        panel.show_snapshot(first, None)
    for panel in panels:                      # laid out: the grids now fit the plots' real shapes
        lay_out_now(panel)
    for panel in panels:
        panel.show_snapshot(first, None)
    views = [view for panel in panels for view in panel.views()]
    numbers = [list(view.number_items) for view in views]
    titles = []
    monkeypatch.setattr(pg.TextItem, "__init__", counting_init)
    for view in views:
        monkeypatch.setattr(view.plot, "setTitle", lambda *a, _t=titles, **k: _t.append(a))
        monkeypatch.setattr(view.separators, "setData", lambda *a, **k: pytest.fail("separators redrawn"))
    for panel in panels:
        panel.show_snapshot(second, None)
    assert created == [], "tile numbers were made again"
    assert [list(view.number_items) for view in views] == numbers
    # only the gradients' titles carry a number of the new frame (their ± range)
    assert len(titles) <= 3
    fm = panels[0]
    z = pair_layers(second.layers, None)[1].pre_activation
    np.testing.assert_array_equal(fm.z_view.image.image, mosaic_of(fm.z_view, z))   # yet the new data is drawn


def test_a_new_theme_reaches_a_panel_when_applied_and_never_compounds(qtbot, make_snapshot, make):
    snap = make_snapshot("seed", "update")
    panel = make(KernelsPanel)
    panel.show_snapshot(snap, None)
    caption_pt = panel.caption.font().pointSizeF()
    tick_pt = panel.view.bar.getAxis("right").style["tickFont"].pointSizeF()
    lecture = theme.make_theme("colorblind", 1.5)
    panel.apply_theme(lecture)
    assert panel.caption.font().pointSizeF() == pytest.approx(1.5 * caption_pt, abs=0.5)     # at once
    panel.show_snapshot(snap, None)
    assert panel.view.bar.getAxis("right").style["tickFont"].pointSizeF() == pytest.approx(1.5 * tick_pt, abs=0.5)
    assert panel.view.bar.colorMap() is lecture.diverging and lecture.diverging.name == "blue-white-orange"
    # grown 1.5x the caption shows its first sentence; the whole, with the colour words, is its tooltip
    assert "blue &lt; 0 &lt; orange" in panel.caption.toolTip().lower()
    with pytest.raises(ValueError):
        theme.make_theme("neon")
    assert theme.make_theme("colorblind", 1.5) is lecture          # one object per look
    panel.apply_theme(lecture.scaled(1.5).with_palette("colorblind"))   # the same look: nothing to do
    panel.apply_theme(theme.DEFAULT)
    panel.show_snapshot(snap, None)
    assert panel.caption.font().pointSizeF() == pytest.approx(caption_pt)     # never compounds
    assert panel.view.bar.colorMap() is theme.DIVERGING
    assert "blue &lt; 0 &lt; red" in panel.caption.text().lower()


def test_colour_bar_axis_is_laid_out_again_only_when_its_labels_change(qtbot):
    import pyqtgraph as pg
    from cnnviz.gui.panels.common import MapView

    canvas = pg.GraphicsLayoutWidget()
    qtbot.addWidget(canvas)
    canvas.resize(500, 400)
    canvas.show()
    view = MapView(canvas, 0, 0, bar_label="x")
    maps = np.linspace(-1, 1, 2 * 5 * 5, dtype=np.float32).reshape(2, 5, 5)
    view.show_maps(maps, signed=True)
    qtbot.waitUntil(lambda: view.bar.axis.picture is not None, timeout=2000)    # painted once
    axis = view.bar.axis
    picture = axis.picture
    assert picture is not None
    view.show_maps(maps * 1.00001, signed=True)          # labels read the same: the picture stays
    assert axis.picture is picture
    assert view.bar.levels() == pytest.approx((-1.00001, 1.00001), rel=1e-7)
    assert tuple(view.image.getLevels()) == pytest.approx((-1.00001, 1.00001), rel=1e-7)
    assert list(axis.range) == pytest.approx([-1.00001, 1.00001], rel=1e-7)
    view.show_maps(maps * 2, signed=True)                # new labels: laid out again, showing the range
    assert axis.picture is None
    labels = [text for _, text in axis_ticks(axis)[0]]
    assert labels[0] == "-2" and labels[-1] == "2"


def test_live_captions_change_at_most_four_times_a_second_but_a_pause_shows_the_newest(qtbot, make_snapshot, make):
    panel = make(PredictionPanel)
    live = [dataclasses.replace(make_snapshot("seed", "update", probe=p), phase="training") for p in (0, 1)]
    panel.show_snapshot(live[0], None)
    first = panel.caption.text()
    panel.show_snapshot(live[1], None)               # 1/30 s later in the program: unreadable churn
    assert panel.caption.text() == first
    paused = dataclasses.replace(live[1], phase="idle")
    panel.show_snapshot(paused, None)
    assert panel.caption.text() != first and "%" in panel.caption.text()


def test_fast_image_draws_a_vanishing_range_without_overflow(qtbot):
    import warnings
    from cnnviz.gui.pg_compat import FastImage

    image = np.array([[-1e-39, 0.0, 1e-39]], dtype=np.float32)    # e.g. a vanished gradient
    item = FastImage(axisOrder="row-major")
    item.setLookupTable(theme.lut(theme.DIVERGING))
    item.setImage(image, autoLevels=False, levels=theme.symmetric_levels(image))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        item.render()
    lut = theme.lut(theme.DIVERGING)
    expected = [0xFF000000 | (int(r) << 16) | (int(g) << 8) | int(b) for r, g, b in lut[[0, 128, 255]]]
    assert [item.qimage.pixel(x, 0) for x in range(3)] == expected


def test_input_says_a_drawn_probe_is_the_users_drawing(qtbot, make_snapshot, make):
    snap = make_snapshot("seed", "forward", probe=2)
    drawn = dataclasses.replace(snap, probe_split="drawn", probe_index=None, probe_label=None)
    panel = make(InputPanel)
    panel.show_snapshot(drawn, None)
    assert "Your drawing" in panel.caption.text() and "#?" not in panel.caption.text()
    np.testing.assert_array_equal(panel.image.image, drawn.probe_display[0])


def test_prediction_names_every_class_while_a_small_font_fits_the_rows(qtbot, make_snapshot, make):
    """At step 0 every bar is ~10%: the bars can only be told apart by their names on the axis."""
    snap = make_snapshot("seed", "forward", probe=1)
    panel = make(PredictionPanel, (440, 200))       # about the default dock: rows ~10 px high
    qtbot.waitExposed(panel)
    panel.show_snapshot(snap, None)
    lay_out_now(panel)                  # (the panel fits its labels to each new size)
    ticks = axis_ticks(panel.plot.getAxis("left"))[0]
    assert [name for _, name in ticks] == list(snap.class_names)
    row_px = 1.0 / panel.plot.getViewBox().viewPixelSize()[1]
    font = panel.plot.getAxis("left").style["tickFont"]
    from PyQt6 import QtGui
    assert 0.8 * QtGui.QFontMetrics(font).height() <= row_px          # the names do not overlap
    panel.resize(440, 110)                           # really too low: only the true and predicted names
    lay_out_now(panel)                  # (the panel fits its labels to each new size)
    shown = [i for i, _ in axis_ticks(panel.plot.getAxis("left"))[0]]
    assert shown == sorted({snap.probe_label, int(np.argmax(snap.probs))})


def test_curves_placeholder_fits_inside_a_narrow_loss_plot(qtbot, make_snapshot, make):
    """At the default size the loss plot is ~150 px wide: the sentence must not be cut at its edges."""
    panel = make(CurvesPanel, (440, 290))
    qtbot.waitExposed(panel)
    panel.show_snapshot(dataclasses.replace(make_snapshot("seed", "forward"), curves={}), None)
    lay_out_now(panel)
    assert panel.placeholder.isVisible() and "press Play" in panel.caption.text()
    text = panel.placeholder.mapRectToScene(panel.placeholder.boundingRect())
    box = panel.loss_plot.getViewBox().sceneBoundingRect()
    assert box.left() <= text.left() and text.right() <= box.right() + 1
    panel.resize(300, 290)                 # narrower still: wrapped again to the new width
    lay_out_now(panel)
    text = panel.placeholder.mapRectToScene(panel.placeholder.boundingRect())
    box = panel.loss_plot.getViewBox().sceneBoundingRect()
    assert box.left() <= text.left() and text.right() <= box.right() + 1


@pytest.mark.parametrize("preset, layer, label", [("seed", 4, "a"), ("seed", 8, "z"), ("seed", 0, "z")])
def test_feature_map_colour_bar_names_z_only_for_a_pre_activation(qtbot, make_snapshot, make, preset, layer, label):
    """A max-pool's (or a lone activation's) output is an activation a; conv/dense outputs are z."""
    panel = make(FeatureMapsPanel)
    panel.show_snapshot(make_snapshot(preset, "update"), layer)
    assert panel.z_view.bar_label == label
    if layer == 0:                       # conv + ReLU: the pair z | a
        assert panel.a_view.bar_label == "a"


def test_before_any_snapshot_the_maps_say_they_wait_and_show_no_colour_bar(qtbot, make):
    from cnnviz.gui.panels.common import WAITING

    for cls in (FeatureMapsPanel, KernelsPanel, GradientsPanel, PoolingPanel):
        panel = make(cls)
        for view in panel.views():
            assert view.placeholder_text == WAITING, (cls.__name__, view.placeholder_text)
            assert view.bar is None or not view.bar.isVisible()

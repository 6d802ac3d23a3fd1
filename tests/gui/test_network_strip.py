"""The network strip: one block per layer with its label and shape, direction-coded highlights, clicks."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtGui import QColor

from cnnviz.gui.network_strip import BACKWARD, FORWARD, UPDATE, NetworkStrip


@pytest.fixture
def strip(qtbot, make_snapshot):
    widget = NetworkStrip()
    qtbot.addWidget(widget)
    widget.resize(1600, 124)
    widget.set_layers(make_snapshot("seed", "update").layers, dataset="mnist")
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_blocks_carry_kind_settings_and_output_shape(strip):
    titles = [(b.title, b.detail, b.shape) for b in strip.blocks]
    assert titles[0] == ("Input", "mnist", "1x28x28")
    assert titles[1] == ("Conv", "8@5x5 s1 p0", "→ 8x24x24")
    assert titles[5] == ("MaxPool", "2x2 s2", "→ 8x10x10")
    assert titles[7] == ("Dense", "800→128", "→ 128")
    assert titles[-1][0] == "Loss"
    assert strip.layer_count == 9
    assert "parameters" in strip.blocks[1].tooltip


def test_text_fits_a_projector_sized_strip(strip):
    assert strip._font_px >= 14            # readable from the back of a room at 1600 px wide


def test_same_architecture_does_not_rebuild(strip, make_snapshot):
    assert strip.set_layers(make_snapshot("seed", "backward").layers, dataset="mnist") is False
    assert strip.set_layers(make_snapshot("tiny", "backward").layers, dataset="mnist") is True


@pytest.mark.parametrize("phase, layer, expected", [
    ("forward", 2, [(2, "forward")]), ("backward", 6, [(6, "backward")]), ("loss", 8, [("loss", "loss")]),
    ("update", None, [(0, "update"), (2, "update"), (6, "update"), (8, "update")]),
    ("training", None, []), ("idle", None, []),
])
def test_highlight_follows_phase(strip, phase, layer, expected):
    strip.set_step(phase, layer)
    assert strip.highlighted() == expected


def pixel(widget, x, y) -> QColor:
    return widget.grab().toImage().pixelColor(int(x), int(y))


def close_to(a: QColor, b: QColor, tol: int = 40) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a.getRgb()[:3], b.getRgb()[:3]))


@pytest.mark.parametrize("phase, colour", [("forward", FORWARD), ("backward", BACKWARD)])
def test_forward_and_backward_outlines_are_painted_in_different_colours(strip, phase, colour):
    strip.set_step(phase, 2)
    rect = strip.block_rect(2)
    edge = pixel(strip, rect.left() + 3, rect.center().y())   # on the 5 px outline
    assert close_to(edge, colour), edge.name()
    other = pixel(strip, strip.block_rect(6).left() + 3, strip.block_rect(6).center().y())
    assert not close_to(other, colour)


def test_update_outlines_every_layer_with_parameters(strip):
    strip.set_step("update", None)
    for layer in (0, 2, 6, 8):
        rect = strip.block_rect(layer)
        assert close_to(pixel(strip, rect.left() + 3, rect.center().y()), UPDATE)


def test_clicking_a_block_emits_and_marks_the_selection(qtbot, strip):
    with qtbot.waitSignal(strip.layer_selected) as blocker:
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip.block_rect(6).center().toPoint())
    assert blocker.args == [6] and strip.selected == 6


def test_clicking_input_or_loss_selects_nothing(qtbot, strip):
    with qtbot.assertNotEmitted(strip.layer_selected):
        for rect in (strip.block_rects()[0], strip.block_rects()[-1]):
            qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert strip.layer_at(QPointF(1, 1)) is None


def test_caption_says_what_just_happened(strip):
    strip.set_step("forward", 2)
    assert "forward" in strip.caption() and "layer 2" in strip.caption()
    strip.set_step("backward", 4)
    assert "backward" in strip.caption() and "layer 4" in strip.caption()
    strip.set_step("loss", 8, 0.5)
    assert "0.5000" in strip.caption()


def test_on_a_narrow_screen_the_legend_gives_way_and_blocks_share_by_need(strip):
    strip.resize(1000, 120)
    strip.set_step("training", None)
    rects = strip.block_rects()
    assert rects[-1].right() <= 1000 and rects[0].left() >= 0
    conv, relu = strip.block_rect(0), strip.block_rect(1)
    assert conv.width() > relu.width()            # ReLU needs less room than Conv 8@5x5 s1 p0
    assert strip._font_px >= 9


@pytest.mark.parametrize("width", [1600, 1024, 800])
@pytest.mark.parametrize("phase, layer", [("update", None), ("forward", 0), ("backward", 6), ("loss", None)])
def test_the_step_glyph_and_the_title_never_touch(strip, width, phase, layer):
    strip.resize(width, 124)
    strip.set_step(phase, layer)
    gap = strip.fontMetrics().horizontalAdvance(" ") * 0.5
    laid = [strip.title_layout(i) for i in range(len(strip.blocks))]
    highlighted = [(i, where) for i, where in enumerate(laid) if where is not None]
    assert highlighted                                       # the step marks at least one block
    for i, (glyph_left, glyph_right, title_left, title_right) in highlighted:
        inner = strip.block_rects()[i].adjusted(6, 4, -6, -4)
        assert title_left - glyph_right >= gap, strip.blocks[i].title     # "ΔW Conv", not "ΔWConv"
        assert inner.left() - 0.5 <= glyph_left and title_right <= inner.right() + 0.5

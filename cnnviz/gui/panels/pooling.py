"""Pooling: the pooling layer's input with each window's grid drawn and the winner of every window
marked (the pooling mask, eq. 29), the pooled output beside it. In the backward phase the same
picture shows dL/d(input): non-zero only at the winners, because max-pool routes each window's
gradient to the cell that won it (eq. 30)."""

from __future__ import annotations

import re

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from cnnviz.gui import theme
from cnnviz.gui.mosaic import MosaicLayout, segments_to_curve, tile
from cnnviz.gui.panels.common import (POOL_KINDS, FastImage, MapView, Panel, dead_tip, dead_words, gradient_source,
                                      label, layer_title, learned_levels, learned_words, nearest_layer,
                                      zero_gradient_reason)

MODES = ("auto", "values", "gradients")
SUPER = 6                                  # overlay sub-pixels per image pixel
RING = np.ones((SUPER, SUPER), np.uint8)   # a winner in one enlarged channel: a frame, value visible
RING[1:-1, 1:-1] = 0
DOT = np.zeros((SUPER, SUPER), np.uint8)   # a winner in the all-channel mosaic: a small centre dot
DOT[2:-2, 2:-2] = 1


def winner_overlay(layout: MosaicLayout, mask: np.ndarray, single: bool, colour: str = theme.WINNER) -> np.ndarray:
    """RGBA uint8 (height*SUPER, width*SUPER, 4) marking each True cell of ``mask`` (C, H, W) placed by
    ``layout``: one image for every winner, instead of one drawn symbol each."""
    cells, _ = tile(mask.astype(np.float32), layout)
    marks = np.kron((cells > 0.5).astype(np.uint8), RING if single else DOT).astype(bool)
    rgba = np.zeros(marks.shape + (4,), np.uint8)
    rgba[marks] = QtGui.QColor(colour).getRgb()
    return rgba


def marked_cells(rgba: np.ndarray, layout: MosaicLayout) -> np.ndarray:
    """The (tile, y, x) cells an overlay marks (its pixel at the centre row, left column, or centre)."""
    probe = rgba[SUPER // 2::SUPER, 0::SUPER, 3] | rgba[SUPER // 2::SUPER, SUPER // 2::SUPER, 3]
    cells = []
    for y, x in np.argwhere(probe > 0):
        hit = layout.locate(x + 0.5, y + 0.5)
        if hit is not None:
            cells.append(hit)
    return np.array(sorted(cells), dtype=int).reshape(-1, 3)


def pool_geometry(state) -> tuple[int, int]:
    """(size, stride) of a pooling layer, read from its label ("MaxPool 2x2 s2"), else from shapes."""
    m = re.search(r"(\d+)x\d+\s+s(\d+)", state.label or "")
    if m:
        return int(m.group(1)), int(m.group(2))
    ratio = max(1, int(state.input_shape[-1]) // max(1, int(state.output_shape[-1])))
    return ratio, ratio


def window_lines(layout: MosaicLayout, stride: int, out_h: int, out_w: int):
    """x, y, connect for ONE curve: the window boundaries inside every tile of ``layout``."""
    segments = []
    for oy, ox in layout.origins():
        top, left = float(oy), float(ox)
        bottom, right = top + min(out_h * stride, layout.h), left + min(out_w * stride, layout.w)
        for k in range(1, out_w):
            x = left + k * stride
            segments.append(((x, top), (x, bottom)))
        for k in range(1, out_h):
            y = top + k * stride
            segments.append(((left, y), (right, y)))
    return segments_to_curve(segments)


def wants_gradients(snapshot, state, mode: str) -> bool:
    """Show dL/d(input) instead of values? auto: in the backward phase, or whenever a gradient exists
    outside a forward step."""
    if mode == "values":
        return False
    if mode == "gradients":
        return True
    if snapshot.phase in ("forward", "loss"):
        return False
    return snapshot.phase == "backward" or state.dL_dout is not None


class PoolingPanel(Panel):
    """Signal unit_clicked(layer, channel, y, x): a clicked cell of the pooling layer's input
    (layer = the layer before the pool, whose output it is) or of its output (the pool layer)."""

    title = "Pooling"
    unit_clicked = QtCore.pyqtSignal(int, int, int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.channel_box = QtWidgets.QComboBox()
        self.channel_box.setToolTip("All channels as a mosaic, or one channel enlarged")
        self.channel_box.addItem("all channels")
        self.channel_choice: int | None = 0   # None = all; start on one channel, enlarged: readable windows
        self.channel_chosen = False            # the user picked it: keep it even when it is dead
        self.mode_box = QtWidgets.QComboBox()
        self.mode_box.addItems(["auto", "values (forward)", "gradients (backward)"])
        self.mode_box.setToolTip("Values: what the pool saw and kept. Gradients: where dL/d(output) is routed.\n"
                                 "Auto: gradients once a backward pass has run, values while stepping forward.")
        self.controls.addWidget(label("channel:"))
        self.controls.addWidget(self.channel_box)
        self.controls.addWidget(label("show:"))
        self.controls.addWidget(self.mode_box)
        self.controls.addStretch(1)
        self.channel_box.currentIndexChanged.connect(self._channel_changed)
        self.mode_box.currentIndexChanged.connect(lambda _i: self.redraw())
        # one colour bar for both pictures: they share levels, so colours compare across them
        self.in_view = MapView(self.canvas, 0, 0, colorbar=False)
        self.out_view = MapView(self.canvas, 0, 1, bar_label="value")
        self.canvas.ci.layout.setColumnStretchFactor(0, 1)
        self.canvas.ci.layout.setColumnStretchFactor(1, 1)
        grid_pen = pg.mkPen(theme.WINDOW_GRID, width=1)
        self.windows = pg.PlotCurveItem(pen=grid_pen)
        self.in_view.plot.addItem(self.windows, ignoreBounds=True)
        self.winners = FastImage(axisOrder="row-major")     # RGBA overlay, SUPER x finer than the image
        self.winners.setZValue(5)
        self.in_view.plot.addItem(self.winners, ignoreBounds=True)
        self.in_view.image.clicked.connect(lambda x, y: self._clicked(self.in_view, x, y))
        self.out_view.image.clicked.connect(lambda x, y: self._clicked(self.out_view, x, y))
        self.pool_layer: int | None = None
        self.channels: list[int] = []
        self.gradient_mode = False
        self._windows_key = None
        self._mask_key = None
        self.winner_cells = np.zeros((0, 3), dtype=int)   # (channel, y, x) marked, for tests/tools

    # -- choosing what to show ---------------------------------------------------------------
    def _channel_changed(self, index: int) -> None:
        self.channel_choice = None if index <= 0 else index - 1
        self.channel_chosen = True
        self.redraw()

    def _open_on_live_channel(self, state) -> None:
        """Until the user picks a channel, show a live one: a dead channel is a flat square with
        every winner in its corner, which teaches nothing about pooling."""
        dead = set(state.dead or ())
        if self.channel_chosen or self.channel_choice is None or self.channel_choice not in dead:
            return
        live = [c for c in range(int(state.input_shape[0])) if c not in dead]
        if live:
            self.channel_choice = live[0]

    def _sync_channels(self, n: int) -> int:
        """Fill the chooser for ``n`` channels; returns the channel to show (-1 = all)."""
        if self.channel_choice is not None and self.channel_choice >= n:
            self.channel_choice = 0
        want = 0 if self.channel_choice is None else self.channel_choice + 1
        if self.channel_box.count() != n + 1 or self.channel_box.currentIndex() != want:
            self.channel_box.blockSignals(True)
            if self.channel_box.count() != n + 1:
                self.channel_box.clear()
                self.channel_box.addItem(f"all {n} channels")
                self.channel_box.addItems([f"channel {c}" for c in range(n)])
            self.channel_box.setCurrentIndex(want)
            self.channel_box.blockSignals(False)
        return want - 1

    def select_channel(self, channel: int | None) -> None:
        """None: all channels as a mosaic; c: channel c alone, enlarged, with pixel coordinates."""
        self.channel_choice = channel
        self.channel_chosen = True
        self.redraw()

    def set_mode(self, mode: str) -> None:
        self.mode_box.setCurrentIndex(MODES.index(mode))

    # -- drawing -------------------------------------------------------------------------------
    def show_snapshot(self, snapshot, layer_index: int | None) -> None:
        self._remember(snapshot, layer_index)
        state = nearest_layer(snapshot.layers, layer_index, POOL_KINDS)
        if state is None or len(state.input_shape) != 3:
            self.pool_layer = None
            self._clear_overlays()
            self.set_caption("This network has no pooling layer.")
            self.in_view.show_placeholder("no pooling layer in this network")
            self.out_view.show_placeholder("")
            return
        self.pool_layer = state.index
        C = int(state.input_shape[0])
        self._open_on_live_channel(state)
        pick = self._sync_channels(C)
        self.channels = list(range(C)) if pick < 0 else [pick]
        sl = slice(None) if pick < 0 else slice(pick, pick + 1)
        grad = wants_gradients(snapshot, state, MODES[self.mode_box.currentIndex()])
        self.gradient_mode = grad
        size, stride = pool_geometry(state)
        is_max = state.kind == "maxpool"
        if grad:
            left, right = state.dL_dinput, state.dL_dout
            names = ("dL/d(input)", "dL/d(output)")
        else:
            left, right = state.input, state.output
            names = ("input", "output")
        if left is None or right is None:
            self._clear_overlays()
            what = "no gradient yet — step backward or train" if grad else "not computed yet — step forward"
            self.in_view.show_placeholder(what)
            self.out_view.show_placeholder("")
            self.set_caption(f"<b>{layer_title(state)}</b> ({state.label}): {what}.")
            return
        left, right = left[sl], right[sl]
        signed = True if grad else (theme.is_signed(left) or theme.is_signed(right))
        both = np.concatenate([left.ravel(), right.ravel()])
        # unsigned values: min..max, not 0..max, so a window's winner stands out even when every
        # value is high (saturated sigmoids sit at 0.99 and would all look the same)
        levels = theme.symmetric_levels(both) if signed else theme.value_range(both)
        learned_note = learned_words(snapshot, both) if grad else ""
        if learned_note:   # a learned probe's tiny gradients fade instead of filling the colour range
            levels = learned_levels(snapshot, both)
        layout = self.in_view.show_maps(left, signed=signed, levels=levels)
        # the same grid on both sides, so tile k of the output is the pooled tile k of the input
        self.out_view.show_maps(right, signed=signed, levels=levels, cols=layout.cols)
        self.out_view.bar.getAxis("left").setLabel("gradient" if grad else "value")
        single = pick >= 0
        # all channels at once: cells are a few pixels, so no window grid and small filled dots
        self._draw_windows(layout, stride, right.shape[1], right.shape[2], visible=single)
        self._draw_winners(layout, state.mask[sl] if (is_max and state.mask is not None) else None, single)
        dead_here = [k for k, c in enumerate(self.channels) if c in set(state.dead or ())]
        for view in (self.in_view, self.out_view):
            view.mark_dead(dead_here, dead_tip(snapshot))
        # short titles (the channel box says which channel): two of them side by side must fit at 1.5x
        ch, dims = ("", slice(None)) if pick < 0 else (f" ch {pick}", slice(1, None))
        self.in_view.set_title(f"{names[0]}{ch}: {theme.shape_text(left.shape[dims])}")
        self.out_view.set_title(f"{names[1]}: {theme.shape_text(right.shape[dims])}")
        grid = (f" Grey lines: the {size}x{size} windows." if single else
                " Pick one channel to see the windows.")
        source = f" {gradient_source(snapshot, 'Gradients')}." if grad else ""
        words = dead_words(snapshot, state)
        dead_note = f" <span style='color:{theme.DEAD}'>{words}</span>" if words else ""
        head = f"<b>{learned_note}</b> " if learned_note else ""
        if grad and snapshot.step > 0 and not np.any(both):
            reason = zero_gradient_reason(snapshot, state, "The gradient")
            head = f"<span style='color:{theme.DEAD}'><b>{reason}</b></span> " if reason else head
        self.set_caption(head + self._caption(state, grad, is_max, size, stride) + source + grid + dead_note)

    def _caption(self, state, grad, is_max, size, stride) -> str:
        head = f"<b>{layer_title(state)}</b> ({state.label}) — "
        if not is_max:
            tail = ("average pooling: each output is the mean of its window; in backward every cell of the "
                    f"window gets 1/{size * size} of the window's gradient.")
            return head + tail
        if grad:
            return head + (f"backward: each window's gradient goes only to its winner ({self.theme.words['winner']}); "
                           "every other cell gets 0.")
        return head + (f"forward: each output keeps the largest value of its window (the winner, {self.theme.words['winner']}); "
                       "in a window of equal values (e.g. all 0) the first cell, reading row by row, wins.")

    def _draw_windows(self, layout: MosaicLayout, stride: int, out_h: int, out_w: int,
                      visible: bool = True) -> None:
        key = (layout, stride, out_h, out_w)
        if key != self._windows_key:
            self._windows_key = key
            x, y, connect = window_lines(layout, stride, out_h, out_w)
            self.windows.setData(x, y, connect=connect)
        self.windows.setVisible(visible)

    def _draw_winners(self, layout: MosaicLayout, mask: np.ndarray | None, single: bool) -> None:
        key = None if mask is None else (layout, single, mask.tobytes())
        if key == self._mask_key:
            return
        self._mask_key = key
        if mask is None:
            self.winner_cells = np.zeros((0, 3), dtype=int)
            self.winners.clear()
            return
        c, y, x = np.nonzero(mask)
        self.winner_cells = np.stack([np.asarray(self.channels)[c], y, x], axis=1)
        self.winners.setImage(winner_overlay(layout, mask, single, self.theme.winner), autoLevels=False, levels=(0, 255))
        self.winners.setRect(QtCore.QRectF(0, 0, layout.width, layout.height))

    def theme_changed(self, old_scale: float) -> None:
        super().theme_changed(old_scale)
        self._mask_key = None     # the winners are drawn in the theme's winner colour

    def _clear_overlays(self) -> None:
        self._windows_key = self._mask_key = None
        self.windows.setData([], [])
        self.winners.clear()
        self.winner_cells = np.zeros((0, 3), dtype=int)

    def _clicked(self, view: MapView, x: float, y: float) -> None:
        if self.pool_layer is None or view.layout is None:
            return
        hit = view.layout.locate(x, y)
        if hit is None:
            return
        tile, ty, tx = hit
        channel = self.channels[tile] if tile < len(self.channels) else tile
        layer = self.pool_layer - 1 if view is self.in_view else self.pool_layer
        self.unit_clicked.emit(max(layer, 0), channel, ty, tx)

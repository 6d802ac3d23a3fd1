"""The convolution animation (the paper's Figure 5): a kernel slides over a zero-padded input with a
chosen stride; at each position the patch, the kernel and their element-wise products are shown with
numbers and the output cell fills in. A toggle flips the kernel to show a true convolution against the
cross-correlation that CNNs compute (paper section 2.4.2).

Numbers come from ``cnnviz.nn.explain.explain_conv_unit`` (the plain loop of eq. 8), so they are the
engine's.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from cnnviz.gui import theme
from cnnviz.gui.teach.grid import NumberGrid, number_text
from cnnviz.nn.explain import explain_conv_unit

EDGE_KERNEL = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], np.float32)   # vertical edges
CORRELATION_NOTE = ("Cross-correlation (what CNNs compute): the kernel slides as it is, "
                    "z(y,x) = Σ w(i,j)·a(y·s+i, x·s+j).")
CONVOLUTION_NOTE = ("True convolution: the kernel is flipped 180° first. A CNN learns its kernels, "
                    "so it would simply learn the flipped ones: the two are equally powerful (§2.4.2).")


def default_input() -> np.ndarray:
    """A 7x7 picture of a bright vertical bar with a step, so the edge kernel has something to find."""
    x = np.zeros((7, 7), np.float32)
    x[1:6, 2:4] = 1.0
    x[4:6, 4:6] = 0.5
    return x


def downsample(image: np.ndarray, size: int = 7) -> np.ndarray:
    """(H, W) -> (size, size) by block means (H, W multiples of size), else by nearest pixels."""
    h, w = image.shape
    if h % size == 0 and w % size == 0:
        return image.reshape(size, h // size, size, w // size).mean(axis=(1, 3)).astype(np.float32)
    rows = (np.arange(size) * h) // size
    cols = (np.arange(size) * w) // size
    return image[np.ix_(rows, cols)].astype(np.float32)


def output_size(n: int, k: int, stride: int, padding: int) -> int:
    """floor((n + 2p - k)/s) + 1, or 0 when the kernel does not fit."""
    span = n + 2 * padding
    return 0 if k > span else (span - k) // stride + 1


class ConvAnimation(QtWidgets.QWidget):
    """Controls: stride and padding spin boxes, Play/Pause, Step, Restart, a speed slider (steps per
    second) and the "true convolution" check box. ``set_input(array (H, W))``, ``set_kernel(array
    (k, k))``, ``use_snapshot(snapshot, layer_index=None, f=0, c=0)``. Signal ``position_changed(y, x)``
    after every step (-1, -1 before the first)."""

    position_changed = QtCore.pyqtSignal(int, int)

    def __init__(self, parent=None, input_image: np.ndarray | None = None, kernel: np.ndarray | None = None):
        super().__init__(parent)
        self.setFont(theme.font(theme.FONT_PT))
        self.x = default_input() if input_image is None else np.asarray(input_image, np.float32)
        self.w = EDGE_KERNEL.copy() if kernel is None else np.asarray(kernel, np.float32)
        self.position = -1            # row-major index of the output cell shown; -1: none yet
        self.z_full = np.zeros((0, 0))
        self._build_controls()
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(theme.BACKGROUND)
        # input and output large on the sides, kernel and products stacked between them
        self.input_grid = NumberGrid(self.canvas, 0, 0, colorbar=True, bar_label="a", rowspan=2)
        self.kernel_grid = NumberGrid(self.canvas, 0, 1, colorbar=True, bar_label="w")
        self.products_grid = NumberGrid(self.canvas, 1, 1, colorbar=True, bar_label="w·a")
        self.output_grid = NumberGrid(self.canvas, 0, 2, colorbar=True, bar_label="z", rowspan=2)
        grid_layout = self.canvas.ci.layout
        for column, stretch in enumerate((6, 3, 5)):
            grid_layout.setColumnStretchFactor(column, stretch)
        self.formula = QtWidgets.QLabel("")
        self.formula.setWordWrap(True)
        self.formula.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.formula.setStyleSheet(f"font-family: monospace; font-size: {theme.TITLE_PT}pt;")
        self.note = QtWidgets.QLabel(CORRELATION_NOTE)
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"font-size: {theme.FONT_PT}pt; color: {theme.TEXT};")
        box = QtWidgets.QVBoxLayout(self)
        box.addLayout(self.controls)
        box.addWidget(self.note)
        box.addWidget(self.canvas, 1)
        box.addWidget(self.formula)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.step)
        self.recompute()

    # -- controls ---------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.stride_box = QtWidgets.QSpinBox()
        self.stride_box.setRange(1, 4)
        self.padding_box = QtWidgets.QSpinBox()
        self.padding_box.setRange(0, 3)
        self.play_button = QtWidgets.QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play / pause the sliding kernel (Space)")
        self.step_button = QtWidgets.QPushButton("Step")
        self.step_button.setToolTip("Move the kernel one position (Right arrow)")
        self.restart_button = QtWidgets.QPushButton("Restart")
        self.restart_button.setToolTip("Back to before the first position (Home)")
        # keys act only while the animation has focus; they are taken before the main window's
        # Space/arrow shortcuts see them (two shortcuts for one key would make Qt fire neither)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self._keys = {QtCore.Qt.Key.Key_Space: self.play_button.toggle, QtCore.Qt.Key.Key_Right: self.step,
                      QtCore.Qt.Key.Key_Home: self.restart}
        self.speed = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.speed.setRange(1, 20)            # positions per second
        self.speed.setValue(2)
        self.speed.setFixedWidth(140)
        self.speed.setToolTip("Speed: kernel positions per second")
        self.flip_box = QtWidgets.QCheckBox("True convolution (flip the kernel)")
        # two rows (geometry, then motion): one row was ~900 px wide and widened the whole window
        self.controls = QtWidgets.QVBoxLayout()
        for widgets in ((QtWidgets.QLabel("Stride"), self.stride_box, QtWidgets.QLabel("Zero padding"),
                         self.padding_box, self.flip_box),
                        (self.play_button, self.step_button, self.restart_button, QtWidgets.QLabel("Speed"),
                         self.speed)):
            row = QtWidgets.QHBoxLayout()
            for widget in widgets:
                row.addWidget(widget)
            row.addStretch(1)
            self.controls.addLayout(row)
        self.stride_box.valueChanged.connect(self.recompute)
        self.padding_box.valueChanged.connect(self.recompute)
        self.flip_box.toggled.connect(self._flip_toggled)
        self.play_button.toggled.connect(self.set_playing)
        self.step_button.clicked.connect(self.step)
        self.restart_button.clicked.connect(self.restart)
        self.speed.valueChanged.connect(self._speed_changed)

    def event(self, event) -> bool:
        if (event.type() == QtCore.QEvent.Type.ShortcutOverride and event.key() in self._keys
                and event.modifiers() == QtCore.Qt.KeyboardModifier.NoModifier):
            event.accept()      # deliver the key to keyPressEvent, not to a window shortcut
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        slot = self._keys.get(event.key()) if event.modifiers() == QtCore.Qt.KeyboardModifier.NoModifier else None
        if slot is None:
            super().keyPressEvent(event)
        else:
            slot()

    def set_playing(self, playing: bool) -> None:
        if playing and self.total_positions() == 0:   # nothing to animate: the kernel does not fit
            playing = False
        if playing and self.position >= self.total_positions() - 1:
            self.restart()
        if self.play_button.isChecked() != playing:
            self.play_button.setChecked(playing)
            return
        self.play_button.setText("Pause" if playing else "Play")
        if playing:
            self.timer.start(int(1000 / self.speed.value()))
        else:
            self.timer.stop()

    def _speed_changed(self, value: int) -> None:
        if self.timer.isActive():
            self.timer.start(int(1000 / value))

    def _flip_toggled(self, flipped: bool) -> None:
        self.note.setText(CONVOLUTION_NOTE if flipped else CORRELATION_NOTE)
        self.recompute()

    # -- data -------------------------------------------------------------------------------
    def set_input(self, image: np.ndarray) -> None:
        """A new input picture (H, W); the animation starts over."""
        self.x = np.asarray(image, np.float32)
        self.recompute()

    def set_kernel(self, kernel: np.ndarray) -> None:
        """A new square kernel (k, k); the animation starts over."""
        self.w = np.asarray(kernel, np.float32)
        self.recompute()

    def use_snapshot(self, snapshot, layer_index: int | None = None, f: int = 0, c: int = 0,
                     size: int = 7) -> None:
        """The kernel W[f, c] of a conv layer (default: the first) of ``snapshot``, slid over the probe
        image downsampled to ``size`` x ``size`` (for the first conv layer; a later layer's input
        channel c otherwise)."""
        convs = [s for s in snapshot.layers if s.kind == "conv" and "W" in s.params]
        if not convs:
            return
        state = next((s for s in convs if s.index == layer_index), convs[0])
        self.w = np.array(state.params["W"][f, c], np.float32)
        if state.index == convs[0].index and snapshot.probe_display is not None:
            self.x = downsample(np.asarray(snapshot.probe_display[0], np.float32), size)
        elif state.input is not None:
            self.x = np.array(state.input[c], np.float32)
        self.recompute()

    @property
    def kernel_used(self) -> np.ndarray:
        """The kernel as it slides: flipped by 180° for a true convolution."""
        return self.w[::-1, ::-1] if self.flip_box.isChecked() else self.w

    def total_positions(self) -> int:
        return int(self.z_full.size)

    def apply_theme(self, look: theme.Theme) -> None:
        """Colour with ``look``'s palette, drawn again at once (its text stays at the base sizes)."""
        for grid in (self.input_grid, self.kernel_grid, self.products_grid, self.output_grid):
            grid.apply_theme(look)
        self.recompute()

    def recompute(self) -> None:
        """New geometry or data: compute every output (eq. 8 loop), fix the levels, start over."""
        s, p, k = self.stride_box.value(), self.padding_box.value(), self.w.shape[0]
        oh, ow = output_size(self.x.shape[0], k, s, p), output_size(self.x.shape[1], k, s, p)
        w4 = self.kernel_used[None, None]
        self.z_full = np.array([[explain_conv_unit(self.x[None], w4, np.zeros(1), 0, y, x, s, p)["z"]
                                 for x in range(ow)] for y in range(oh)], np.float32).reshape(oh, ow)
        padded = np.pad(self.x, p)
        self.x_levels = theme.symmetric_levels(padded) if theme.is_signed(padded) else theme.sequential_levels(padded)
        self.z_levels = theme.symmetric_levels(self.z_full)
        self.w_levels = theme.symmetric_levels(self.w)
        products = [explain_conv_unit(self.x[None], w4, np.zeros(1), 0, y, x, s, p)["products"]
                    for y in range(oh) for x in range(ow)]
        self.p_levels = theme.symmetric_levels(np.array(products)) if products else (-1.0, 1.0)
        self.input_grid.set_data(padded, levels=self.x_levels, signed=theme.is_signed(padded))
        if p:
            self.input_grid.highlight("image", p, p, self.x.shape[0], self.x.shape[1], color=theme.MUTED,
                                      pen_width=2, dashed=True)
        else:
            self.input_grid.hide_highlight("image")
        h, w = self.x.shape
        self.input_grid.set_title(f"input a, {h}x{w}" + (f" + zero padding {p}" if p else ""))
        flipped = self.flip_box.isChecked()
        self.kernel_grid.set_data(self.kernel_used, levels=self.w_levels, signed=True)
        self.kernel_grid.set_title(f"kernel w, {k}x{k}" + (" (flipped 180°)" if flipped else ""))
        self.output_grid.set_title(f"output z, {oh}x{ow} = ⌊({h}+2·{p}−{k})/{s}⌋+1")
        self.position = -1
        self.timer.stop()
        self.play_button.setChecked(False)
        self._show_position()

    # -- stepping ---------------------------------------------------------------------------
    def step(self) -> None:
        """Move the kernel one output position (row-major); at the end, stop (Step starts over)."""
        total = self.total_positions()
        if total == 0:
            return
        if self.position >= total - 1:
            if self.timer.isActive():
                self.set_playing(False)
                return
            self.position = -1
        self.position += 1
        self._show_position()
        if self.position >= total - 1 and self.timer.isActive():
            self.set_playing(False)

    def restart(self) -> None:
        self.position = -1
        self._show_position()

    def current_cell(self) -> tuple[int, int] | None:
        if self.position < 0 or self.z_full.size == 0:
            return None
        return divmod(self.position, self.z_full.shape[1])

    def _show_position(self) -> None:
        oh, ow = self.z_full.shape if self.z_full.size else (0, 0)
        hidden = np.ones((oh, ow), bool)
        if self.position >= 0:
            hidden.reshape(-1)[: self.position + 1] = False
        if oh and ow:
            self.output_grid.set_data(self.z_full, levels=self.z_levels, signed=True, hidden=hidden)
        cell = self.current_cell()
        k, s, p = self.w.shape[0], self.stride_box.value(), self.padding_box.value()
        if cell is None:
            self.input_grid.hide_highlight("window")
            self.output_grid.hide_highlight("cell")
            self.products_grid.set_data(np.zeros((k, k)), levels=self.p_levels, signed=True,
                                        hidden=np.ones((k, k), bool))
            self.products_grid.set_title("w·a (element-wise)")
            self.formula.setText("Press <b>Step</b> or <b>Play</b> to slide the kernel." if oh else
                                 f"The {k}x{k} kernel does not fit in the padded input: no output.")
            self.position_changed.emit(-1, -1)
            return
        y, x = cell
        e = explain_conv_unit(self.x[None], self.kernel_used[None, None], np.zeros(1), 0, y, x, s, p)
        self.input_grid.highlight("window", y * s, x * s, k, k)
        self.output_grid.highlight("cell", y, x, 1, 1)
        self.products_grid.set_data(e["products"][0], levels=self.p_levels, signed=True)
        self.products_grid.set_title(f"w·a at position ({y}, {x})")
        terms = [float(v) for v in e["products"][0].reshape(-1) if v != 0]
        shown = "".join((" − " if v < 0 else " + ") + number_text(abs(v)) if n else number_text(v)
                        for n, v in enumerate(terms[:6])) + (" + …" if len(terms) > 6 else "")
        w_ij = f"w({k - 1}−i,{k - 1}−j)" if self.flip_box.isChecked() else "w(i,j)"
        self.formula.setText(
            f"z({y},{x}) = Σ<sub>i,j</sub> {w_ij}·a({y}·{s}+i, {x}·{s}+j) = "
            f"{shown or '0'} = <b>{number_text(e['z'])}</b>"
            f"&nbsp;&nbsp;&nbsp;(position {self.position + 1} of {self.total_positions()})")
        self.position_changed.emit(y, x)

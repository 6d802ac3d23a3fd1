"""Input: the probe image (the one example whose maps every panel shows), its label and class name,
and buttons to choose another probe."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from cnnviz.gui import theme
from cnnviz.gui.panels.common import FastImage, Panel


def display_image(snapshot) -> tuple[np.ndarray | None, bool]:
    """(image, is_rgb): (H, W) in 0..1 for one channel, (H, W, 3) for colour; from ``probe_display``
    or, failing that, ``probe_image`` rescaled to 0..1."""
    img = snapshot.probe_display
    if img is None and snapshot.probe_image is not None:
        img = np.asarray(snapshot.probe_image, dtype=np.float32)
        lo, hi = float(img.min()), float(img.max())
        img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    if img is None:
        return None, False
    img = np.asarray(img, dtype=np.float32)
    if img.ndim == 3 and img.shape[0] == 1:
        return np.ascontiguousarray(img[0]), False
    if img.ndim == 3 and img.shape[0] == 3:
        return np.ascontiguousarray(np.transpose(img, (1, 2, 0))), True
    return np.ascontiguousarray(img.reshape(img.shape[-2:])), False


PICKS = (("hardest", "hardest test image"), ("misclassified", "a misclassified one"),
         ("least_confident", "least confident"))


class InputPanel(Panel):
    """Signal probe_requested(kind, value): kind "next", "prev", "random" (value 0) or "index"
    (value = the dataset index typed in the box)."""

    title = "Input (probe image)"
    probe_requested = QtCore.pyqtSignal(str, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        # short labels: with the chooser beside them the row must fit a 1024-px projector's left column
        self.prev_button = QtWidgets.QPushButton("◀")
        self.next_button = QtWidgets.QPushButton("▶")
        self.random_button = QtWidgets.QPushButton("random")
        for button in (self.prev_button, self.next_button, self.random_button):   # no 80-px minimum
            text_px = button.fontMetrics().horizontalAdvance(button.text())
            button.setMaximumWidth(text_px + 2 * button.fontMetrics().height())
        self.index_box = QtWidgets.QSpinBox()
        self.index_box.setRange(0, 10 ** 9)
        self.index_box.setKeyboardTracking(False)   # one request when typing is finished
        self.index_box.setMinimumWidth(70)
        self.index_box.setToolTip("Show this image of the test set (type a number, press Enter)")
        self.prev_button.setToolTip("The previous image of the test set")
        self.next_button.setToolTip("The next image of the test set")
        self.random_button.setToolTip("A random image of the test set")
        for w in (self.prev_button, self.next_button, self.random_button):
            self.controls.addWidget(w)
        # test images chosen by what the current network makes of them (computed in the session)
        self.pick_box = QtWidgets.QComboBox()
        self.pick_box.addItem("choose…", "")
        for kind, text in PICKS:
            self.pick_box.addItem(text, kind)
        self.pick_box.setToolTip("A test image picked by the current network: the hardest (largest loss), "
                                 "a misclassified one (again: the next), the least confident")
        self.pick_box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.pick_box.setMinimumContentsLength(8)
        self.pick_box.activated.connect(self._picked)
        self.controls.addWidget(self.pick_box)
        self.controls.addWidget(QtWidgets.QLabel("#"))
        self.controls.addWidget(self.index_box)
        self.controls.addStretch(1)
        self.prev_button.clicked.connect(lambda: self.probe_requested.emit("prev", 0))
        self.next_button.clicked.connect(lambda: self.probe_requested.emit("next", 0))
        self.random_button.clicked.connect(lambda: self.probe_requested.emit("random", 0))
        self.index_box.valueChanged.connect(lambda v: self.probe_requested.emit("index", int(v)))
        self.plot = self.canvas.addPlot(row=0, col=0)
        p = self.plot
        p.invertY(True)
        p.setAspectLocked(True)
        p.hideButtons()
        p.setMenuEnabled(False)
        p.hideAxis("left")      # the probe is for looking at: every pixel of the dock goes to it
        p.hideAxis("bottom")
        self.image = FastImage(axisOrder="row-major")
        self.image.setLookupTable(theme.lut(theme.GREYS_INK))
        self.image.setLevels((0.0, 1.0))
        p.addItem(self.image)
        self.placeholder = pg.TextItem("no probe image yet", color=theme.MUTED, anchor=(0.5, 0.5))
        self.placeholder.setFont(theme.font(self.theme.title_pt))
        p.addItem(self.placeholder, ignoreBounds=True)
        self._show_placeholder()
        self.data: np.ndarray | None = None
        self._rgb = None

    def _picked(self, row: int) -> None:
        kind = self.pick_box.itemData(row)
        self.pick_box.setCurrentIndex(0)   # a choice, not a state: the same one can be asked again
        if kind:
            self.probe_requested.emit(kind, 0)

    def _show_placeholder(self) -> None:
        """The sentence in the middle of an empty view (the view's own range put it at its bottom edge)."""
        self.placeholder.setPos(0.5, 0.5)
        self.placeholder.show()
        self.plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)

    def set_probe_count(self, n: int) -> None:
        """Limit the index box to the dataset's size (the main window knows it, the Snapshot does not)."""
        self.index_box.setMaximum(max(0, int(n) - 1))

    def show_snapshot(self, snapshot, layer_index: int | None) -> None:
        self._remember(snapshot, layer_index)
        img, rgb = display_image(snapshot)
        if img is None:
            self.data = None
            self.image.clear()
            self._show_placeholder()
            self.set_caption("No probe image yet.")
            return
        if self.placeholder.isVisible():
            self.placeholder.hide()
            self.plot.enableAutoRange()   # setRange for the placeholder turned it off: fit the image
        if rgb != self._rgb:
            self._rgb = rgb
            self.image.setLookupTable(None if rgb else theme.lut(theme.GREYS_INK))
        if self.data is None or not np.array_equal(self.data, img):
            self.data = img
            self.image.setImage(img, autoLevels=False, levels=(0.0, 1.0))
        if snapshot.probe_index is not None and snapshot.probe_index != self.index_box.value():
            self.index_box.blockSignals(True)
            self.index_box.setValue(int(snapshot.probe_index))
            self.index_box.blockSignals(False)
        self.set_caption(self._caption(snapshot, img))
        self._set_title(snapshot)

    def _set_title(self, snapshot) -> None:
        label = snapshot.probe_label
        if label is None:
            text = ""
        else:
            name = snapshot.class_names[label] if 0 <= label < len(snapshot.class_names) else str(label)
            text = f"true class: {name}"
        if text != getattr(self, "_title", None):
            self._title = text
            self.plot.setTitle(text, size=f"{round(16 * self.theme.font_scale)}pt", color=self.theme.true_class, bold=True)

    def theme_changed(self, old_scale: float) -> None:
        super().theme_changed(old_scale)
        self._title = None        # its size and colour follow the theme

    @staticmethod
    def _caption(snapshot, img) -> str:
        idx = "?" if snapshot.probe_index is None else snapshot.probe_index
        label = snapshot.probe_label
        if label is not None and 0 <= label < len(snapshot.class_names):
            name = snapshot.class_names[label]
            what = f"label <b>{label}</b>" + (f" (“{name}”)" if name != str(label) else "")
        elif label is not None:
            what = f"label <b>{label}</b>"
        else:
            what = "no label"
        split = getattr(snapshot, "probe_split", "")
        shape = "x".join(str(s) for s in img.shape[:2]) + (" RGB" if img.ndim == 3 else "")
        if split == "drawn":  # drawn with the mouse: no index, no true class
            return f"Your drawing, {shape} pixels after MNIST-style centring (dark = ink); no true class."
        where = " ".join(w for w in (snapshot.dataset, f"{split} set" if split else "") if w)
        data = f" from the {where}" if where else ""
        return f"Probe image #{idx}{data}: {what}; {shape} pixels (dark = ink)."

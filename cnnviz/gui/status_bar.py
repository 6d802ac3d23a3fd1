"""StatusBar: the window's status bar, fed a snapshot and the trainer's state: state, step, epoch, loss,
images/s, panel frames/s, phase.

While training live the numbers change 30 times a second but are shown at most STATUS_MAX_HZ
times; each field has a fixed size, so a new text costs a repaint of that label only, not a layout
of the whole bar.
"""

from __future__ import annotations

import time
from typing import Callable

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

# The status bar's numbers while training live: 4 a second is as fast as anyone reads them, and each
# change costs a repaint on the GUI thread, which shares the GIL with training. States and steps
# show at once.
STATUS_MAX_HZ = 4.0
# The widest text each status field usually shows: its fixed width, so a changing digit never makes
# the bar lay itself out again (a longer text, e.g. a millionth step, widens the field once).
STATUS_TEMPLATES = {"state": "stepping", "step": "step 000000", "epoch": "epoch 00", "loss": "batch loss 00.0000",
                    "speed": "00,000 images/s", "fps": "00 frames/s"}
TIPS = {"state": "What the trainer is doing", "step": "Optimizer updates applied so far",
        "epoch": "Passes over the training set",
        "loss": "Loss of the last batch the trainer ran (mean over its images); not the probe image's loss",
        "speed": "Training images per second", "fps": "Panel redraws per second",
        "phase": "The step that just ran and its layer"}


class StatusFieldSizer(QObject):
    """Keeps each status label at a fixed size (Qt skips the layout pass when a fixed-size label
    changes its text) that fits its template and its text, and refits it when its font changes
    (lecture mode scales the fonts)."""

    def __init__(self, labels: dict[str, QLabel], templates: dict[str, str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.labels, self.templates = labels, templates
        for name, label in labels.items():
            self.fit(label, name, shrink=True)
            label.installEventFilter(self)

    def fit(self, label: QLabel, name: str, shrink: bool = False) -> None:
        """Widen ``label`` if its text would not fit (``shrink``: also narrow it to the template)."""
        metrics, margins = label.fontMetrics(), label.contentsMargins()
        needed = max(metrics.horizontalAdvance(t) for t in (label.text(), self.templates[name]))
        width = needed + margins.left() + margins.right() + 2
        height = metrics.height() + margins.top() + margins.bottom()
        if shrink or width > label.maximumWidth() or height != label.maximumHeight():
            label.setFixedSize(width if shrink else max(width, label.maximumWidth()), height)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.FontChange:
            name = next((n for n, label in self.labels.items() if label is watched), None)
            if name is not None:
                self.fit(watched, name, shrink=True)
        return False


def status_texts(snapshot, state: str, fps: float) -> dict[str, str]:
    """The text of each field for ``snapshot`` (None: nothing loaded yet)."""
    texts = {"state": state, "fps": f"{fps:.0f} frames/s"}
    if snapshot is None:
        texts["phase"] = "waiting for the network"   # as the panels say; the strip says why
        return texts
    phase = snapshot.phase
    if snapshot.layer_index is not None and 0 <= snapshot.layer_index < len(snapshot.layers):
        layer = snapshot.layers[snapshot.layer_index]
        phase += f", layer {layer.index} ({layer.label})"
    texts.update(step=f"step {snapshot.step}", epoch=f"epoch {snapshot.epoch}",
                 loss="batch loss –" if snapshot.batch_loss is None else f"batch loss {snapshot.batch_loss:.4f}",
                 speed=f"{snapshot.images_per_second:,.0f} images/s", phase=phase)
    return texts


class StatusBar(QStatusBar):
    """``show_state(snapshot, state, fps)`` writes the fields; ``fields`` maps a field's name
    (state, step, epoch, loss, speed, fps, phase) to its label. clock: monotonic seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # as QMainWindow.statusBar() makes its own: the fields never set the window's minimum width
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.clock = clock
        self._shown_at = float("-inf")   # when the fields were last refreshed
        self._shown_key = None           # the (state, phase) they showed then
        self.fields: dict[str, QLabel] = {}
        for name in ("state", "step", "epoch", "loss", "speed", "fps", "phase"):
            label = QLabel("")
            label.setToolTip(TIPS[name])
            label.setContentsMargins(6, 0, 6, 0)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            self.addPermanentWidget(label)
            self.fields[name] = label
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.setFont(font)
        self.sizer = StatusFieldSizer({n: self.fields[n] for n in STATUS_TEMPLATES}, STATUS_TEMPLATES, self)

    def show_state(self, snapshot, state: str, fps: float, force: bool = False) -> bool:
        """Show ``snapshot`` and ``state`` in the fields: while training live at most
        ``STATUS_MAX_HZ`` times a second; a state change, a step, or ``force`` at once.
        True when the fields were refreshed (the window refreshes its other words with them)."""
        key = (state, None if snapshot is None else snapshot.phase)
        now = self.clock()
        live = key == ("playing", "training")
        if live and not force and key == self._shown_key and now - self._shown_at < 1.0 / STATUS_MAX_HZ:
            return False
        self._shown_at, self._shown_key = now, key
        for name, text in status_texts(snapshot, state, fps).items():
            label = self.fields[name]
            if label.text() != text:   # an unchanged text must not cost a repaint
                label.setText(text)
                if name in STATUS_TEMPLATES:
                    self.sizer.fit(label, name)
        return True

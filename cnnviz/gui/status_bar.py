"""The main window's status bar: state, step, epoch, loss, images/s, panel frames/s, phase.

Mixed into MainWindow (it reads ``self.latest``, ``self.controller`` and ``self.panel_fps()``).
While training live the numbers change 30 times a second but are shown at most STATUS_MAX_HZ
times; each field has a fixed size, so a new text costs a repaint of that label only, not a layout
of the whole bar.
"""

from __future__ import annotations

import time

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtWidgets import QLabel

# The status bar's numbers while training live: 4 a second is as fast as anyone reads them, and each
# change costs a repaint on the GUI thread, which shares the GIL with training. States and steps
# show at once.
STATUS_MAX_HZ = 4.0
# The widest text each status field usually shows: its fixed width, so a changing digit never makes
# the bar lay itself out again (a longer text, e.g. a millionth step, widens the field once).
STATUS_TEMPLATES = {"state": "stepping", "step": "step 000000", "epoch": "epoch 00", "loss": "batch loss 00.0000",
                    "speed": "00,000 images/s", "fps": "00 frames/s"}


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


class StatusBarMixin:
    def _build_status_bar(self) -> None:
        self._status_at = float("-inf")   # when the status fields were last refreshed
        self._status_key = None           # (state, phase) they showed then
        bar = self.statusBar()
        self.status_fields: dict[str, QLabel] = {}
        tips = {"state": "What the trainer is doing", "step": "Optimizer updates applied so far",
                "epoch": "Passes over the training set", "loss": "Loss of the last batch the trainer ran (mean over its images); not the probe image's loss",
                "speed": "Training images per second", "fps": "Panel redraws per second",
                "phase": "The step that just ran and its layer"}
        for name in ("state", "step", "epoch", "loss", "speed", "fps", "phase"):
            label = QLabel("")
            label.setToolTip(tips[name])
            label.setContentsMargins(6, 0, 6, 0)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            bar.addPermanentWidget(label)
            self.status_fields[name] = label
        font = bar.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        bar.setFont(font)
        self.status_sizer = StatusFieldSizer({n: self.status_fields[n] for n in STATUS_TEMPLATES},
                                             STATUS_TEMPLATES, self)
        self._update_status()

    def _update_status(self, force: bool = False) -> bool:
        """Show the newest snapshot in the status fields: while training live at most
        ``STATUS_MAX_HZ`` times a second; a state change, a step, or ``force`` at once.
        True when the fields were refreshed (the window refreshes its other words with them)."""
        snap, state = self.latest, str(getattr(self.controller, "state", ""))
        key = (state, None if snap is None else snap.phase)
        now = time.monotonic()
        live = key == ("playing", "training")
        if live and not force and key == self._status_key and now - self._status_at < 1.0 / STATUS_MAX_HZ:
            return False
        self._status_at, self._status_key = now, key
        for name, text in self._status_texts(snap, state).items():
            label = self.status_fields[name]
            if label.text() != text:   # an unchanged text must not cost a repaint
                label.setText(text)
                if self.status_sizer is not None and name in STATUS_TEMPLATES:
                    self.status_sizer.fit(label, name)
        return True

    def _status_texts(self, snap, state: str) -> dict[str, str]:
        texts = {"state": state, "fps": f"{self.panel_fps():.0f} frames/s"}
        if snap is None:
            texts["phase"] = "waiting for the network"   # as the panels say; the strip says why
            return texts
        phase = snap.phase
        if snap.layer_index is not None and 0 <= snap.layer_index < len(snap.layers):
            layer = snap.layers[snap.layer_index]
            phase += f", layer {layer.index} ({layer.label})"
        texts.update(step=f"step {snap.step}", epoch=f"epoch {snap.epoch}",
                     loss="batch loss –" if snap.batch_loss is None else f"batch loss {snap.batch_loss:.4f}",
                     speed=f"{snap.images_per_second:,.0f} images/s", phase=phase)
        return texts

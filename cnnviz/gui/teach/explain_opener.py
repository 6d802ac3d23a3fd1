"""One "explain" window for the whole program, opened by the panels' clicks and kept up to date.

The window wires it in with two connections per panel::

    opener = ExplainOpener(window, latest=lambda: window.latest)
    panel.unit_clicked.connect(opener.explain_unit)       # FeatureMaps, Pooling, Gradients panels
    panel.weight_clicked.connect(opener.explain_weight)   # Kernels, Gradients panels
    ... and on every new snapshot: opener.refresh(snapshot)

A click re-targets the open dialog instead of stacking new ones. ``refresh`` redraws it for a newer
snapshot at once in step mode (every step matters) and at most every ``live_interval`` seconds while
training runs (a redraw costs ~0.1 s, which the panels need more).
"""

from __future__ import annotations

import time
from typing import Callable

from PyQt6 import QtCore

from cnnviz.gui import theme
from cnnviz.gui.teach.explain_dialog import ExplainUnitDialog
from cnnviz.gui.teach.explain_weight import ExplainWeightDialog

LIVE_PHASES = ("training", "idle")


class ExplainOpener(QtCore.QObject):
    """Owns at most one ExplainUnitDialog and one ExplainWeightDialog (children of ``parent``).

    latest: returns the newest Snapshot (or None). model_factory: passed to the dialogs for the
    finite-difference check (default: rebuild the snapshot's preset with its weights)."""

    def __init__(self, parent, latest: Callable, model_factory: Callable | None = None,
                 live_interval: float = 1.0):
        super().__init__(parent)
        self.parent_widget = parent
        self.latest = latest
        self.model_factory = model_factory
        self.live_interval = float(live_interval)
        self.unit_dialog: ExplainUnitDialog | None = None
        self.weight_dialog: ExplainWeightDialog | None = None
        self._target: tuple | None = None      # ("unit", layer, c, y, x) or ("weight", layer, out, c, i, j)
        self._drawn_at = 0.0
        self.theme = theme.DEFAULT

    def explain_unit(self, layer: int, channel: int, y: int, x: int) -> None:
        snapshot = self.latest()
        if snapshot is None:
            return
        if self.unit_dialog is None:
            self.unit_dialog = ExplainUnitDialog(snapshot, layer, channel, y, x, self.model_factory,
                                                 parent=self.parent_widget, look=self.theme)
        else:
            self.unit_dialog.show_unit(snapshot, layer, channel, y, x)
        self._target = ("unit", layer, channel, y, x)
        self._raise(self.unit_dialog)

    def explain_weight(self, layer: int, out: int, channel: int, i: int, j: int) -> None:
        snapshot = self.latest()
        if snapshot is None:
            return
        if self.weight_dialog is None:
            self.weight_dialog = ExplainWeightDialog(snapshot, layer, out, channel, i, j, self.model_factory,
                                                     parent=self.parent_widget, look=self.theme)
        else:
            self.weight_dialog.show_weight(snapshot, layer, out, channel, i, j)
        self._target = ("weight", layer, out, channel, i, j)
        self._raise(self.weight_dialog)

    def _raise(self, dialog) -> None:
        self._drawn_at = time.monotonic()
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def apply_theme(self, look: theme.Theme) -> None:
        """The dialogs' palette (now and for those opened later); ``refresh(..., force=True)`` redraws."""
        self.theme = look
        for dialog in (self.unit_dialog, self.weight_dialog):
            if dialog is not None:
                dialog.apply_theme(look)

    def refresh(self, snapshot, force: bool = False) -> bool:
        """Redraw the visible dialog(s) for ``snapshot``; returns True when something was redrawn.
        While training, at most every ``live_interval`` seconds unless ``force``. A target that no
        longer exists (another preset was chosen) closes its dialog."""
        now = time.monotonic()
        if not force and snapshot.phase in LIVE_PHASES and now - self._drawn_at < self.live_interval:
            return False
        redrawn = False
        for dialog in (self.unit_dialog, self.weight_dialog):
            if dialog is None or not dialog.isVisible():
                continue
            if not self._still_fits(dialog, snapshot):
                dialog.hide()
                continue
            if isinstance(dialog, ExplainWeightDialog):
                dialog.show_weight(snapshot, dialog.z_state.index, *dialog.weight)
            else:
                dialog.show_unit(snapshot, dialog.z_state.index, *dialog.unit)
            redrawn = True
        if redrawn:
            self._drawn_at = now
        return redrawn

    @staticmethod
    def _still_fits(dialog, snapshot) -> bool:
        """Same layer kind and shapes as the dialog's current target."""
        index = dialog.z_state.index
        if index >= len(snapshot.layers):
            return False
        new = snapshot.layers[index]
        return (new.kind == dialog.z_state.kind and new.output_shape == dialog.z_state.output_shape
                and new.input_shape == dialog.z_state.input_shape)

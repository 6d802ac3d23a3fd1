"""Exports: what File > Export writes. Every export is a plain method taking a path (tests call
those); ``ask`` puts a file dialog in front. A failed export (ExportError, OSError) is one sentence
for the message bar, never a crash, and never damages an existing file (the writers write a temp
file and rename it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PyQt6.QtWidgets import QFileDialog, QWidget

from cnnviz.gui.teach.export import (ExportError, export_curves_csv, export_plot_svg, export_snapshot_npz,
                                     export_widget_png, export_widget_svg, export_window_png)

FILTERS = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)", "npz": "NumPy arrays (*.npz)",
           "csv": "CSV table (*.csv)"}


def with_suffix(path, suffix: str) -> Path:
    path = Path(path)
    return path if path.suffix.lower() == f".{suffix}" else path.with_name(path.name + f".{suffix}")


def slug(title: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in title.lower()).strip("-")


class Exports:
    """window: the whole window (and the file dialogs' parent); widget(title) -> a dock's widget
    (KeyError: no such dock); shown() -> the snapshot the panels show; latest() -> the newest;
    report(kind, sentence): kind "info" or "error"."""

    def __init__(self, window: QWidget, widget: Callable[[str], QWidget], shown: Callable, latest: Callable,
                 report: Callable[[str, str], None]) -> None:
        self.window, self.widget, self.shown, self.latest, self.report = window, widget, shown, latest, report

    def ask(self, fmt: str, name: str, export: Callable[[Path], object]) -> None:
        """Ask where to save (suggesting ``name``.fmt), then ``export(path)``."""
        path, _ = QFileDialog.getSaveFileName(self.window, "Export", f"{name}.{fmt}", FILTERS[fmt])
        if path:
            export(with_suffix(path, fmt))

    def _write(self, what: str, write, path) -> Path | None:
        try:
            written = write(path)
        except (ExportError, OSError) as exc:
            self.report("error", f"Could not export {what}: {exc}")
            return None
        self.report("info", f"Saved {what} to {written}.")
        return Path(written)

    def panel(self, title: str, path, fmt: str = "png") -> Path | None:
        """One dock's content as PNG or SVG (fmt "png" or "svg")."""
        try:
            widget = self.widget(title)
        except KeyError:
            self.report("error", f"Could not export: there is no panel called {title!r}.")
            return None
        if fmt == "svg":
            canvas = getattr(widget, "canvas", None)
            write = (lambda p: export_plot_svg(widget, p)) if canvas is not None else (lambda p: export_widget_svg(widget, p))
        else:
            write = lambda p: export_widget_png(widget, p)   # noqa: E731
        return self._write(f"the {title} panel", write, path)

    def whole_window(self, path) -> Path | None:
        return self._write("the window", lambda p: export_window_png(self.window, p), path)

    def snapshot(self, path) -> Path | None:
        snap = self.shown()
        if snap is None:
            self.report("error", "Could not export the snapshot: there is none yet (wait for the network to load).")
            return None
        return self._write(f"the arrays of step {snap.step}", lambda p: export_snapshot_npz(snap, p), path)

    def curves(self, path) -> Path | None:
        snap = self.latest()
        if snap is None or not snap.curves:
            self.report("error", "Could not export the curves: there are none yet (train a few batches first).")
            return None
        return self._write("the curves", lambda p: export_curves_csv(snap.curves, p), path)

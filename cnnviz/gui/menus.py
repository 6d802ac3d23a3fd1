"""The window's menus (File with Export, Run, View, Help), its status bar, the exports behind the
File > Export menu and the Help > Keys list.

``MenusMixin`` is part of MainWindow. Every export has a plain method taking a path (tests call
those); the menu asks for the path with a QFileDialog first. A failed export (ExportError, OSError)
is one sentence in the message bar, never a crash, and never damages an existing file (the writers
write a temp file and rename it).
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QLabel, QTableWidget,
                             QTableWidgetItem, QVBoxLayout)

from cnnviz.gui.teach.export import (ExportError, export_curves_csv, export_plot_svg, export_snapshot_npz,
                                     export_widget_png, export_widget_svg, export_window_png)

# What a stepping walk runs: the stepper's walk size (the toolbar's Walk box), 1 image unless changed.
WALK_NOTE = ("Forward, Backward and Update walk the images set in the toolbar's Walk box (1 image "
             "unless you change it) a layer at a time; B trains one whole batch.")
# keys of the teaching windows, which work while that window or dock has the focus (click it first)
LOCAL_KEYS = (("Arrows, Page Up/Down", "Explain window: the neighbouring unit, the next or previous channel"),
              ("Space, Right, Home", "Convolution animation (click it first): play/pause, one position, restart"),
              ("C", "Draw a digit (click it first): clear the drawing"))
FILTERS = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)", "npz": "NumPy arrays (*.npz)",
           "csv": "CSV table (*.csv)"}


def with_suffix(path, suffix: str) -> Path:
    path = Path(path)
    return path if path.suffix.lower() == f".{suffix}" else path.with_name(path.name + f".{suffix}")


def slug(title: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in title.lower()).strip("-")


class MenusMixin:
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = QAction("&Open checkpoint…", self, shortcut=QKeySequence("Ctrl+O"),
                                   toolTip="Load weights and settings from a .npz checkpoint",
                                   triggered=self._ask_open_checkpoint)
        self.save_action = QAction("&Save checkpoint…", self, shortcut=QKeySequence("Ctrl+S"),
                                   toolTip="Save the weights, optimizer state and step to a .npz file",
                                   triggered=self._ask_save_checkpoint)
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.save_action)
        file_menu.addSeparator()
        self._build_export_menu(file_menu.addMenu("&Export"))
        file_menu.addSeparator()
        file_menu.addAction(QAction("&Quit", self, shortcut=QKeySequence("Ctrl+Q"), triggered=self.close))

        run_menu = bar.addMenu("&Run")
        for action in self.run_bar.actions_by_name.values():
            run_menu.addAction(action)
        run_menu.addSeparator()
        for action in self.timeline_bar.actions_by_name.values():
            run_menu.addAction(action)

        view_menu = bar.addMenu("&View")
        self.view_actions: dict[str, QAction] = {}
        for title in self.docks:
            action = QAction(title, self, checkable=True, checked=self.dock_open(title))
            action.setToolTip(f"Show or hide the {title} panel")
            action.toggled.connect(lambda on, t=title: self.show_dock(t, on))
            view_menu.addAction(action)
            self.view_actions[title] = action
        view_menu.addSeparator()
        for toolbar in self.toolbars():
            view_menu.addAction(toolbar.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction(self.lecture_action)
        view_menu.addAction(self.colour_blind_action)
        view_menu.addAction(self.full_screen_action)
        view_menu.addSeparator()
        self.reset_layout_action = QAction("Reset layout", self, triggered=self.reset_layout,
                                           toolTip="Put every panel back where it was at first start")
        view_menu.addAction(self.reset_layout_action)

        help_menu = bar.addMenu("&Help")
        self.keys_action = QAction("&Keys…", self, shortcut=QKeySequence("F1"), triggered=self.show_keys,
                                   toolTip="Every keyboard shortcut of the window")
        help_menu.addAction(self.keys_action)
        self.addAction(self.keys_action)
        for menu in (file_menu, run_menu, view_menu, help_menu):
            menu.setToolTipsVisible(True)

    def _build_export_menu(self, menu) -> None:
        menu.setToolTipsVisible(True)
        for fmt in ("png", "svg"):
            sub = menu.addMenu(f"Panel as {fmt.upper()}")
            sub.aboutToShow.connect(lambda s=sub, f=fmt: self._fill_panel_menu(s, f))
        self.export_window_action = QAction("Whole window as PNG…", self, shortcut=QKeySequence("Ctrl+Shift+P"),
                                            triggered=lambda: self._ask_path("png", "cnnviz-window", self.export_window))
        self.export_npz_action = QAction("Snapshot arrays (.npz)…", self, shortcut=QKeySequence("Ctrl+Shift+E"),
                                         toolTip="Every array of the snapshot shown (weights, maps, gradients)",
                                         triggered=lambda: self._ask_path("npz", "cnnviz-snapshot", self.export_snapshot))
        self.export_csv_action = QAction("Curves (.csv)…", self, shortcut=QKeySequence("Ctrl+Shift+C"),
                                         toolTip="Loss and accuracy curves, one point per row",
                                         triggered=lambda: self._ask_path("csv", "cnnviz-curves", self.export_curves))
        for action in (self.export_window_action, self.export_npz_action, self.export_csv_action):
            menu.addAction(action)
            self.addAction(action)

    def _fill_panel_menu(self, menu, fmt: str) -> None:
        menu.clear()
        for title in self.docks:
            action = menu.addAction(title, lambda t=title: self._ask_path(
                fmt, f"cnnviz-{slug(t)}", lambda path: self.export_panel(t, path, fmt)))
            action.setEnabled(self.dock_open(title))

    def _ask_path(self, fmt: str, name: str, export) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export", f"{name}.{fmt}", FILTERS[fmt])
        if path:
            export(with_suffix(path, fmt))

    # -- the exports (plain methods: tests call these) ----------------------------------------
    def _export(self, what: str, write, path) -> Path | None:
        try:
            written = write(path)
        except (ExportError, OSError) as exc:
            self.show_error(f"Could not export {what}: {exc}")
            return None
        self.show_info(f"Saved {what} to {written}.")
        return Path(written)

    def export_panel(self, title: str, path, fmt: str = "png") -> Path | None:
        """One dock's content as PNG or SVG (fmt "png" or "svg")."""
        if title not in self.docks:
            self.show_error(f"Could not export: there is no panel called {title!r}.")
            return None
        widget = self.dock_widgets[title]
        if fmt == "svg":
            canvas = getattr(widget, "canvas", None)
            write = (lambda p: export_plot_svg(widget, p)) if canvas is not None else (lambda p: export_widget_svg(widget, p))
        else:
            write = lambda p: export_widget_png(widget, p)   # noqa: E731
        return self._export(f"the {title} panel", write, path)

    def export_window(self, path) -> Path | None:
        return self._export("the window", lambda p: export_window_png(self, p), path)

    def export_snapshot(self, path) -> Path | None:
        snap = self.shown_snapshot()
        if snap is None:
            self.show_error("Could not export the snapshot: there is none yet (wait for the network to load).")
            return None
        return self._export(f"the arrays of step {snap.step}", lambda p: export_snapshot_npz(snap, p), path)

    def export_curves(self, path) -> Path | None:
        snap = self.latest
        if snap is None or not snap.curves:
            self.show_error("Could not export the curves: there are none yet (train a few batches first).")
            return None
        return self._export("the curves", lambda p: export_curves_csv(snap.curves, p), path)

    # -- help -----------------------------------------------------------------------------------
    def key_list(self) -> list[tuple[str, str]]:
        """(keys, what they do) for every action of the window that has a shortcut."""
        rows, seen = [], set()
        for action in self.findChildren(QAction):
            keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
            text = action.text().replace("&", "").rstrip("…")
            tip = action.toolTip().replace("&", "").rstrip("…")
            if keys and (keys, text) not in seen:
                seen.add((keys, text))
                rows.append((keys, text + (f": {tip}" if tip and tip != text else "")))
        return sorted(rows, key=lambda r: r[1].lower()) + list(LOCAL_KEYS)

    def show_keys(self) -> QDialog:
        dialog = QDialog(self)
        dialog.setWindowTitle("cnnviz keys")
        table = QTableWidget(0, 2)
        table.setHorizontalHeaderLabels(["Keys", "What it does"])
        for keys, text in self.key_list():
            row = table.rowCount()
            table.insertRow(row)
            table.setItem(row, 0, QTableWidgetItem(keys))
            table.setItem(row, 1, QTableWidgetItem(text))
        table.verticalHeader().hide()
        table.resizeColumnToContents(0)
        table.horizontalHeader().setStretchLastSection(True)
        table.setWordWrap(True)
        table.resizeRowsToContents()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        intro = QLabel("Every key works from anywhere in the window (Esc hands the keys back from a box "
                       f"you typed in). {WALK_NOTE}")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(table)
        layout.addWidget(buttons)
        dialog.resize(int(900 * self.lecture.scale), int(700 * self.lecture.scale))
        self.keys_dialog = dialog
        dialog.show()
        return dialog

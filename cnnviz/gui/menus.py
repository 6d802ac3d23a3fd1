"""The window's menu bar (File with Export, Run, View, Help) and the Help > Keys list, built from the
callbacks and actions the window hands over: the menus know nothing of the window's insides.
"""

from __future__ import annotations

from typing import Callable

from PyQt6.QtCore import QObject
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QMainWindow, QMenu, QTableWidget,
                             QTableWidgetItem, QVBoxLayout, QWidget)

from cnnviz.gui.exports import Exports, slug

# What a stepping walk runs: the stepper's walk size (the toolbar's Walk box), 1 image unless changed.
WALK_NOTE = ("Forward, Backward and Update walk the images set in the toolbar's Walk box (1 image "
             "unless you change it) a layer at a time; B trains one whole batch.")
# keys of the teaching windows, which work while that window or dock has the focus (click it first)
LOCAL_KEYS = (("Arrows, Page Up/Down", "Explain window: the neighbouring unit, the next or previous channel"),
              ("Space, Right, Home", "Convolution animation (click it first): play/pause, one position, restart"),
              ("C", "Draw a digit (click it first): clear the drawing"))


def key_list(root: QWidget) -> list[tuple[str, str]]:
    """(keys, what they do) for every action under ``root`` that has a shortcut, then the keys of
    the teaching windows."""
    rows, seen = [], set()
    for action in root.findChildren(QAction):
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        text = action.text().replace("&", "").rstrip("…")
        tip = action.toolTip().replace("&", "").rstrip("…")
        if keys and (keys, text) not in seen:
            seen.add((keys, text))
            rows.append((keys, text + (f": {tip}" if tip and tip != text else "")))
    return sorted(rows, key=lambda r: r[1].lower()) + list(LOCAL_KEYS)


def keys_dialog(root: QWidget, scale: float = 1.0) -> QDialog:
    """The Help > Keys table (not shown yet), sized for text ``scale`` times its normal size."""
    dialog = QDialog(root)
    dialog.setWindowTitle("cnnviz keys")
    table = QTableWidget(0, 2)
    table.setHorizontalHeaderLabels(["Keys", "What it does"])
    for keys, text in key_list(root):
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
    dialog.resize(int(900 * scale), int(700 * scale))
    return dialog


class Menus(QObject):
    """Builds the menu bar of ``window``.

    docks() -> the dock titles in menu order; is_open(title) / show_dock(title, on): a dock's View
    entry; run_actions, timeline_actions: the Run menu; toolbars: their View entries; view_actions:
    lecture mode and the like, at the end of View; open_checkpoint / save_checkpoint / reset_layout:
    menu commands (no arguments; they ask for paths themselves); exports: File > Export; scale() ->
    the text scale the Keys dialog is made for. ``view_actions`` (title -> checkable QAction) follow
    ``dock_changed``."""

    def __init__(self, window: QMainWindow, *, docks: Callable[[], list], is_open: Callable[[str], bool],
                 show_dock: Callable[[str, bool], None], run_actions, timeline_actions, toolbars,
                 view_actions, open_checkpoint: Callable[[], None], save_checkpoint: Callable[[], None],
                 reset_layout: Callable[[], None], exports: Exports, scale: Callable[[], float]) -> None:
        super().__init__(window)
        self.window, self.docks, self.is_open, self.exports, self.scale = window, docks, is_open, exports, scale
        self.keys_dialog: QDialog | None = None
        bar = window.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = self._action("&Open checkpoint…", open_checkpoint, "Ctrl+O",
                                        "Load weights and settings from a .npz checkpoint")
        self.save_action = self._action("&Save checkpoint…", save_checkpoint, "Ctrl+S",
                                        "Save the weights, optimizer state and step to a .npz file")
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.save_action)
        file_menu.addSeparator()
        self._build_export_menu(file_menu.addMenu("&Export"))
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", window.close, "Ctrl+Q"))

        run_menu = bar.addMenu("&Run")
        for action in run_actions:
            run_menu.addAction(action)
        run_menu.addSeparator()
        for action in timeline_actions:
            run_menu.addAction(action)

        view_menu = bar.addMenu("&View")
        self.view_actions: dict[str, QAction] = {}
        for title in docks():
            action = QAction(title, window, checkable=True, checked=is_open(title))
            action.setToolTip(f"Show or hide the {title} panel")
            action.toggled.connect(lambda on, t=title: show_dock(t, on))
            view_menu.addAction(action)
            self.view_actions[title] = action
        view_menu.addSeparator()
        for toolbar in toolbars:
            view_menu.addAction(toolbar.toggleViewAction())
        view_menu.addSeparator()
        for action in view_actions:
            view_menu.addAction(action)
        view_menu.addSeparator()
        self.reset_layout_action = self._action("Reset layout", reset_layout,
                                                tip="Put every panel back where it was at first start")
        view_menu.addAction(self.reset_layout_action)

        help_menu = bar.addMenu("&Help")
        self.keys_action = self._action("&Keys…", self.show_keys, "F1", "Every keyboard shortcut of the window")
        help_menu.addAction(self.keys_action)
        window.addAction(self.keys_action)
        for menu in (file_menu, run_menu, view_menu, help_menu):
            menu.setToolTipsVisible(True)

    def _action(self, text: str, slot, key: str | None = None, tip: str | None = None) -> QAction:
        action = QAction(text, self.window, triggered=lambda _checked=False: slot())
        if key:
            action.setShortcut(QKeySequence(key))
        if tip:
            action.setToolTip(tip)
        return action

    def _build_export_menu(self, menu: QMenu) -> None:
        menu.setToolTipsVisible(True)
        for fmt in ("png", "svg"):
            sub = menu.addMenu(f"Panel as {fmt.upper()}")
            sub.aboutToShow.connect(lambda s=sub, f=fmt: self.fill_panel_menu(s, f))
        exports = self.exports
        self.export_window_action = self._action(
            "Whole window as PNG…", lambda: exports.ask("png", "cnnviz-window", exports.whole_window), "Ctrl+Shift+P")
        self.export_npz_action = self._action(
            "Snapshot arrays (.npz)…", lambda: exports.ask("npz", "cnnviz-snapshot", exports.snapshot), "Ctrl+Shift+E",
            "Every array of the snapshot shown (weights, maps, gradients)")
        self.export_csv_action = self._action(
            "Curves (.csv)…", lambda: exports.ask("csv", "cnnviz-curves", exports.curves), "Ctrl+Shift+C",
            "Loss and accuracy curves, one point per row")
        for action in (self.export_window_action, self.export_npz_action, self.export_csv_action):
            menu.addAction(action)
            self.window.addAction(action)

    def fill_panel_menu(self, menu: QMenu, fmt: str) -> None:
        """One entry per dock (the closed ones greyed) that exports it as ``fmt``."""
        menu.clear()
        for title in self.docks():
            action = menu.addAction(title, lambda t=title: self.exports.ask(
                fmt, f"cnnviz-{slug(t)}", lambda path: self.exports.panel(t, path, fmt)))
            action.setEnabled(self.is_open(title))

    def dock_changed(self, title: str, is_open: bool) -> None:
        """A dock opened or closed elsewhere (its ✕, a layout restore): its View entry follows."""
        action = self.view_actions.get(title)
        if action is not None:
            action.blockSignals(True)
            action.setChecked(is_open)
            action.blockSignals(False)

    def show_keys(self) -> QDialog:
        """Help > Keys: every shortcut, in a dialog kept in ``keys_dialog``."""
        self.keys_dialog = keys_dialog(self.window, self.scale())
        self.keys_dialog.show()
        return self.keys_dialog

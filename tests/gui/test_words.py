"""Words on screen that must be true: the Keys dialog describes what a stepping walk runs."""

from __future__ import annotations

from PyQt6.QtWidgets import QLabel, QTableWidget

from cnnviz.gui.menus import key_list


def test_keys_dialog_says_a_walk_runs_the_walk_boxs_images_not_a_batch(window):
    rows = dict(key_list(window))
    stepping = {keys: text for keys, text in rows.items() if keys in ("Space", "Right", "Left", "U")}
    assert stepping and not any("walk one batch" in text or "current batch" in text for text in stepping.values())
    dialog = window.menus.show_keys()
    try:
        intro = dialog.findChild(QLabel).text()
        assert "Walk box" in intro and "1 image" in intro and "B trains one whole batch" in intro
        table = dialog.findChild(QTableWidget)
        shown = [table.item(r, 1).text() for r in range(table.rowCount())]
        assert not any("walk one batch" in text for text in shown)
    finally:
        dialog.close()

"""``run_gui``: what ``python main.py [options]`` opens (the command line's window options)."""

from __future__ import annotations

import argparse
import os

from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QApplication

import cnnviz.gui.app as app_module
from cnnviz.gui.main_window import MainWindow


class LookingApp:
    """Stands in for the QApplication in run_gui: its exec() runs Qt (through qtbot) until the
    window trains, notes what it shows, closes it and returns. The real app.exec() and quit()
    would end the test session's shared event loop for every later test."""

    def __init__(self, qtbot) -> None:
        self.qtbot, self.seen = qtbot, {}

    def exec(self) -> int:
        def window():
            shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
            return shown[0] if shown else None

        self.qtbot.waitUntil(lambda: window() is not None and window().latest is not None
                             and window().latest.phase == "training", timeout=30_000)
        shown = window()
        self.seen.update(lecture=shown.lecture.enabled, preset=shown.latest.preset,
                         state=shown.controller.state,
                         in_a_child_process=shown.controller.worker_pid not in (None, os.getpid()))
        shown.close()
        return 0


def test_window_opens_in_lecture_mode_training_the_chosen_preset(qtbot, tmp_path, monkeypatch):
    # a throw-away settings file: the user's remembered layout is neither read nor changed
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    looking = LookingApp(qtbot)
    real_application = app_module.application
    monkeypatch.setattr(app_module, "application", lambda: real_application() and looking)
    args = argparse.Namespace(data="digits", preset="tiny", lr=None, batch_size=None, optimizer=None, seed=None,
                              play=True, lecture=True)
    assert app_module.run_gui(args) == 0
    assert looking.seen == {"lecture": True, "preset": "tiny", "state": "playing", "in_a_child_process": True}

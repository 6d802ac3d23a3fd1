"""``run_gui``: what ``python main.py [options]`` opens (the command line's window options)."""

from __future__ import annotations

import argparse

from PyQt6.QtCore import QSettings, QTimer
from PyQt6.QtWidgets import QApplication

from cnnviz.gui.app import run_gui
from cnnviz.gui.main_window import MainWindow


def test_window_opens_in_lecture_mode_training_the_chosen_preset(qtbot, tmp_path, monkeypatch):
    # a throw-away settings file: the user's remembered layout is neither read nor changed
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    seen, tries = {}, iter(range(600))   # 30 s at most

    def look_then_close():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        training = windows and windows[0].latest is not None and windows[0].latest.phase == "training"
        if not training and next(tries, None) is not None:
            QTimer.singleShot(50, look_then_close)   # not training yet: look again
            return
        if not windows:
            QApplication.instance().quit()
            return
        window = windows[0]
        seen.update(lecture=window.lecture.enabled, preset=window.latest.preset,
                    state=window.controller.state, worker=window.controller.worker)
        window.close()
        QApplication.instance().quit()

    QTimer.singleShot(50, look_then_close)
    args = argparse.Namespace(data="digits", preset="tiny", lr=None, batch_size=None, optimizer=None, seed=None,
                              worker=None, play=True, lecture=True)
    assert run_gui(args) == 0
    assert seen == {"lecture": True, "preset": "tiny", "state": "playing", "worker": "process"}

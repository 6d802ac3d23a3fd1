"""Start the window: ``run_gui(args)`` is what ``python main.py`` (no command) calls."""

from __future__ import annotations

import sys

from PyQt6.QtWidgets import QApplication

from cnnviz.nn.defaults import DEFAULTS as TRAINING

DEFAULTS = {"data": "digits", "preset": "seed", "lr": TRAINING.lr, "batch_size": TRAINING.batch_size,
            "optimizer": TRAINING.optimizer, "seed": 0}


def application() -> QApplication:
    """The one QApplication (made on first use), with the shared pyqtgraph look applied."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("cnnviz")
    app.setApplicationName("cnnviz")
    try:
        import cnnviz.gui.theme  # noqa: F401  (sets pyqtgraph's global options on import)
    except ImportError:
        pass
    return app


def option(args, name: str):
    """``args.name`` when the command line gave it, else the default (args may be None)."""
    value = getattr(args, name, None) if args is not None else None
    return DEFAULTS[name] if value is None else value


def make_controller(args=None, parent=None):
    """A replay of ``args.open`` (a run file), else the real training session."""
    if getattr(args, "open", None):
        from cnnviz.gui.replay import ReplayController

        return ReplayController(args.open, compare=getattr(args, "compare", None), parent=parent)
    from cnnviz.gui.worker import SessionController

    return SessionController(dataset=option(args, "data"), preset=option(args, "preset"), lr=option(args, "lr"),
                             batch_size=option(args, "batch_size"), optimizer=option(args, "optimizer"),
                             seed=option(args, "seed"), parent=parent)


def run_gui(args=None) -> int:
    """Open the window training on ``args.data`` (default the built-in digits); returns the exit
    status. args: an argparse Namespace; data, preset, lr, batch_size, optimizer, seed are read when
    present. The training process is stopped and joined when the window closes."""
    from cnnviz.gui import replay
    from cnnviz.gui.main_window import MainWindow

    app = application()
    controller = make_controller(args)
    window = MainWindow(controller)
    replay.install(window)
    window.settings_bar.set_values(dataset=option(args, "data"), preset=option(args, "preset"),
                                   lr=option(args, "lr"), batch_size=option(args, "batch_size"),
                                   optimizer=option(args, "optimizer"))
    controller.start()
    window.show()
    if getattr(args, "lecture", False):
        window.set_lecture_mode(True)
    if getattr(args, "play", False):
        controller.send("play")
    status = app.exec()
    replay.autosave(window)   # closing the window loses nothing of the run (the cache's last.cnnviz)
    window.stop_controller()
    return status

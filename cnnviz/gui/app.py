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

    # with --paper-settings, what the user did not give comes from PAPER_SETTINGS (the Trainer's choice)
    given = (lambda name: getattr(args, name, None)) if getattr(args, "paper_settings", False) else (
        lambda name: option(args, name))
    return SessionController(dataset=option(args, "data"), preset=option(args, "preset"), lr=given("lr"),
                             batch_size=given("batch_size"), optimizer=given("optimizer"),
                             seed=option(args, "seed"), parent=parent, trainer_options=trainer_options(args))


def trainer_options(args) -> dict | None:
    """--schedule and --paper-settings as the Trainer's keywords (None when neither was given)."""
    options = {}
    if getattr(args, "paper_settings", False):
        options["paper_settings"] = True
    if getattr(args, "schedule", None):
        options["schedule"] = args.schedule
    return options or None


def show_layer_when_ready(window, layer: int) -> None:
    """Select ``layer`` once the first snapshot has arrived (it picks the first conv layer itself)."""
    from PyQt6.QtCore import QTimer

    timer = QTimer(window)

    def check() -> None:
        if window.latest is not None:
            timer.stop()
            window.select_layer(layer)

    timer.timeout.connect(check)
    timer.start(100)


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
    paper = getattr(args, "paper_settings", False)   # then the first snapshot shows the paper's values
    window.settings_bar.set_values(dataset=option(args, "data"), preset=option(args, "preset"),
                                   lr=None if paper else option(args, "lr"),
                                   batch_size=None if paper else option(args, "batch_size"),
                                   optimizer=None if paper else option(args, "optimizer"))
    controller.start()
    probe = getattr(args, "probe", None)
    if isinstance(probe, str):
        controller.send(f"probe_{probe}")
    elif probe is not None:
        controller.send("set_probe", index=probe)
    layer = getattr(args, "layer", None)
    if layer is not None:
        show_layer_when_ready(window, layer)
    window.show()
    if getattr(args, "lecture", False):
        window.set_lecture_mode(True)
    if getattr(args, "play", False):
        controller.send("play")
    status = app.exec()
    replay.autosave(window)   # closing the window loses nothing of the run (the cache's last.cnnviz)
    window.stop_controller()
    return status

"""Replaying a recorded run (``python main.py --open RUN.cnnviz``): a third ``Controller``.

Nothing trains. ``take()`` hands over the recorded point the replay stands at; ``timeline()`` is every
recorded point, so the timeline bar scrubs through the run as through a live one, and the explain
windows recompute from each snapshot's stored weights. Play walks through the points at ``speed``
points a second; → and ← (step_forward / step_back) go one point on or back, and inside a recorded
walk one layer step; PageDown / PageUp (``jump_bookmark``) go to the next or previous bookmark and show
its caption. Commands that would train (learning rate, reset, a checkpoint) are refused with one
sentence: branch the run with ``python main.py train --from RUN@STEP`` instead.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from cnnviz.errors import CnnvizError
from cnnviz.runs import Bookmark, Run, open_run, save_run

BOOKMARK = "Bookmark · "   # a snapshot whose message starts so shows it as lecture mode's caption
FORWARD_COMMANDS = ("step_forward", "step_batch")   # →, B: one point (or walk step) on
BACK_COMMANDS = ("step_backward", "step_back")      # ←, Backspace: one back


class ReplayController(QObject):
    error = pyqtSignal(str)
    message = pyqtSignal(str)
    state_changed = pyqtSignal(str)

    def __init__(self, run: Run | str | Path, speed: float = 2.0, compare: Run | str | Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run = run if isinstance(run, Run) else open_run(run)
        self.other = None if compare is None else compare if isinstance(compare, Run) else open_run(compare)
        self.other_points = [] if self.other is None else self.other.snapshots()
        self.points = self.run.snapshots()
        self.walks = self.run.walks()
        self.bookmarks: list[Bookmark] = list(self.run.bookmarks)
        self.index = len(self.points) - 1        # the point shown; a replay opens on the run's end
        self.walk: tuple[int, int] | None = None  # (walk, step in it) while stepping through a walk
        self.speed = float(speed)
        self._pending = [self.points[self.index]]
        self._state = "paused"
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._advance)
        self._set_interval()

    # -- the Controller protocol ------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    def start(self) -> None:
        self.message.emit(f"Replaying {self.run.path.name}: {len(self.points)} points, steps "
                          f"{self.run.first_step}-{self.run.last_step}, {len(self.bookmarks)} bookmarks.")

    def send(self, command: str, **kwargs) -> None:
        if command == "play":
            if self.index >= len(self.points) - 1:
                self.show(0)
            self.timer.start()
            self._set_state("playing")
        elif command in ("pause", "stop"):
            self.timer.stop()
            self._set_state("paused")
        elif command in FORWARD_COMMANDS or command in BACK_COMMANDS:
            self.step(+1 if command in FORWARD_COMMANDS else -1)
        elif command == "set_speed":   # the speed bar's batches a second: recorded points a second here
            speed = kwargs.get("batches_per_second")
            self.speed = 50.0 if speed is None else float(speed)
            self._set_interval()
        else:
            self.error.emit(f"This is a recorded run, so {command.replace('_', ' ')} cannot change it; "
                            f"branch it with: python main.py train --from {self.run.path}@STEP")

    def take(self) -> list:
        out, self._pending = self._pending, []
        return out

    def latest(self):
        return self.shown()

    def timeline(self) -> list:
        return [(snapshot.step, snapshot) for snapshot in self.points]

    def stop(self, timeout: float = 1.0) -> bool:
        self.timer.stop()
        self._state = "stopped"
        return True

    def partner_for(self, snapshot):
        """With a second run (``--compare``): its last point at or before ``snapshot``'s step (its
        first when none is), for the comparison docks; None without one."""
        if not self.other_points or snapshot is None:
            return None
        before = [p for p in self.other_points if p.step <= snapshot.step]
        return before[-1] if before else self.other_points[0]

    # -- moving through the run -------------------------------------------------------------------
    def shown(self):
        if self.walk is not None:
            return self.walks[self.walk[0]][self.walk[1]]
        return self.points[self.index]

    def show(self, index: int, message: str = "") -> None:
        self.index = max(0, min(int(index), len(self.points) - 1))
        self.walk = None
        snapshot = self.points[self.index]
        self._pending.append(replace(snapshot, message=message) if message else snapshot)

    def step(self, direction: int) -> None:
        """One point on or back; at a point where a recorded walk starts, through the walk's steps."""
        if self.walk is not None:
            w, i = self.walk
            i += direction
            if 0 <= i < len(self.walks[w]):
                self.walk = (w, i)
                self._pending.append(self.walks[w][i])
                return
            self.walk = None
        elif direction > 0:
            step = self.points[self.index].step
            for w, walk in enumerate(self.walks):
                if walk and walk[0].step == step:
                    self.walk = (w, 0)
                    self._pending.append(walk[0])
                    return
        self.show(self.index + direction)

    def _advance(self) -> None:
        if self.index >= len(self.points) - 1:
            self.send("pause")
            return
        self.show(self.index + 1)

    def _set_interval(self) -> None:
        self.timer.setInterval(max(20, round(1000 / max(self.speed, 0.01))))

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    # -- bookmarks ----------------------------------------------------------------------------------
    def add_bookmark(self, caption: str, step: int | None = None) -> Bookmark:
        mark = Bookmark(self.shown().step if step is None else int(step), str(caption))
        self.bookmarks = sorted([*self.bookmarks, mark], key=lambda b: b.step)
        return mark

    def jump_bookmark(self, direction: int) -> Bookmark | None:
        """Go to the next (+1) or previous (-1) bookmark after/before the point shown; None at the end."""
        here = self.shown().step
        marks = [b for b in self.bookmarks if (b.step > here if direction > 0 else b.step < here)]
        if not marks:
            self.message.emit("No further bookmark." if direction > 0 else "No earlier bookmark.")
            return None
        mark = marks[0] if direction > 0 else marks[-1]
        index = max([i for i, p in enumerate(self.points) if p.step <= mark.step] or [0])
        self.show(index, message=f"{BOOKMARK}step {mark.step}: {mark.caption}")
        self.message.emit(f"Bookmark at step {mark.step}: {mark.caption}")
        return mark

    def save(self, path) -> Path:
        """The run again with its bookmarks as they are now (states kept, so it still branches)."""
        try:
            points = [(snapshot, self.run.state(point) if point.resumable else None)
                      for snapshot, point in zip(self.points, self.run.points)]
            info = {key: self.run.header[key] for key in
                    ("settings", "epochs", "seed", "preset", "dataset", "architecture", "parent") if key in self.run.header}
            return save_run(path, info, points, self.bookmarks, self.walks)
        except CnnvizError as error:
            self.error.emit(str(error))
            raise


# -- the window's own run: what its timeline kept, as a run file ----------------------------------------
def timeline_run(entries) -> tuple[dict, list]:
    """(run header info, points) of a live window's timeline [(step, Snapshot), ...]: replayable and
    scored like any run, but without resume states (those stay in the training process), so its
    points are not resumable."""
    from dataclasses import asdict

    from cnnviz.nn.defaults import DEFAULTS

    snapshots = [snapshot for _, snapshot in entries]
    last = snapshots[-1]
    architecture = {"preset": last.preset, "input_shape": list(last.layers[0].input_shape),
                    "layers": [dict(layer.config) for layer in last.layers]}
    info = {"settings": {**asdict(DEFAULTS), "lr": float(last.lr)}, "epochs": max(1, int(last.epoch) + 1),
            "seed": 0, "preset": str(last.preset), "architecture": architecture,
            "dataset": {"dataset": str(last.dataset), "class_names": list(last.class_names)},
            "parent": None, "recorded_in": "window"}
    return info, [(snapshot, None) for snapshot in snapshots]


def autosave_path() -> Path:
    """Where the window keeps its last run on exit: ``$XDG_CACHE_HOME/cnnviz/runs/last.cnnviz``."""
    import os

    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "cnnviz" / "runs" / "last.cnnviz"


def save_window_run(window, path) -> Path | None:
    """Save what the window shows as a run file: a replay's run with its bookmarks, or a live run's
    timeline. The window shows the sentence of any failure and keeps working; None then."""
    controller = window.controller
    try:
        if isinstance(controller, ReplayController):
            return controller.save(path)
        entries = controller.timeline()
        if not entries:
            window.show_error("There is no run to save yet: the timeline keeps a point every few steps of training.")
            return None
        info, points = timeline_run(entries)
        return save_run(path, info, points)
    except CnnvizError as error:
        window.show_error(str(error))
        return None


def autosave(window) -> Path | None:
    """On exit: the live run's timeline into the cache (a replay is already a file)."""
    if isinstance(window.controller, ReplayController) or not window.controller.timeline():
        return None
    path = autosave_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        window.show_error(f"The run could not be kept in {path.parent}: {error.strerror}.")
        return None
    return save_window_run(window, path)


def install(window) -> None:
    """The replay's and the run file's keys and menu entries on a MainWindow: File > Save run… (Ctrl+Shift+S),
    Bookmark here… (Ctrl+B), next / previous bookmark (PageDown / PageUp, as presenter remotes send)."""
    from PyQt6.QtGui import QAction, QKeySequence
    from PyQt6.QtWidgets import QFileDialog, QInputDialog

    def ask_save() -> None:
        path, _ = QFileDialog.getSaveFileName(window, "Save run", "run.cnnviz", "cnnviz runs (*.cnnviz)")
        if path:
            save_window_run(window, path if path.endswith(".cnnviz") else path + ".cnnviz")

    def ask_bookmark() -> None:
        controller = window.controller
        if not isinstance(controller, ReplayController):
            window.show_error("Bookmarks are added to a recorded run: save the run, then open it with --open.")
            return
        caption, ok = QInputDialog.getText(window, "Bookmark", f"Caption for step {controller.shown().step}:")
        if ok and caption.strip():
            controller.add_bookmark(caption.strip())

    def jump(direction: int) -> None:
        if isinstance(window.controller, ReplayController):
            window.controller.jump_bookmark(direction)

    actions = [QAction("Save run…", window, shortcut=QKeySequence("Ctrl+Shift+S"), triggered=ask_save),
               QAction("Bookmark here…", window, shortcut=QKeySequence("Ctrl+B"), triggered=ask_bookmark),
               QAction("Next bookmark", window, shortcut=QKeySequence("PgDown"), triggered=lambda: jump(+1)),
               QAction("Previous bookmark", window, shortcut=QKeySequence("PgUp"), triggered=lambda: jump(-1))]
    file_menu = next((a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "File"), None)
    for action in actions:
        window.addAction(action)   # the keys work with the menus and toolbars hidden (lecture mode)
        if file_menu is not None:
            file_menu.addAction(action)
    window.replay_actions = actions
    controller = window.controller
    if isinstance(controller, ReplayController) and controller.other is not None:
        from cnnviz.gui.dock_layout import COMPARE_DOCK, COMPARE_MAPS_DOCK

        window.timeline.show_compare(True)
        name = controller.other.path.name
        window.dock_layout.set_title(COMPARE_DOCK, f"Kernels of {name} (same step)")
        window.dock_layout.set_title(COMPARE_MAPS_DOCK, f"Feature maps of {name} (same step)")

"""The one stand-in controller of the GUI tests and a clock they move by hand.

``FakeController`` implements cnnviz.gui.controller.Controller without a thread: it records every
command, hands over the snapshots a test pushes, and serves a timeline a test sets. A test that
needs a trainer that produces snapshots by itself (bench-gui's) subclasses it. ``open_window`` and
``deliver`` drive the real MainWindow with it.
"""

from __future__ import annotations

from PyQt6.QtCore import QObject, pyqtSignal


class FakeController(QObject):
    error = pyqtSignal(str)
    message = pyqtSignal(str)
    state_changed = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, dict]] = []
        self.pending: list = []
        self.kept: list = []           # what timeline() returns: [(step, snapshot), ...]
        self.newest = None
        self.current = "paused"
        self.started = self.stopped = False

    # -- the Controller protocol ------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self.current

    def start(self) -> None:
        self.started = True

    def send(self, command: str, **kwargs) -> None:
        self.sent.append((command, kwargs))
        if command in ("play", "pause"):
            self.set_state("playing" if command == "play" else "paused")

    def take(self) -> list:
        out, self.pending = self.pending, []
        return out

    def latest(self):
        return self.newest

    def timeline(self) -> list:
        return list(self.kept)

    def stop(self, timeout: float = 1.0) -> bool:
        self.stopped = True
        self.current = "stopped"
        return True

    # -- what a test does ---------------------------------------------------------------------------
    def push(self, snapshot) -> None:
        """A snapshot the next take() hands over."""
        self.pending.append(snapshot)
        self.newest = snapshot

    def set_state(self, state: str) -> None:
        self.current = state
        self.state_changed.emit(state)

    def commands(self) -> list[str]:
        return [name for name, _ in self.sent]


class FakeClock:
    """A monotonic clock for the window's parts (``MainWindow(..., clock=clock)``) that stands still
    until a test moves it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def open_window(qtbot, controller, settings, **options):
    """A shown MainWindow around ``controller`` with the keys on the window itself."""
    from cnnviz.gui.main_window import MainWindow

    win = MainWindow(controller, settings=settings, **options)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    win.centralWidget().setFocus()
    return win


def deliver(window, controller, snapshot):
    """Hand ``snapshot`` to the window as the trainer would, and let it draw (all panels at once)."""
    controller.push(snapshot)
    window.pull()
    return snapshot


def lay_out_now(root) -> None:
    """Lay out ``root`` (a window, a panel) and everything in it now: what Qt does with the events it
    posts (LayoutRequest, ChildPolished, the scene's layout requests) over as many turns of the event
    loop as the widgets are deep. A test that measures sizes after waiting a few milliseconds sees
    some levels laid out and others not, depending on how busy the machine is. No timer runs here,
    so nothing but layout happens."""
    from PyQt6.QtCore import QCoreApplication
    from PyQt6.QtWidgets import QWidget

    def depth(widget) -> int:
        n = 0
        while widget.parentWidget() is not None:
            widget, n = widget.parentWidget(), n + 1
        return n

    for _ in range(3):       # a layout that resizes a canvas makes the canvas's scene post its own
        for _ in range(10):  # each pass delivers what the one before posted
            QCoreApplication.sendPostedEvents()
        for widget in sorted([root, *root.findChildren(QWidget)], key=depth, reverse=True):
            widget.updateGeometry()            # its parent's cached size hints of it are stale
            layout = QWidget.layout(widget)    # (some widgets hide the method behind an attribute)
            if layout is not None:
                layout.invalidate()
                layout.activate()
    for _ in range(10):
        QCoreApplication.sendPostedEvents()
    if root.isVisible():      # pyqtgraph fits its view ranges just before it paints: paint once, now
        root.grab()
        for _ in range(10):
            QCoreApplication.sendPostedEvents()

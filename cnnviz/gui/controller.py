"""What the window needs from whatever trains (or replays) the network: the ``Controller`` protocol.

``cnnviz.gui.worker.SessionController`` is the real one (a child process training
live); the tests' ``FakeController`` (tests/gui/fakes.py) is another; a replay of a recorded run can be
a third. The window only ever calls what is declared here, so any of them can drive it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from PyQt6.QtCore import pyqtBoundSignal

STATES = ("playing", "paused", "stepping", "stopped")


@runtime_checkable
class Controller(Protocol):
    """The window's side of training, all called from the GUI thread.

    Signals: ``error(str)`` one sentence to show (a bad file, a NaN loss), ``message(str)`` a
    status sentence, ``state_changed(str)`` one of STATES. ``take()`` hands over the snapshots not
    yet taken, oldest first (live: at most the newest; stepping: every step); ``latest()`` the newest
    so far without taking it; ``timeline()`` the kept [(step, snapshot), ...] to scrub back through,
    oldest first. ``send(command, **kwargs)`` queues a command (see cnnviz.session's command table)
    and may raise when the worker is gone; ``stop(timeout)`` ends the worker, True once it has."""

    error: pyqtBoundSignal
    message: pyqtBoundSignal
    state_changed: pyqtBoundSignal

    @property
    def state(self) -> str: ...

    def start(self) -> None: ...

    def send(self, command: str, **kwargs) -> None: ...

    def take(self) -> list: ...

    def latest(self): ...

    def timeline(self) -> list: ...

    def stop(self, timeout: float = 1.0) -> bool: ...

"""The worker thread (the only place in the GUI that makes threads).

``SessionController`` lives in the GUI thread. It owns a QThread in which a ``SessionWorker`` runs
either the Qt-free ``Session`` loop itself (``worker="thread"``: the worker alone touches the model)
or a ``SessionProcess`` (``worker="process"``, the default): the same loop in a child process, the
QThread receiving its snapshots and notices (cnnviz.session.process says why: the GIL). The GUI
sends commands (``send``), polls snapshots on a timer (``take``) and listens to three signals either
way. Signals emitted in the worker thread reach the GUI thread as queued calls.
"""

from __future__ import annotations

from PyQt6.QtCore import QCoreApplication, QObject, QThread, pyqtSignal, pyqtSlot

from cnnviz.session.process import SessionProcess
from cnnviz.session.session import Session
from cnnviz.session.snapshot import Snapshot

WORKERS = ("process", "thread")


class SessionWorker(QObject):
    """Runs ``Session.run`` in its thread and turns the session's notices into signals."""

    error = pyqtSignal(str)
    message = pyqtSignal(str)
    state_changed = pyqtSignal(str)

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        session.notify = self._notify

    def _notify(self, kind: str, text: str) -> None:
        {"error": self.error, "message": self.message, "state": self.state_changed}[kind].emit(text)

    @pyqtSlot()
    def run(self) -> None:
        try:
            self.session.run()
        except BaseException as error:   # Session.run guards itself; this is the last line of defence
            self.error.emit(f"The training thread stopped unexpectedly ({type(error).__name__}: {error}).")
        finally:
            # run() is called before the thread's event loop starts; quitting now makes it return at once
            thread = QThread.currentThread()
            if thread is not None:
                thread.quit()


class SessionController(QObject):
    """Owns the worker thread. GUI-thread API.

    Snapshots: ``take()`` returns the unread ones oldest first (live: at most the newest; stepping:
    every step), ``latest()`` the newest so far, ``timeline()`` those kept every few steps for
    scrubbing back. Commands: see ``cnnviz.session.session.COMMANDS``."""

    error = pyqtSignal(str)          # one sentence: bad file, NaN loss with its learning rate, worker exception
    message = pyqtSignal(str)        # status sentences ("Loaded checkpoint x.npz", "Paused")
    state_changed = pyqtSignal(str)  # "playing" | "paused" | "stepping" | "stopped"

    def __init__(self, dataset="digits", preset="seed", lr=None, batch_size=None, optimizer=None, seed=0,
                 parent=None, dataset_obj=None, trainer_options: dict | None = None,
                 worker: str = "process") -> None:
        super().__init__(parent)
        if worker not in WORKERS:
            raise ValueError(f"worker must be one of {', '.join(WORKERS)}, not {worker!r}.")
        options = dict(dataset=dataset, preset=preset, lr=lr, batch_size=batch_size, optimizer=optimizer,
                       seed=seed, dataset_obj=dataset_obj, trainer_options=trainer_options)
        self.worker = worker
        self._session = SessionProcess(**options) if worker == "process" else Session(**options)
        self._thread: QThread | None = None
        self._worker: SessionWorker | None = None
        self._state = "paused"
        app = QCoreApplication.instance()
        if app is not None:   # a running QThread destroyed at exit aborts the program: join it first
            app.aboutToQuit.connect(self.stop)

    @property
    def state(self) -> str:
        return self._state

    def start(self) -> None:
        """Start the worker thread: it loads the data, publishes a first snapshot and waits, paused."""
        if self._thread is not None:
            return
        self._thread = QThread()
        # bench-gui counts CPU by thread name: this thread trains, or only receives what the process sends
        self._thread.setObjectName("cnnviz training" if self.worker == "thread" else "cnnviz receiver")
        self._worker = SessionWorker(self._session)
        self._worker.moveToThread(self._thread)
        self._worker.error.connect(self.error)
        self._worker.message.connect(self.message)
        self._worker.state_changed.connect(self._on_state)
        self._thread.started.connect(self._worker.run)
        # the worker belongs to the thread: let Qt delete it there as the thread ends (Qt's own pattern)
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.start()

    def send(self, command: str, **kwargs) -> None:
        """Queue a command for the worker (thread-safe; read between batches and layer steps)."""
        self._session.send(command, **kwargs)

    def take(self) -> list[Snapshot]:
        return self._session.mailbox.take()

    def latest(self) -> Snapshot | None:
        return self._session.mailbox.latest()

    def timeline(self) -> list[tuple[int, Snapshot]]:
        """[(step, snapshot), ...] oldest first, kept every ~50 steps of this run (thinned evenly when
        long; emptied by reset, set_preset, set_dataset and load_checkpoint). Thread-safe; the
        snapshots are frozen and shared, so reading them copies nothing."""
        return self._session.timeline.entries()

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop training and join the thread; True when it ended within ``timeout`` seconds."""
        thread = self._thread
        if thread is None:
            return True
        self._session.request_stop()
        thread.quit()
        if not thread.wait(max(0, int(timeout * 1000))):
            return False
        self._thread = self._worker = None
        self._on_state("stopped")
        return True

    @property
    def worker_pid(self) -> int | None:
        """The training process's id (worker "process", once started), else None."""
        return getattr(self._session, "pid", None)

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    @pyqtSlot(str)   # a slot of this object, so a notice from the worker runs here, in the GUI thread
    def _on_state(self, state: str) -> None:
        if self._thread is None and state != "stopped":
            return   # a queued notice that arrived after stop(): the thread is gone
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

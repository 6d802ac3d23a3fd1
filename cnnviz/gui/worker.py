"""The worker thread (the only place in the GUI that makes threads).

``SessionController`` lives in the GUI thread. It owns a QThread in which a ``SessionWorker`` runs a
``SessionProcess``: the Qt-free Session loop in a child process, the QThread receiving its records
(cnnviz.session.process says why: the GIL). The SessionProcess is made with its ``notify``: the
notices it receives come back here as one queued signal, and snapshots wait in its outlet's mailbox
and timeline. The GUI sends commands (``send``), polls snapshots on a timer (``take``) and listens to
three signals. (Training in a thread of this process was measured against this and dropped; the
figures are in docs/architecture.md. A script can run the Qt-free Session in a thread itself.)
"""

from __future__ import annotations

from PyQt6.QtCore import QCoreApplication, QObject, QThread, pyqtSignal, pyqtSlot

from cnnviz.session.process import SessionProcess
from cnnviz.session.snapshot import Snapshot


class SessionWorker(QObject):
    """Runs ``job`` (the SessionProcess's ``run``: start the child, receive until it ends) in its thread."""

    def __init__(self, job, report) -> None:
        super().__init__()
        self._job, self._report = job, report

    @pyqtSlot()
    def run(self) -> None:
        try:
            self._job()
        except BaseException as error:   # Session.run guards itself; this is the last line of defence
            self._report("error", f"The training receiver stopped unexpectedly ({type(error).__name__}: {error}).")
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
    _notice = pyqtSignal(str, str)   # (kind, text) from the worker's thread, delivered queued to this one

    def __init__(self, dataset="digits", preset="seed", lr=None, batch_size=None, optimizer=None, seed=0,
                 parent=None, dataset_obj=None, trainer_options: dict | None = None) -> None:
        super().__init__(parent)
        self._notice.connect(self._on_notice)
        self._session = SessionProcess(notify=self._notice.emit, dataset=dataset, preset=preset, lr=lr,
                                       batch_size=batch_size, optimizer=optimizer, seed=seed,
                                       dataset_obj=dataset_obj, trainer_options=trainer_options)
        self._outlet = self._session.outlet
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
        # bench-gui counts CPU by thread name: this one only receives what the training process sends
        self._thread.setObjectName("cnnviz receiver")
        self._worker = SessionWorker(self._session.run, self._notice.emit)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        # the worker belongs to the thread: let Qt delete it there as the thread ends (Qt's own pattern)
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.start()

    def send(self, command: str, **kwargs) -> None:
        """Queue a command for the worker (thread-safe; read between batches and layer steps)."""
        self._session.send(command, **kwargs)

    def take(self) -> list[Snapshot]:
        return self._outlet.mailbox.take()

    def latest(self) -> Snapshot | None:
        return self._outlet.mailbox.latest()

    def timeline(self) -> list[tuple[int, Snapshot]]:
        """[(step, snapshot), ...] oldest first, kept every ~50 steps of this run (thinned evenly when
        long; emptied by reset, set_preset, set_dataset and load_checkpoint). Thread-safe; the
        snapshots are frozen and shared, so reading them copies nothing."""
        return self._outlet.timeline.entries()

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
        """The training process's id, once started, else None."""
        return self._session.pid

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    @pyqtSlot(str, str)   # a slot of this object, so a notice from the worker runs here, in the GUI thread
    def _on_notice(self, kind: str, text: str) -> None:
        if kind == "state":
            self._on_state(text)
        elif kind == "error":
            self.error.emit(text)
        else:
            self.message.emit(text)

    def _on_state(self, state: str) -> None:
        if self._thread is None and state != "stopped":
            return   # a queued notice that arrived after stop(): the thread is gone
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

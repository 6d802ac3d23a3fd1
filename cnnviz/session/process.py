"""Training in a child process: the same ``Session``, its results sent back as records. No Qt, no pickle.

Why a process and not only a thread: Python runs one thread's bytecode at a time (the GIL). The
window's painting is Python code (pyqtgraph) and took 0.43 of a core at 30 frames/s; a training
thread beside it lost the same share, however many cores were free (measured: 0.54 of headless
speed). In its own process the trainer has its own interpreter and a core of its own.

How, on Linux, macOS and Windows alike: the child is ``python -c CHILD_CODE`` started by subprocess
with its stdin and stdout as the two pipes (nothing POSIX-only: no inherited descriptors, no fork).
The child points its file descriptor 1 at stderr before anything runs, so a stray print (its own, a
library's) goes to the terminal instead of corrupting the stream. Every message either way is one
frame of cnnviz.session.records (a JSON header and raw arrays). POSIX-only niceties sit behind checks
(``posix_extras``): a wider pipe on Linux. ``CNNVIZ_PORTABLE_ONLY=1`` in the environment turns them
off, as a test does to stand for Windows.

The window's side, ``SessionProcess``: ``send``, ``request_stop``, ``run`` and ``outlet`` (a LocalOutlet:
its ``mailbox`` and ``timeline``, notices to the ``notify`` it was made with). ``run()`` starts the
child and then, in the calling thread, is the one receiver: every record goes into that one outlet
(rule 5 holds: the GUI pulls from a one-slot mailbox, every step delivered). Commands travel the other
way (rule 6). The child builds a live snapshot only when asked, as before: taking one from the
mailbox asks for the next. The child's side, ``ProcessOutlet``: the Session's outlet there; a snapshot
that is live and kept for the timeline is sent once, flagged as both.
"""

from __future__ import annotations

import importlib
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from cnnviz.errors import CnnvizError, RecordError
from cnnviz.session.outlet import TIMELINE_EVERY, LivePacer, LocalOutlet, Mailbox
from cnnviz.session.records import (SnapshotPacker, SnapshotUnpacker, dataset_from_record, dataset_record,
                                    from_json, read_frame, to_json, write_frame)
from cnnviz.session.session import Session
from cnnviz.session.snapshot import freeze

# The child is a fresh interpreter started by us, not by multiprocessing: forking a process whose Qt
# and BLAS threads hold locks can leave the child stuck on a lock nobody releases, and
# multiprocessing's "spawn" imports the parent's main script again in the child, which opens a
# second window when a script calls run_gui() without an ``if __name__ == "__main__"`` guard.
# Starting one (interpreter, numpy, cnnviz.session) takes ~0.1 s here.
CHILD_CODE = "from cnnviz.session.process import child_entry; child_entry()"
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])   # the folder holding cnnviz/, for the child's imports
STOP_GRACE = 0.7     # seconds a stopping child gets (it stops between batches) before it is terminated
# bytes the pipe from the child holds. Linux's default, 64 KB, cut a 1.6 MB snapshot into ~25 reads,
# and the receiving thread had to win Python's lock (held by the painting GUI thread) for each one.
PIPE_BYTES = (4 * 2**20, 2**20)


def posix_extras() -> bool:
    """True where the POSIX-only niceties may be used (not on Windows, nor when a test says so)."""
    return os.name == "posix" and not os.environ.get("CNNVIZ_PORTABLE_ONLY")


def widen_pipe(stream) -> None:
    """Make the pipe behind ``stream`` hold a whole snapshot, where the system allows it (Linux)."""
    if not posix_extras():
        return
    try:
        import fcntl
    except ImportError:
        return
    size_option = getattr(fcntl, "F_SETPIPE_SZ", None)
    for size in PIPE_BYTES if size_option is not None else ():
        try:
            fcntl.fcntl(stream.fileno(), size_option, size)
            return
        except OSError:
            continue


class Sender:
    """Writes frames to a binary stream, in order, from a thread of its own (``start``): while the
    other side is slow to read (the window's GUI thread painting, the child loading data) a write
    waits, and neither the trainer nor the GUI must wait with it. Snapshots are packed here too
    (``SnapshotPacker``: shared parts once), in the order they were posted. Once the other side is
    gone, calls ``on_broken`` and drops what follows."""

    def __init__(self, stream, on_broken=None) -> None:
        self.stream = stream
        self.on_broken = on_broken or (lambda: None)
        self.bytes_sent = 0
        self._packer = SnapshotPacker()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._send_all, name="cnnviz sender", daemon=True)
        self._thread.start()

    def post(self, meta: dict, arrays: dict | None = None) -> None:
        self._queue.put((meta, arrays or {}))

    def post_snapshot(self, snapshot, live: bool = False, step: bool = False, keep: bool = False) -> None:
        """Queue a snapshot (frozen, so packing it later in the sending thread is safe)."""
        self._queue.put((snapshot, {"live": live, "step": step, "keep": keep}))

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued, then end the sending thread (waits up to ``timeout`` seconds)."""
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def _frames(self, item):
        first, second = item
        if isinstance(first, dict):
            return [(first, second)]
        records = self._packer.pack(first)
        frames = [({"kind": "record", "record": header}, arrays) for header, arrays in records[:-1]]
        header, arrays = records[-1]
        return frames + [({"kind": "record", "record": header, **second}, arrays)]

    def _send_all(self) -> None:
        broken = False
        while (item := self._queue.get()) is not None:
            if broken:
                continue
            try:
                for meta, arrays in self._frames(item):
                    self.bytes_sent += write_frame(self.stream, meta, arrays)
            except (OSError, ValueError):   # ValueError: the stream was closed under us
                broken = True
                self.on_broken()


def encode_command(command: str, kwargs: dict) -> tuple[dict, dict]:
    """A command as a frame's (meta, arrays); its arrays are copied now (a drawn image's canvas may
    change after it was sent). RecordError for an argument a record cannot hold."""
    arrays: dict = {}
    return {"kind": "command", "name": str(command), "kwargs": to_json(freeze(kwargs), arrays, "kwargs")}, arrays


def loader_name(loader) -> str:
    """'module:qualname' of a dataset loader the child can import; RecordError for one it cannot."""
    module, name = getattr(loader, "__module__", None), getattr(loader, "__qualname__", "")
    found = None
    if module and "<" not in name:
        try:
            found = importlib.import_module(module)
            for part in name.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError):
            found = None
    if found is not loader:
        raise RecordError(f"the dataset loader {loader!r} cannot be named for the training process "
                          f"(a function defined at the top of an importable module can).")
    return f"{module}:{name}"


def load_loader(name: str):
    module, _, qualname = name.partition(":")
    found = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


# -- the window's side ------------------------------------------------------------------------------
class AskChild:
    """The window's live pacing: the child decides when a snapshot is due (its LivePacer); here,
    taking the live snapshot that came asks the child for the next one, once per snapshot."""

    def __init__(self, ask) -> None:
        self._ask = ask
        self._lock = threading.Lock()
        self._asked = True   # a fresh session builds its first live snapshot unasked

    def request(self) -> None:
        with self._lock:
            if self._asked:
                return
            self._asked = True
        self._ask()

    def wants_live(self) -> bool:
        return False   # the child builds; nothing is built on this side

    def built_live(self, build_seconds=None) -> None:
        with self._lock:
            self._asked = False

    def built_step(self) -> None:
        pass


class SessionProcess:
    """A Session running in a child process, driven like a Session (see the module text). The
    keyword arguments are Session's (dataset, preset, lr, batch_size, optimizer, seed, dataset_obj,
    trainer_options, loader): JSON-able values, a cnnviz.data.Dataset, a loader importable by name."""

    def __init__(self, notify=None, **session_kwargs) -> None:
        self.session_kwargs = session_kwargs
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()   # commands wait here until the child runs
        self.outlet = LocalOutlet(notify, mailbox=Mailbox(pacer=AskChild(lambda: self._post({"kind": "want"}))))
        self.pid: int | None = None
        self._process: subprocess.Popen | None = None
        self._sender: Sender | None = None
        self._stop = threading.Event()
        self._watchdog: threading.Timer | None = None
        self._lock = threading.Lock()

    @property
    def mailbox(self) -> Mailbox:
        return self.outlet.mailbox

    @property
    def timeline(self):
        return self.outlet.timeline

    # -- thread-safe API, as Session's ------------------------------------------------------
    def send(self, command: str, **kwargs) -> None:
        try:
            self._post(*encode_command(command, kwargs))
        except CnnvizError as error:
            self.outlet.notify("error", f"Cannot send {command}: {error}")

    def request_stop(self) -> None:
        self._stop.set()
        self._post({"kind": "stop"})
        self._terminate_later()

    def _post(self, meta: dict, arrays: dict | None = None) -> None:
        with self._lock:
            sender = self._sender
            if sender is None:
                self._outbox.put((meta, arrays))
        if sender is not None:
            sender.post(meta, arrays)

    def _terminate_later(self) -> None:
        """A child that has not ended STOP_GRACE seconds after the stop is terminated: e.g. still
        loading a large dataset. A checkpoint it was writing is safe: writes go to a temp file that
        replaces the old one only when complete (rule 8)."""
        with self._lock:
            if self._watchdog is not None or self._process is None:
                return
            self._watchdog = threading.Timer(STOP_GRACE, self._terminate)
            self._watchdog.daemon = True
            self._watchdog.start()

    def _terminate(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()

    # -- the receiving thread ---------------------------------------------------------------
    def run(self) -> None:
        """Start the child, deliver what it sends until it ends, then join it."""
        try:
            setup = self._setup_frame()
            process = self._start_child(setup)
        except Exception as error:   # e.g. an argument that cannot cross, or no process can be made
            self._end(f"The training process could not start ({type(error).__name__}: {error}); "
                      f"restart cnnviz, or train without the window: python main.py train.")
            return
        if self._stop.is_set():
            self._terminate_later()
        ended = self._receive(process)
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait()
        self._close(process)
        if not ended:
            self._end(None if self._stop.is_set() else
                      f"The training process ended unexpectedly (exit code {process.returncode}); "
                      f"restart cnnviz to train again.")

    def _setup_frame(self) -> tuple[dict, dict]:
        """The child's first message: the parent's sys.path (so the child finds a test's loader) and
        the session's arguments, encoded here so that one that cannot cross fails the start."""
        kwargs, arrays = dict(self.session_kwargs), {}
        dataset = kwargs.pop("dataset_obj", None)
        loader = kwargs.pop("loader", None)
        meta = {"kind": "setup", "path": [str(p) for p in sys.path], "session": to_json(kwargs, arrays, "session"),
                "dataset": None if dataset is None else dataset_record(dataset, arrays),
                "loader": None if loader is None else loader_name(loader)}
        return meta, arrays

    def _start_child(self, setup) -> subprocess.Popen:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [PACKAGE_ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        process = subprocess.Popen([sys.executable, "-c", CHILD_CODE], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, bufsize=0, env=env)
        widen_pipe(process.stdout)
        sender = Sender(process.stdin)
        sender.post(*setup)
        with self._lock:
            self._process, self._sender, self.pid = process, sender, process.pid
            while True:   # commands sent before the child existed, in order, behind the setup
                try:
                    sender.post(*self._outbox.get_nowait())
                except queue.Empty:
                    break
        sender.start()
        return process

    def _receive(self, process) -> bool:
        """Deliver records until the child says it ended (True) or the pipe closes (False)."""
        unpacker = SnapshotUnpacker()
        while True:
            try:
                frame = read_frame(process.stdout, "the training process's output")
            except (OSError, ValueError):
                return False
            except RecordError as error:
                self.outlet.notify("error", f"Training stopped: {error}")
                process.terminate()
                return False
            if frame is None:
                return False
            if self._deliver(*frame, unpacker):
                return True

    def _deliver(self, meta: dict, arrays: dict, unpacker: SnapshotUnpacker) -> bool:
        kind = meta.get("kind")
        if kind == "record":
            snapshot = unpacker.unpack(meta["record"], arrays)
            if snapshot is None:
                return False
            if meta.get("live"):
                self.outlet.publish_live(snapshot, keep=bool(meta.get("keep")))
            elif meta.get("step"):
                self.outlet.publish_step(snapshot, keep=bool(meta.get("keep")))
            elif meta.get("keep"):
                self.outlet.keep_for_timeline(snapshot)
        elif kind == "timeline_clear":
            self.outlet.clear_timeline()
        elif kind == "notify":
            self.outlet.notify(str(meta.get("level")), str(meta.get("text")))
        return kind == "end"

    def _close(self, process) -> None:
        with self._lock:
            sender, watchdog = self._sender, self._watchdog
        if watchdog is not None:
            watchdog.cancel()
            watchdog.join()
        if sender is not None:
            sender.close(timeout=1.0)
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def _end(self, error: str | None) -> None:
        if error:
            self.outlet.notify("error", error)
        self.outlet.notify("state", "stopped")


# -- the child's side -------------------------------------------------------------------------------
class ProcessOutlet:
    """The Session's outlet in the child: decides when a live snapshot is due (asked for, within its
    CPU budget: a LivePacer) and when one is offered to the timeline (every ``every`` steps; the
    window's Timeline keeps, thins and bounds them, and turns some down once it has thinned: a 1.5 ms
    build per 50 steps), and sends each snapshot once, flagged live, step and/or kept."""

    def __init__(self, sender: Sender, every: int = TIMELINE_EVERY) -> None:
        self.pacer = LivePacer()
        self.every = every
        self._sender = sender
        self._seq = 0
        self._kept_at: int | None = None
        self._lock = threading.Lock()

    def notify(self, kind: str, text: str) -> None:
        self._sender.post({"kind": "notify", "level": kind, "text": text})

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def wants_live(self) -> bool:
        return self.pacer.wants_live()

    def timeline_due(self, step: int) -> bool:
        return self._kept_at is None or step >= self._kept_at + self.every

    def _offer(self, step: int) -> bool:
        if not self.timeline_due(step):
            return False
        self._kept_at = int(step)
        return True

    def publish_live(self, snapshot, keep: bool = False, build_seconds: float | None = None) -> None:
        self.pacer.built_live(build_seconds)
        self._sender.post_snapshot(snapshot, live=True, keep=keep and self._offer(snapshot.step))

    def publish_step(self, snapshot, keep: bool = False) -> None:
        self.pacer.built_step()
        self._sender.post_snapshot(snapshot, step=True, keep=keep and self._offer(snapshot.step))

    def keep_for_timeline(self, snapshot) -> None:
        if self._offer(snapshot.step):
            self._sender.post_snapshot(snapshot, keep=True)

    def clear_timeline(self) -> None:
        self._kept_at = None
        self._sender.post({"kind": "timeline_clear"})


def _read_commands(inbox, session: Session, outlet: ProcessOutlet) -> None:
    """The child's command thread: the parent's messages into the session's queue."""
    while True:
        try:
            frame = read_frame(inbox, "the window's commands")
        except (OSError, ValueError, CnnvizError):
            frame = None
        if frame is None:   # the parent is gone: nobody is watching, stop
            session.request_stop()
            return
        meta, arrays = frame
        kind = meta.get("kind")
        if kind == "command":
            kwargs = from_json(meta.get("kwargs") or {}, arrays)
            session.send(str(meta.get("name")), **dict(kwargs))
        elif kind == "want":
            outlet.pacer.request()
        elif kind == "stop":
            session.request_stop()
            return


def _own_stdout():
    """This process's stdout as the binary stream to the parent; fd 1 and sys.stdout from now on go
    to stderr (or nowhere), so a print cannot corrupt the stream."""
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    try:
        os.dup2(2, 1)
    except OSError:   # no stderr (e.g. started by pythonw): prints go nowhere
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    sys.stdout = sys.stderr if sys.stderr is not None else open(os.devnull, "w")
    if sys.platform == "win32":   # no newline translation on the pipes (the records' MAGIC checks it)
        import msvcrt

        for fd in (0, out.fileno()):
            msvcrt.setmode(fd, os.O_BINARY)
    return out


def child_entry() -> None:
    """Where the child process starts (see CHILD_CODE): read the parent's sys.path and the session's
    arguments, then run child_main."""
    out = _own_stdout()
    inbox = sys.stdin.buffer
    frame = read_frame(inbox, "the window's set-up message")
    if frame is None:
        return
    meta, arrays = frame
    path = list(meta.get("path") or [])
    sys.path[:] = path + [p for p in sys.path if p not in path]
    kwargs = dict(from_json(meta.get("session") or {}, arrays))
    if meta.get("dataset") is not None:
        kwargs["dataset_obj"] = dataset_from_record(meta["dataset"], arrays)
    if meta.get("loader"):
        kwargs["loader"] = load_loader(meta["loader"])
    child_main(inbox, out, kwargs)


def child_main(inbox, out, session_kwargs: dict) -> None:
    """The child process's life: a Session whose outlet sends to the parent, commands read by a
    second thread, until asked to stop or the parent is gone."""
    if hasattr(signal, "SIGINT"):   # Ctrl+C in the terminal is the parent's to handle
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    session: Session | None = None

    def parent_gone() -> None:
        if session is not None:
            session.request_stop()

    sender = Sender(out, on_broken=parent_gone)
    sender.start()
    outlet = ProcessOutlet(sender)
    session = Session(outlet=outlet, **session_kwargs)
    threading.Thread(target=_read_commands, args=(inbox, session, outlet), name="cnnviz commands",
                     daemon=True).start()
    try:
        session.run()
    finally:
        sender.post({"kind": "end"})
        sender.close()

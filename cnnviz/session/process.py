"""Training in a child process: the same ``Session``, its snapshots sent back through a pipe. No Qt.

Why a process and not only a thread: Python runs one thread's bytecode at a time (the GIL). The
window's painting is Python code (pyqtgraph) and took 0.43 of a core at 30 frames/s; a training
thread beside it lost the same share, however many cores were free (measured: 0.54 of headless
speed). In its own process the trainer has its own interpreter and a core of its own.

``SessionProcess`` looks like a ``Session`` to the GUI's worker thread: ``send``,
``request_stop``, ``run``, ``notify``, ``mailbox`` and ``timeline``. ``run()`` starts the child and
then, in the calling thread, receives what the child sends until it ends: live and step snapshots
go into a local ``Mailbox`` (rule 5 holds: the GUI pulls from a one-slot mailbox, every step
delivered), kept ones into a local ``Timeline``, sentences to ``notify``. Commands travel the other
way through a pipe (rule 6). The child builds a live snapshot only when asked, as before: taking
one from the local mailbox asks for the next.

Snapshots cross as pickles of their arrays' bytes (~1.3 MB for the seed network: 0.3 ms to pickle,
0.2 ms to unpickle) and arrive read-only again, so they stay frozen.
"""

from __future__ import annotations

import copyreg
import dataclasses
import io
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
import types
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from cnnviz.session.mailbox import Mailbox
from cnnviz.session.session import Session
from cnnviz.session.timeline import TIMELINE_EVERY, Timeline

# The child is a fresh interpreter started by us, not by multiprocessing: forking a process whose Qt
# and BLAS threads hold locks can leave the child stuck on a lock nobody releases, and
# multiprocessing's "spawn" imports the parent's main script again in the child, which opens a
# second window when a script calls run_gui() without an ``if __name__ == "__main__"`` guard.
# Starting one (interpreter, numpy, cnnviz.session) takes ~0.1 s here.
CHILD_CODE = "import sys; from cnnviz.session.process import child_entry; child_entry(int(sys.argv[1]), int(sys.argv[2]))"
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])   # the folder holding cnnviz/, for the child's imports
STOP_GRACE = 0.7     # seconds a stopping child gets (it stops between batches) before it is terminated
SNAPSHOT_KINDS = ("live", "step", "timeline")   # messages whose last item is a Snapshot
POLL_S = 0.05        # how often the receiving thread looks at the stop flag while nothing arrives
# bytes the pipe from the child holds. Linux's default, 64 KB, cut a 1.3 MB snapshot into ~20 reads,
# and the receiving thread had to win Python's lock (held by the painting GUI thread) for each one.
PIPE_BYTES = (4 * 2**20, 2**20)


# -- pickling snapshots -------------------------------------------------------------------------
def _frozen_array(data: bytes, dtype: str, shape: tuple) -> np.ndarray:
    """Rebuild an array from its bytes, read-only (np.frombuffer over bytes cannot be written)."""
    return np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape)


def _reduce_array(array: np.ndarray):
    if array.dtype.hasobject:
        return array.__reduce_ex__(5)
    array = np.ascontiguousarray(array)
    data = pickle.PickleBuffer(array) if not array.flags.writeable else array.tobytes()
    return _frozen_array, (data, array.dtype.str, array.shape)


def _mapping_proxy(items: dict) -> types.MappingProxyType:
    return types.MappingProxyType(items)


def _reduce_mapping_proxy(proxy: types.MappingProxyType):
    return _mapping_proxy, (dict(proxy),)


_DISPATCH = copyreg.dispatch_table.copy()
_DISPATCH[np.ndarray] = _reduce_array
_DISPATCH[types.MappingProxyType] = _reduce_mapping_proxy


def dumps(obj) -> bytes:
    """Pickle ``obj`` so that its arrays come back read-only and its read-only mappings stay read-only."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(obj)
    return buffer.getvalue()


loads = pickle.loads


# -- the statistics history, sent once --------------------------------------------------------
# Every snapshot carries the run's statistics history (a tuple of read-only records, ~200 of them
# after 6,000 steps). In one process the snapshots share them; pickled whole each time they cost
# 8.5 ms a snapshot by step 6,000 and slowed training by half. So each record crosses once: a
# snapshot's stats go as keys, plus the records the parent has not seen.
@dataclasses.dataclass(frozen=True)
class StatsPack:
    keys: tuple[int, ...]   # the snapshot's records, oldest first
    new: dict               # key -> record, for the keys the parent does not have yet


class StatsPacker:
    """The child's side: replaces a snapshot's stats by a StatsPack. Packed snapshots must be
    unpacked in the same order (one pipe, one sending thread: they are)."""

    def __init__(self) -> None:
        self._sent: dict[int, tuple[int, object]] = {}   # id(record) -> (key, record), as the parent has them
        self._next_key = 0

    def pack(self, snapshot):
        keys, new, sent = [], {}, {}
        for record in snapshot.stats:
            entry = self._sent.get(id(record))
            if entry is None or entry[1] is not record:
                entry = (self._next_key, record)
                self._next_key += 1
                new[entry[0]] = record
            sent[id(record)] = entry
            keys.append(entry[0])
        self._sent = sent   # the parent keeps exactly these too
        return dataclasses.replace(snapshot, stats=StatsPack(tuple(keys), new))


class StatsUnpacker:
    """The parent's side: rebuilds the stats tuple of a packed snapshot (records shared again)."""

    def __init__(self) -> None:
        self._records: dict[int, object] = {}

    def unpack(self, snapshot):
        pack = snapshot.stats
        if not isinstance(pack, StatsPack):
            return snapshot
        table = {**self._records, **pack.new}
        self._records = {key: table[key] for key in pack.keys}
        return dataclasses.replace(snapshot, stats=tuple(self._records[key] for key in pack.keys))


# -- the GUI's side -----------------------------------------------------------------------------
class AskingMailbox(Mailbox):
    """The local mailbox, filled by the receiving thread. Taking from it (or peeking at the latest)
    asks the child for its next live snapshot, once per snapshot received."""

    def __init__(self, ask) -> None:
        super().__init__()
        self._ask = ask
        self._ask_lock = threading.Lock()
        self._asked = True   # a fresh session builds its first live snapshot unasked

    def put_live(self, snapshot, build_seconds=None) -> None:
        with self._ask_lock:
            self._asked = False
        super().put_live(snapshot, build_seconds)

    def take(self):
        items = super().take()
        self._ask_once()
        return items

    def latest(self):
        snapshot = super().latest()
        self._ask_once()
        return snapshot

    def _ask_once(self) -> None:
        with self._ask_lock:
            if self._asked:
                return
            self._asked = True
        self._ask()


class SessionProcess:
    """A Session running in a child process, driven like a Session (see the module text).
    The keyword arguments are Session's (dataset, preset, lr, batch_size, optimizer, seed,
    dataset_obj, trainer_options, loader); they must pickle."""

    def __init__(self, **session_kwargs) -> None:
        self.session_kwargs = session_kwargs
        self.notify = lambda kind, text: None
        self.mailbox = AskingMailbox(lambda: self._sender.post("want"))
        self.timeline = Timeline()
        self.pid: int | None = None
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        self._child_fds = (child_reads, child_writes)
        self._inbox = Connection(parent_reads, writable=False)
        widen_pipe(self._inbox)
        # commands sent before the child runs wait in the sender's queue, behind the child's setup
        self._sender = Sender(Connection(parent_writes, readable=False), encode=self._encode)
        self._sender.post("setup")
        self._stop = threading.Event()
        self._setup = b""
        self._stats = StatsUnpacker()

    # -- thread-safe API, as Session's ------------------------------------------------------
    def send(self, command: str, **kwargs) -> None:
        self._sender.post("command", command, kwargs)

    def request_stop(self) -> None:
        self._stop.set()
        self._sender.post("stop")

    def _encode(self, message: tuple) -> bytes:
        return self._setup if message == ("setup",) else dumps(message)

    # -- the receiving thread ---------------------------------------------------------------
    def run(self) -> None:
        """Start the child, deliver what it sends until it ends, then join it."""
        try:
            process = self._start_child()
        except Exception as error:   # e.g. no process can be made
            self._close_fds()
            self._end(f"The training process could not start ({type(error).__name__}: {error}); "
                      f"start cnnviz with --worker thread to train inside the window's process.")
            return
        self.pid = process.pid
        ended = self._receive(process)
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait()
        self._close_fds()
        if not ended:
            self._end(None if self._stop.is_set() else
                      f"The training process ended unexpectedly (exit code {process.returncode}); "
                      f"restart cnnviz to train again.")

    def _start_child(self) -> subprocess.Popen:
        """A fresh Python running child_entry on the pipes' other ends. Its first message: sys.path
        (so the child finds a test's loader or a dataset's class) and the session's arguments,
        pickled plainly (arrays stay writable) and here, so one that cannot pickle fails the start."""
        arguments = pickle.dumps(self.session_kwargs, protocol=5)   # unpickled after sys.path is set
        self._setup = pickle.dumps((list(sys.path), arguments), protocol=5)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [PACKAGE_ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        process = subprocess.Popen([sys.executable, "-c", CHILD_CODE, *map(str, self._child_fds)],
                                   pass_fds=self._child_fds, stdin=subprocess.DEVNULL, env=env)
        self._close_child_fds()   # the child has its own copies; without ours, its end is seen as EOF
        self._sender.start()
        return process

    def _close_child_fds(self) -> None:
        for fd in self._child_fds:
            os.close(fd)
        self._child_fds = ()

    def _close_fds(self) -> None:
        self._close_child_fds()
        self._sender.close(timeout=1.0)
        self._sender.connection.close()
        self._inbox.close()

    def _receive(self, process) -> bool:
        """Deliver messages until the child says it ended (True) or the pipe closes (False)."""
        stop_seen_at = None
        while True:
            if self._stop.is_set() and stop_seen_at is None:
                stop_seen_at = time.monotonic()
            if stop_seen_at is not None and time.monotonic() - stop_seen_at > STOP_GRACE and process.poll() is None:
                # e.g. still loading a large dataset. A checkpoint it was writing is safe: writes go to a
                # temp file that replaces the old one only when complete (rule 8)
                process.terminate()
            try:
                if not self._inbox.poll(POLL_S):
                    continue
                message = loads(self._inbox.recv_bytes())
            except (EOFError, OSError):
                return False
            if self._deliver(message):
                return True

    def _deliver(self, message: tuple) -> bool:
        kind = message[0]
        if kind in SNAPSHOT_KINDS:
            message = (*message[:-1], self._stats.unpack(message[-1]))
        if kind == "live":
            self.mailbox.put_live(message[1])
        elif kind == "step":
            self.mailbox.put_step(message[1])
        elif kind == "timeline":
            self.timeline.offer(message[1], message[2])
        elif kind == "timeline_clear":
            self.timeline.clear()
        elif kind == "notify":
            self.notify(message[1], message[2])
        return kind == "end"

    def _end(self, error: str | None) -> None:
        if error:
            self.notify("error", error)
        self.notify("state", "stopped")


def widen_pipe(connection) -> None:
    """Make the pipe behind ``connection`` hold a whole snapshot, where the system allows it."""
    try:
        import fcntl

        for size in PIPE_BYTES:
            try:
                fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, size)
                return
            except OSError:
                continue
    except (ImportError, AttributeError):   # not Linux: the default pipe works, a little slower
        pass


# -- the child's side ---------------------------------------------------------------------------
class Sender:
    """Sends (kind, ...) messages through a pipe, in order, from a thread of its own (``start``):
    while the other side is slow to read (the parent's GUI thread painting, the child loading data)
    a send waits, and neither the trainer nor the GUI must wait with it. Once the other side is
    gone, calls ``on_broken`` and drops what follows."""

    def __init__(self, connection: Connection, encode=dumps) -> None:
        self.connection = connection
        self.encode = encode
        self.on_broken = lambda: None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._send_all, name="cnnviz sender", daemon=True)
        self._thread.start()

    def post(self, *message) -> None:
        """Queue a message (snapshots are frozen, so pickling one later in another thread is safe)."""
        self._queue.put(message)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued, then end the sending thread (waits up to ``timeout`` seconds)."""
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def _send_all(self) -> None:
        broken = False
        while (message := self._queue.get()) is not None:
            if broken:
                continue
            try:
                self.connection.send_bytes(self.encode(message))
            except (OSError, ValueError):
                broken = True
                self.on_broken()


class SendingMailbox(Mailbox):
    """The child's mailbox: decides when a live snapshot is due (asked for, within its CPU budget)
    as the Mailbox does, and sends each snapshot on instead of keeping it for a reader."""

    def __init__(self, post) -> None:
        super().__init__()
        self._post = post

    def put_live(self, snapshot, build_seconds=None) -> None:
        super().put_live(snapshot, build_seconds)
        self._post("live", snapshot)

    def put_step(self, snapshot) -> None:
        with self._lock:   # not queued here: the parent's mailbox queues steps for the GUI
            self._latest = snapshot
            self._last_build = self._clock()
        self._post("step", snapshot)

    def ask(self) -> None:
        """The GUI took the last live snapshot: build the next one when it is due."""
        with self._lock:
            self._requested = True


class SendingTimeline:
    """The child's timeline: offers the parent a snapshot every ``every`` steps and keeps none
    itself (a second copy of up to timeline.MAX_BYTES). The parent's Timeline keeps, thins and
    bounds them; once it has thinned, it turns down some offers (a 1.5 ms build per 50 steps)."""

    def __init__(self, post, every: int = TIMELINE_EVERY) -> None:
        self._post, self.every = post, every
        self._last: int | None = None

    def due(self, step: int) -> bool:
        return self._last is None or step >= self._last + self.every

    def offer(self, step: int, snapshot) -> bool:
        if not self.due(step):
            return False
        self._last = int(step)
        self._post("timeline", int(step), snapshot)
        return True

    def clear(self) -> None:
        self._last = None
        self._post("timeline_clear")


def _read_commands(inbox, session: Session) -> None:
    """The child's command thread: the parent's messages into the session's queue."""
    while True:
        try:
            message = loads(inbox.recv_bytes())
        except (EOFError, OSError):   # the parent is gone: nobody is watching, stop
            session.request_stop()
            return
        if message[0] == "command":
            session.send(message[1], **message[2])
        elif message[0] == "want":
            session.mailbox.ask()
        elif message[0] == "stop":
            session.request_stop()
            return


def child_entry(read_fd: int, write_fd: int) -> None:
    """Where the child process starts (see CHILD_CODE): read the parent's sys.path and the
    session's arguments from the pipe, then run child_main."""
    inbox, outbox = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    path, arguments = pickle.loads(inbox.recv_bytes())
    sys.path[:] = path + [p for p in sys.path if p not in path]
    child_main(inbox, outbox, pickle.loads(arguments))


def child_main(inbox, outbox, session_kwargs: dict) -> None:
    """The child process's life: a Session whose notices, snapshots and kept snapshots go to the
    parent, commands read by a second thread, until asked to stop or the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl+C in the terminal is the parent's to handle
    packer = StatsPacker()

    def encode(message: tuple) -> bytes:   # runs in the sending thread, in order
        if message[0] in SNAPSHOT_KINDS:
            message = (*message[:-1], packer.pack(message[-1]))
        return dumps(message)

    out = Sender(outbox, encode=encode)
    out.start()
    session = Session(**session_kwargs)
    session.notify = lambda kind, text: out.post("notify", kind, text)
    session.mailbox = SendingMailbox(out.post)
    session.timeline = SendingTimeline(out.post)
    out.on_broken = session.request_stop
    threading.Thread(target=_read_commands, args=(inbox, session), name="cnnviz commands", daemon=True).start()
    try:
        session.run()
    finally:
        out.post("end")
        out.close()

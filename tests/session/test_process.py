"""Training in a child process (cnnviz.session.process), without Qt: snapshots cross intact and
frozen, commands arrive in order, stopping is prompt even while the child is busy, and a child that
dies or cannot start becomes one sentence."""

from __future__ import annotations

import os
import signal
import threading
import time
import types

import numpy as np
import pytest

from cnnviz.session.process import STOP_GRACE, SessionProcess, dumps, loads
from cnnviz.session.timeline import snapshot_arrays
from session_helpers import SMALL, Recorder, run_commands, slow_loader, tiny_dataset

WAIT = 20.0   # seconds; generous: the machine is shared


def wait_for(predicate, timeout: float = WAIT, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"{what} did not happen within {timeout} s")


class Running:
    """A SessionProcess whose run() goes on in a thread, as the GUI's worker thread runs it."""

    def __init__(self, **kwargs) -> None:
        options = dict(dataset_obj=tiny_dataset(), batch_size=16, trainer_options=SMALL)
        options.update(kwargs)
        self.process = SessionProcess(**options)
        self.recorder = Recorder()
        self.process.notify = self.recorder
        self.thread = threading.Thread(target=self.process.run)
        self.snapshots = []

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.process.request_stop()
        self.thread.join(STOP_GRACE + 10)
        assert not self.thread.is_alive()

    def poll(self) -> list:
        got = self.process.mailbox.take()
        self.snapshots += got
        return got


def test_a_snapshot_crosses_the_pipe_equal_and_still_frozen(session):
    run_commands(session, ("step_batch", {}), ("play", {}))
    for _ in range(12):
        session.tick()
    original = session.mailbox.latest()
    assert original.validation is not None   # a read-only mapping: it must stay one
    copy = loads(dumps(original))
    assert isinstance(copy.validation, types.MappingProxyType)
    assert (copy.seq, copy.step, copy.phase, copy.class_names) == (original.seq, original.step, original.phase,
                                                                  original.class_names)
    before, after = snapshot_arrays(original), snapshot_arrays(copy)
    assert len(after) == len(before) > 20
    for a, b in zip(before.values(), after.values()):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
        assert not b.flags.writeable
    with pytest.raises(TypeError):
        copy.validation["accuracy"] = 1.0


def test_any_array_comes_back_read_only_and_equal():
    grid = np.arange(24, dtype=np.float32).reshape(4, 6)
    for array in (grid, grid[:, ::2], grid.T, np.zeros((0, 3)), np.float64(2.5) * np.ones(()),
                  np.array([True, False]), np.array(["a", 1], dtype=object)):
        back = loads(dumps(array))
        assert back.dtype == array.dtype and back.shape == array.shape
        assert np.array_equal(back, array)
        if not array.dtype.hasobject:
            assert not back.flags.writeable


def test_trains_steps_and_stops_in_a_child_process():
    with Running() as running:
        process = running.process
        process.send("set_lr", lr=0.005)   # may reach the pipe before the child exists: it must wait
        process.send("play")
        wait_for(lambda: running.poll() and any(s.phase == "training" for s in running.snapshots),
                 what="a live training snapshot")
        assert process.pid is not None and process.pid != os.getpid()
        # each take asks for the next one: snapshots keep coming while the GUI keeps taking
        seqs = wait_for(lambda: running.poll() is not None and
                        len({s.seq for s in running.snapshots if s.phase == "training"}) >= 5 and
                        [s.seq for s in running.snapshots], what="five live snapshots")
        assert seqs == sorted(seqs)
        assert all(s.lr == pytest.approx(0.005) for s in running.snapshots if s.phase == "training")
        process.send("pause")
        process.send("step_forward")
        process.send("step_forward")
        forward = lambda: [s for s in running.snapshots if s.phase == "forward"]   # noqa: E731
        wait_for(lambda: running.poll() is not None and len(forward()) >= 2, what="two steps")
        steps = forward()
        assert [s.layer_index for s in steps] == [0, 1]
        assert process.timeline.entries()[0][0] == 0   # the first snapshot of the run is kept
        pid = process.pid
    assert running.recorder.texts("state")[-1] == "stopped"
    assert running.recorder.texts("error") == []
    with pytest.raises(OSError):   # the child is gone (reaped)
        os.kill(pid, 0)


def test_a_killed_child_is_one_sentence_and_run_returns():
    with Running() as running:
        wait_for(lambda: running.process.mailbox.latest() is not None, what="the first snapshot")
        os.kill(running.process.pid, signal.SIGKILL)
        running.thread.join(WAIT)
        assert not running.thread.is_alive()
        errors = running.recorder.texts("error")
        assert len(errors) == 1 and "ended unexpectedly" in errors[0] and "-9" in errors[0]
        assert running.recorder.texts("state")[-1] == "stopped"
        running.process.send("play")   # sending to a gone child is harmless


def test_stop_is_prompt_while_the_child_is_busy_loading():
    with Running(dataset_obj=None, dataset="slow", loader=slow_loader) as running:
        wait_for(lambda: running.process.pid is not None, what="the child's start")
        time.sleep(0.3)
        started = time.monotonic()
        running.process.request_stop()
        running.thread.join(WAIT)
        assert not running.thread.is_alive()
        assert time.monotonic() - started < STOP_GRACE + 3
        assert running.recorder.texts("error") == []   # asked to stop: no complaint
        assert running.recorder.texts("state")[-1] == "stopped"


def test_arguments_that_cannot_cross_are_one_sentence():
    with Running(loader=lambda name: None) as running:   # a lambda does not pickle
        running.thread.join(WAIT)
        errors = running.recorder.texts("error")
        assert len(errors) == 1 and errors[0].startswith("The training process could not start")
        assert running.recorder.texts("state") == ["stopped"]
        assert running.process.pid is None


def test_the_child_stops_when_the_parent_stops_listening():
    """A parent that dies closes its pipe: the child must notice and end, not train forever."""
    with Running() as running:
        wait_for(lambda: running.process.mailbox.latest() is not None, what="the first snapshot")
        running.process.send("play")
        time.sleep(0.2)
        running.process._sender.close()
        running.process._sender.connection.close()   # what the parent's death does to the pipe
        running.thread.join(WAIT)
        assert not running.thread.is_alive()
        assert running.recorder.texts("error") == []
        assert running.recorder.texts("state")[-1] == "stopped"


def test_the_parent_keeps_the_timeline_and_the_child_keeps_none():
    from cnnviz.session.process import SendingTimeline

    sent = []
    timeline = SendingTimeline(lambda *message: sent.append(message), every=50)
    offers = [(step, timeline.offer(step, f"snapshot {step}")) for step in (0, 10, 49, 50, 75, 100, 180)]
    assert [step for step, kept in offers if kept] == [0, 50, 100, 180]
    assert [m[:2] for m in sent] == [("timeline", 0), ("timeline", 50), ("timeline", 100), ("timeline", 180)]
    assert not hasattr(timeline, "_entries")   # nothing kept in the child
    timeline.clear()
    assert sent[-1] == ("timeline_clear",) and timeline.due(3)


def test_statistics_records_cross_once_and_come_back_shared():
    from cnnviz.session.process import StatsPacker, StatsUnpacker
    from cnnviz.session.snapshot import Snapshot

    records = [types.MappingProxyType({"step": i, "grad_norm": np.full(1000, float(i))}) for i in range(6)]
    histories = [records[:2], records[:4], records[:6], records[0:6:2],   # grows, grows, then thinned
                 records[:4],                                           # rewound: 1 and 3 come back
                 records[0:6:2] + [types.MappingProxyType({"step": 9, "grad_norm": np.zeros(1000)})]]
    packer, unpacker = StatsPacker(), StatsUnpacker()
    sizes, received = [], []
    for seq, history in enumerate(histories):
        wire = dumps(packer.pack(Snapshot(seq=seq, layers=(), stats=tuple(history))))
        sizes.append(len(wire))
        received.append(unpacker.unpack(loads(wire)))
    for history, snapshot in zip(histories, received):
        assert [dict(r)["step"] for r in snapshot.stats] == [dict(r)["step"] for r in history]
        for sent, got in zip(history, snapshot.stats):
            assert np.array_equal(sent["grad_norm"], got["grad_norm"])
    assert received[1].stats[0] is received[2].stats[0]     # one record, one object in the parent
    assert sizes[3] < sizes[2] / 2                            # thinned: only keys crossed

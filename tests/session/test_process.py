"""Training in a child process (cnnviz.session.process), without Qt: records cross intact and frozen,
commands arrive in order, a snapshot both live and kept crosses once, stopping is prompt even while
the child is busy, a child that dies or cannot start becomes one sentence, and nothing of it needs a
POSIX-only call."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from cnnviz.session import process as process_module
from cnnviz.session.process import STOP_GRACE, ProcessOutlet, SessionProcess
from cnnviz.session.snapshot import Snapshot
from session_helpers import SMALL, Recorder, noisy_loader, slow_loader, tiny_dataset

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
        self.recorder = Recorder()
        self.process = SessionProcess(notify=self.recorder, **options)
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
    assert running.process._process.returncode is not None and pid == running.process._process.pid  # reaped


def test_a_killed_child_is_one_sentence_and_run_returns():
    with Running() as running:
        wait_for(lambda: running.process.mailbox.latest() is not None, what="the first snapshot")
        running.process._process.kill()   # SIGKILL, or TerminateProcess on Windows: the child just ends
        running.thread.join(WAIT)
        assert not running.thread.is_alive()
        errors = running.recorder.texts("error")
        code = running.process._process.returncode
        assert len(errors) == 1 and "ended unexpectedly" in errors[0] and f"exit code {code})" in errors[0]
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
        running.process._process.stdin.close()   # what the parent's death does to the pipe
        running.thread.join(WAIT)
        assert not running.thread.is_alive()
        assert running.recorder.texts("error") == []
        assert running.recorder.texts("state")[-1] == "stopped"


class PostedSnapshots:
    """Stands for the child's Sender: what the outlet posts."""

    def __init__(self) -> None:
        self.snapshots, self.messages = [], []

    def post_snapshot(self, snapshot, live=False, step=False, keep=False) -> None:
        self.snapshots.append((snapshot.step, {"live": live, "step": step, "keep": keep}))

    def post(self, meta, arrays=None) -> None:
        self.messages.append(meta)


def test_the_child_offers_the_timeline_every_n_steps_and_sends_a_snapshot_once():
    sent = PostedSnapshots()
    outlet = ProcessOutlet(sent, every=50)
    for step in (0, 10, 49, 50, 75, 100, 151, 180):   # odd: kept only, not wanted live
        snapshot = Snapshot(seq=outlet.next_seq(), layers=(), step=step)
        if step % 2:
            outlet.keep_for_timeline(snapshot)
        else:
            outlet.publish_live(snapshot, keep=outlet.timeline_due(step))
    assert [step for step, flags in sent.snapshots if flags["keep"]] == [0, 50, 100, 151]
    # a live one that is also kept is posted once, flagged as both; a kept-only one not as live;
    # one neither wanted live nor due (49, 75) is not sent at all
    assert sent.snapshots[0] == (0, {"live": True, "step": False, "keep": True})
    assert (151, {"live": False, "step": False, "keep": True}) in sent.snapshots
    assert [step for step, _ in sent.snapshots] == [0, 10, 50, 100, 151, 180]
    outlet.clear_timeline()
    assert sent.messages[-1] == {"kind": "timeline_clear"} and outlet.timeline_due(3)


def test_a_snapshot_both_live_and_kept_is_one_object_in_the_window():
    with Running() as running:
        first = wait_for(lambda: running.process.mailbox.latest(), what="the first snapshot")
        entries = wait_for(lambda: running.process.timeline.entries(), what="the first kept snapshot")
        assert entries[0][1] is first   # built once, sent once: the mailbox and the timeline share it


def test_training_starts_without_any_posix_only_call(monkeypatch):
    """As on Windows: no fcntl, the POSIX-only paths switched off (also in the child, through the
    environment), and the child started with nothing but pipes on stdin and stdout."""
    monkeypatch.setenv("CNNVIZ_PORTABLE_ONLY", "1")
    monkeypatch.setitem(sys.modules, "fcntl", None)   # import fcntl now fails
    started = []
    real_popen = subprocess.Popen

    def portable_popen(args, **kwargs):
        started.append(kwargs)
        assert set(kwargs) <= {"stdin", "stdout", "stderr", "bufsize", "env"}, kwargs
        return real_popen(args, **kwargs)

    monkeypatch.setattr(process_module.subprocess, "Popen", portable_popen)
    assert not process_module.posix_extras()
    with Running(loader=noisy_loader, dataset="noisy", dataset_obj=None) as running:
        running.process.send("play")
        wait_for(lambda: running.poll() and any(s.phase == "training" for s in running.snapshots),
                 what="a live training snapshot")
        assert running.recorder.texts("error") == []
    assert started and started[0]["stdin"] == subprocess.PIPE and started[0]["stdout"] == subprocess.PIPE
    assert np.isfinite(running.snapshots[-1].batch_loss)

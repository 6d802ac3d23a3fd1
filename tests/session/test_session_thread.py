"""The Qt-free Session running its loop in a thread of its own, as a script would run it: what the
window's tests used to check through ``--worker thread`` (which the window no longer has), read
straight from the trainer while the loop is idle."""

from __future__ import annotations

import threading
import time

import numpy as np

from cnnviz.session import session as session_module
from cnnviz.session.outlet import LocalOutlet
from cnnviz.session.session import Session
from session_helpers import SMALL, Recorder, tiny_dataset

WAIT = 20.0


def wait_for(predicate, what: str):
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"{what} did not happen within {WAIT} s")


class Running:
    """A Session whose run() goes on in a thread; snapshots taken as the GUI would take them."""

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.session = Session(dataset_obj=tiny_dataset(), batch_size=16, trainer_options=SMALL,
                               outlet=LocalOutlet(self.recorder))
        self.thread = threading.Thread(target=self.session.run, name="cnnviz training")
        self.snapshots = []

    def __enter__(self):
        self.thread.start()
        wait_for(lambda: self.session.outlet.mailbox.latest(), "the first snapshot")
        return self

    def __exit__(self, *exc) -> None:
        self.session.request_stop()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()

    def poll(self) -> list:
        got = self.session.outlet.mailbox.take()
        self.snapshots += got
        return got

    def steps(self) -> list:
        return [s for s in self.snapshots if s.phase not in ("idle", "training")]

    def idle(self, state: str) -> None:
        """Wait until the loop is in ``state`` with no command left: it then waits on its queue."""
        wait_for(lambda: self.session.state == state and self.session.commands.empty(), f"state {state}")
        time.sleep(0.05)   # the command that set the state has returned


def test_snapshot_arrays_never_alias_the_live_model():
    with Running() as running:
        session = running.session
        session.send("play")
        wait_for(lambda: running.poll() is not None and any(s.phase == "training" for s in running.snapshots),
                 "a live training snapshot")
        session.send("pause")
        session.send("step_forward")
        session.send("step_forward")
        wait_for(lambda: running.poll() is not None and len(running.steps()) >= 2, "two steps")
        running.idle("stepping")
        trainer = session.trainer   # the loop is idle now: reading is safe
        live = list(trainer.optimizer.state_arrays().values()) + [trainer.dataset.x_train, trainer.dataset.x_test]
        for model in (trainer.model, trainer.twin):
            for layer in model.layers:
                live += list(layer.params.values()) + list(layer.grads.values())
                live += [a for a in layer.cache_state().values() if a is not None]
        shown = [s for s in running.snapshots if s.phase == "training"][-1:] + running.steps()[-1:]
        for snapshot in shown:
            arrays = [snapshot.probe_image, snapshot.probe_display, *snapshot.curves.values()]
            for layer in snapshot.layers:
                arrays += [layer.input, layer.output, layer.dL_dout, layer.mask, *layer.params.values(),
                           *layer.grads.values(), *layer.update.values()]
            arrays = [a for a in arrays if a is not None]
            assert len(arrays) > 10
            for array in arrays:
                assert not array.flags.writeable
                assert not any(np.shares_memory(array, other) for other in live)


def test_an_exception_in_the_loop_is_reported_and_the_thread_lives(monkeypatch):
    with Running() as running:
        session = running.session

        def boom(**kwargs):
            raise RuntimeError("kaboom")

        monkeypatch.setattr(session.trainer, "train_batch", boom)   # the loop is paused and idle
        session.send("play")
        wait_for(lambda: len(running.recorder.texts("error")) == 1, "the error")
        assert "kaboom" in running.recorder.texts("error")[0]
        running.idle("paused")
        monkeypatch.undo()
        session.send("step_batch")
        wait_for(lambda: session.outlet.mailbox.latest().step == 1, "a step")
        assert running.thread.is_alive() and session.state == "stepping"


def test_every_command_in_a_thread(tmp_path, monkeypatch):
    monkeypatch.setattr(session_module, "load_named_dataset", lambda name: tiny_dataset())
    path = str(tmp_path / "ckpt.npz")
    commands = [("set_lr", {"lr": 0.005}), ("set_batch_size", {"n": 8}), ("set_optimizer", {"name": "sgd"}),
                ("set_speed", {"batches_per_second": 50}), ("set_step_batch", {"n": 2}),
                ("set_probe", {"index": 3}), ("probe_next", {}), ("probe_prev", {}), ("probe_random", {}),
                ("step_batch", {}), ("step_forward", {}), ("step_back", {}), ("step_backward", {}),
                ("apply_update", {}), ("save_checkpoint", {"path": path}), ("reset", {}),
                ("load_checkpoint", {"path": path}), ("set_preset", {"name": "tiny"}),
                ("set_dataset", {"name": "digits"}), ("play", {}), ("pause", {})]
    with Running() as running:
        for name, kwargs in commands:
            running.session.send(name, **kwargs)
        wait_for(lambda: "Paused" in running.recorder.texts("message"), "the pause at the end")
        assert running.recorder.texts("error") == []
        messages = running.recorder.texts("message")
        assert any("Loaded checkpoint ckpt.npz (step 1)" in text for text in messages)
        assert any("Saved checkpoint ckpt.npz" in text for text in messages)
        running.poll()
        assert running.snapshots[-1].preset == "tiny"


def test_the_timeline_follows_a_threaded_run_and_a_reset_empties_it():
    with Running() as running:
        session = running.session
        session.outlet.timeline.every = 2
        session.send("play")
        wait_for(lambda: len(session.outlet.timeline) >= 4, "four kept snapshots")
        session.send("pause")
        running.idle("paused")
        steps = [step for step, _ in session.outlet.timeline.entries()]
        assert steps[0] == 0 and steps == sorted(steps)
        assert all(s.step == step for step, s in session.outlet.timeline.entries())
        session.send("reset")
        wait_for(lambda: [step for step, _ in session.outlet.timeline.entries()] == [0], "a fresh timeline")

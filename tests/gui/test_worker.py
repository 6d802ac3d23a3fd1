"""The worker: commands, snapshots, rewind, NaN, errors and a clean stop (pytest-qt), with training
in a child process. (What used to be read from the trainer through a training thread is checked on the
Qt-free Session in tests/session/test_session_thread.py.)"""

from __future__ import annotations

import functools
import time
import tracemalloc
import warnings

import numpy as np
import pytest

from cnnviz.data import Dataset, generate_digits
from cnnviz.gui.worker import SessionController

SMALL = dict(val_size=60, val_every=5)
WAIT = 10_000   # ms; generous because the test machine is shared


@functools.lru_cache(maxsize=1)
def tiny_dataset() -> Dataset:
    """256 training and 64 test generated digits (a few hundred images keep the tests fast)."""
    train, train_labels = generate_digits(256, seed=[7, 0])
    test, test_labels = generate_digits(64, seed=[7, 1])
    raw = train[:, None].astype(np.float32) / 255.0
    return Dataset(name="tiny-digits", class_names=tuple(str(d) for d in range(10)),
                   mean=float(raw.mean()), std=float(raw.std()),
                   raw_train=train[:, None], y_train=train_labels, raw_test=test[:, None], y_test=test_labels)


class Collector:
    """What the GUI would see: every snapshot ``take()`` hands over, and every signal."""

    def __init__(self, controller: SessionController) -> None:
        self.controller = controller
        self.snapshots = []
        self.errors, self.messages, self.states = [], [], []
        controller.error.connect(self.errors.append)
        controller.message.connect(self.messages.append)
        controller.state_changed.connect(self.states.append)

    def poll(self) -> list:
        got = self.controller.take()
        self.snapshots += got
        return got

    def steps(self):
        return [s for s in self.snapshots if s.phase not in ("idle", "training")]


def started(qtbot):
    made = SessionController(dataset_obj=tiny_dataset(), batch_size=16, trainer_options=SMALL)
    made.start()
    qtbot.waitUntil(lambda: made.latest() is not None, timeout=WAIT)
    return made


@pytest.fixture
def controller(qtbot):
    """A started controller on tiny data, training in a child process; always stopped and joined
    before the test ends."""
    made = started(qtbot)
    yield made
    assert made.stop(timeout=5.0)
    assert not made.is_running()


@pytest.fixture
def seen(controller):
    return Collector(controller)


def wait_state(qtbot, controller, state):
    qtbot.waitUntil(lambda: controller.state == state, timeout=WAIT)


def wait_steps(qtbot, seen, count):
    qtbot.waitUntil(lambda: seen.poll() is not None and len(seen.steps()) >= count, timeout=WAIT)


def test_starts_paused_with_a_snapshot(controller):
    assert controller.state == "paused"
    first = controller.take()
    assert first and first[-1].phase == "idle" and first[-1].step == 0


def test_play_pause_step_resume(qtbot, controller, seen):
    controller.send("play")
    wait_state(qtbot, controller, "playing")
    qtbot.waitUntil(lambda: seen.poll() is not None and controller.latest().step >= 3, timeout=WAIT)
    assert any(s.phase == "training" for s in seen.snapshots)
    controller.send("pause")
    wait_state(qtbot, controller, "paused")
    qtbot.waitUntil(lambda: "Paused" in seen.messages, timeout=WAIT)
    paused_at = controller.latest().step
    qtbot.wait(100)
    assert controller.latest().step == paused_at
    controller.send("step_forward")
    wait_state(qtbot, controller, "stepping")
    wait_steps(qtbot, seen, 1)
    assert (seen.steps()[-1].phase, seen.steps()[-1].layer_index) == ("forward", 0)
    controller.send("play")
    qtbot.waitUntil(lambda: controller.latest().step > paused_at + 2, timeout=WAIT)
    assert seen.states[:4] == ["playing", "paused", "stepping", "playing"]


def test_forward_through_all_layers_then_back_in_order(qtbot, controller, seen):
    n = len(controller.latest().layers)
    for command in ["step_forward"] * (n + 1) + ["step_backward"] * n + ["apply_update"]:
        controller.send(command)
    wait_steps(qtbot, seen, 2 * n + 2)
    steps = seen.steps()
    assert [(s.phase, s.layer_index) for s in steps] == (
        [("forward", i) for i in range(n)] + [("loss", None)]
        + [("backward", i) for i in reversed(range(n))] + [("update", None)])
    assert [s.seq for s in steps] == sorted(s.seq for s in steps)
    assert steps[-1].step == 1 and steps[-2].step == 0
    assert steps[-1].layers[0].update["W"].shape == steps[-1].layers[0].params["W"].shape


def test_step_back_restores_exactly_the_earlier_arrays(qtbot, controller, seen):
    n = len(controller.latest().layers)
    for command in ["step_forward"] * (n + 1) + ["step_backward"] * n + ["apply_update"]:
        controller.send(command)
    wait_steps(qtbot, seen, 2 * n + 2)
    before_update = seen.steps()[-2]
    controller.send("step_back")
    wait_steps(qtbot, seen, 2 * n + 3)
    restored = seen.steps()[-1]
    assert (restored.phase, restored.layer_index, restored.step) == ("backward", 0, 0)
    for old, new in zip(before_update.layers, restored.layers):
        for name in ("input", "output", "pre_activation", "dL_dout", "dL_dinput", "mask"):
            a, b = getattr(old, name), getattr(new, name)
            assert (a is None and b is None) or np.array_equal(a, b), (old.name, name)
        for group in ("params", "grads"):
            for key, value in getattr(old, group).items():
                assert np.array_equal(value, getattr(new, group)[key]), (old.name, group, key)


def test_stop_mid_training_joins_within_a_second_without_warnings(qtbot, qtlog):
    controller = SessionController(dataset_obj=tiny_dataset(), batch_size=16, trainer_options=SMALL)
    controller.start()
    controller.send("play")
    qtbot.waitUntil(lambda: controller.latest() is not None and controller.latest().step >= 2, timeout=WAIT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.perf_counter()
        assert controller.stop(timeout=1.0)
        elapsed = time.perf_counter() - started
        qtbot.wait(50)      # let queued signals arrive
    assert elapsed < 1.0
    assert not controller.is_running() and controller.state == "stopped"
    assert caught == []
    assert [r.message for r in qtlog.records] == []


def test_a_flood_of_10000_snapshot_requests_keeps_memory_bounded(qtbot, controller):
    controller.send("play")
    wait_state(qtbot, controller, "playing")
    tracemalloc.start()
    try:
        for i in range(10_000):
            controller.take() if i % 2 else controller.latest()
            if i % 100 == 0:
                qtbot.wait(1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MB"
    assert controller._session.outlet.mailbox.pending <= 1


def test_nan_run_pauses_with_the_message(qtbot, controller, seen):
    controller.send("set_lr", lr=1e30)
    controller.send("play")
    qtbot.waitUntil(lambda: len(seen.errors) >= 1, timeout=WAIT)
    assert "learning rate 1e+30" in seen.errors[0] and "paused" in seen.errors[0]
    wait_state(qtbot, controller, "paused")
    controller.send("set_lr", lr=0.001)
    controller.send("play")
    step = controller.latest().step
    qtbot.waitUntil(lambda: controller.latest().step > step + 2, timeout=WAIT)
    assert np.isfinite(controller.latest().batch_loss)


def test_a_failing_command_is_reported_and_the_worker_lives(qtbot, controller, seen):
    controller.send("set_lr")   # no lr: the command itself fails inside the worker
    qtbot.waitUntil(lambda: len(seen.errors) == 1, timeout=WAIT)
    assert "Internal error" in seen.errors[0] and "lr" in seen.errors[0]
    controller.send("step_batch")
    qtbot.waitUntil(lambda: controller.latest().step == 1, timeout=WAIT)
    wait_state(qtbot, controller, "stepping")   # the state arrives as a queued signal, maybe after the snapshot
    assert controller.is_running()


def test_every_command_through_the_process(qtbot, tmp_path):
    """In the child, set_dataset loads the real built-in digits (the process has its own modules)."""
    controller = started(qtbot)
    try:
        run_every_command(qtbot, controller, Collector(controller), tmp_path)
    finally:
        assert controller.stop(timeout=5.0)


def run_every_command(qtbot, controller, seen, tmp_path):
    path = str(tmp_path / "ckpt.npz")
    commands = [("set_lr", {"lr": 0.005}), ("set_batch_size", {"n": 8}), ("set_optimizer", {"name": "sgd"}),
                ("set_speed", {"batches_per_second": 50}), ("set_step_batch", {"n": 2}),
                ("set_probe", {"index": 3}), ("probe_next", {}), ("probe_prev", {}), ("probe_random", {}),
                ("step_batch", {}), ("step_forward", {}), ("step_back", {}), ("step_backward", {}),
                ("apply_update", {}), ("save_checkpoint", {"path": path}), ("reset", {}),
                ("load_checkpoint", {"path": path}), ("set_preset", {"name": "tiny"}),
                ("set_dataset", {"name": "digits"}), ("play", {}), ("pause", {})]
    for name, kwargs in commands:
        controller.send(name, **kwargs)
    qtbot.waitUntil(lambda: "Paused" in seen.messages, timeout=WAIT)
    assert seen.errors == []
    assert any("Loaded checkpoint ckpt.npz (step 1)" in text for text in seen.messages)
    assert any("Saved checkpoint ckpt.npz" in text for text in seen.messages)
    seen.poll()
    assert seen.snapshots[-1].preset == "tiny"


def test_speed_limit_slows_training(qtbot, controller):
    controller.send("set_speed", batches_per_second=20)
    controller.send("play")
    wait_state(qtbot, controller, "playing")
    start = controller.latest().step
    qtbot.wait(1000)     # 20 steps expected; unlimited, this network takes hundreds a second
    controller.send("pause")
    wait_state(qtbot, controller, "paused")
    qtbot.waitUntil(lambda: controller.latest().phase == "idle", timeout=WAIT)
    assert 8 <= controller.latest().step - start <= 30


def test_state_changes_arrive_in_the_gui_thread(qtbot, controller):
    import threading

    threads = []
    controller.state_changed.connect(lambda state: threads.append(threading.current_thread()))
    controller.send("play")
    wait_state(qtbot, controller, "playing")
    assert threads == [threading.main_thread()]


def test_drawn_probe_and_timeline_through_the_worker(qtbot, controller, seen):
    # the child offers the timeline a snapshot every 50 steps (the default), still quick here
    drawn = np.zeros((1, 28, 28), np.float32)
    drawn[0, 5:23, 13:15] = 1.0   # a "1"
    controller.send("set_probe_image", image=drawn)
    qtbot.waitUntil(lambda: controller.latest().probe_split == "drawn", timeout=WAIT)
    shown = controller.latest()
    assert shown.probe_label is None and np.allclose(shown.probe_display, drawn, atol=1e-5)
    controller.send("set_probe_image", image=np.zeros((28, 30)))
    qtbot.waitUntil(lambda: len(seen.errors) == 1, timeout=WAIT)
    assert "28x30" in seen.errors[0]
    controller.send("play")
    qtbot.waitUntil(lambda: len(controller.timeline()) >= 4, timeout=WAIT)
    controller.send("pause")
    wait_state(qtbot, controller, "paused")
    timeline = controller.timeline()
    steps = [step for step, _ in timeline]
    assert steps[0] == 0 and steps == sorted(steps) and all(s.step == step for step, s in timeline)
    assert all(s.probe_split == "drawn" for _, s in timeline[1:])
    controller.send("reset")
    qtbot.waitUntil(lambda: [step for step, _ in controller.timeline()] == [0], timeout=WAIT)

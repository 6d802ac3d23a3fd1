"""Every worker command, driven by hand without a thread (send, then tick)."""

import numpy as np
import pytest

from cnnviz.nn import DEFAULTS
from cnnviz.session.outlet import LocalOutlet
from cnnviz.session.session import COMMANDS, Session

from session_helpers import SMALL, Recorder, run_commands


def test_start_up_publishes_a_first_idle_snapshot(session):
    first = session.outlet.mailbox.take()
    assert len(first) == 1 and first[0].phase == "idle"
    assert first[0].val_accuracy is not None
    assert first[0].dataset == "tiny-digits" and first[0].preset == "seed"
    assert session.state == "paused"


def test_play_trains_and_pause_stops(session):
    run_commands(session, "play")
    assert session.state == "playing"
    for _ in range(5):
        session.tick()
    assert session.trainer.step == 5
    taken = run_commands(session, "pause")
    assert session.state == "paused" and taken[-1].phase == "idle" and taken[-1].step == 5
    session.tick(wait=0)
    assert session.trainer.step == 5
    assert ("message", "Paused") in session.recorder.events


def test_live_snapshots_only_when_the_gui_asks(session):
    session.outlet.mailbox.take()
    session.outlet.mailbox.pacer.min_interval, session.outlet.mailbox.pacer.budget = 0, float("inf")   # no spacing: count requests only
    run_commands(session, "play")
    session.tick()
    assert [s.phase for s in session.outlet.mailbox.take()] == ["training"]
    session.tick()                    # taken above, so one more is built; nobody takes it
    for _ in range(3):
        session.tick()
    assert session.outlet.mailbox.pending == 1


def test_stepping_delivers_every_step_in_order(session):
    session.outlet.mailbox.take()
    n = len(session.trainer.model.layers)
    taken = run_commands(session, *(["step_forward"] * (n + 1) + ["step_backward"] * n + ["apply_update"]))
    assert [(s.phase, s.layer_index) for s in taken] == (
        [("forward", i) for i in range(n)] + [("loss", None)]
        + [("backward", i) for i in reversed(range(n))] + [("update", None)])
    assert [s.seq for s in taken] == sorted(s.seq for s in taken)
    assert session.state == "stepping"
    # the walk steps the probe every panel shows (test image 0), not a training image
    assert taken[-1].step == 1 and taken[-1].probe_split == "test" and taken[-1].probe_index == 0
    assert all(s.probe_index == 0 and s.probe_label == taken[0].probe_label for s in taken)
    assert np.array_equal(taken[0].probe_image, session.trainer.dataset.x_test[0])


def test_a_walk_shows_only_what_it_has_computed(session):
    taken = run_commands(session, "step_forward")
    shown = taken[-1]
    assert shown.layers[0].output is not None and shown.layers[1].output is None
    assert all(not layer.grads for layer in shown.layers)
    n = len(shown.layers)
    taken = run_commands(session, *(["step_forward"] * n + ["step_backward"]))
    last = taken[-1]
    assert last.layers[-1].grads and not last.layers[0].grads
    assert last.probs is not None and last.probe_loss is not None


def test_step_back_restores_the_earlier_snapshot_arrays(session):
    session.outlet.mailbox.take()
    taken = run_commands(session, "step_forward", "step_forward", "step_forward")
    again = run_commands(session, "step_back")
    assert (again[-1].phase, again[-1].layer_index) == ("forward", 1)
    for old, new in zip(taken[1].layers, again[-1].layers):
        for name in ("input", "output", "dL_dout"):
            a, b = getattr(old, name), getattr(new, name)
            assert (a is None and b is None) or np.array_equal(a, b)
        for key in old.params:
            assert np.array_equal(old.params[key], new.params[key])


def test_refused_steps_are_messages_not_errors(session):
    run_commands(session, "step_backward", "apply_update", "step_back")
    assert len(session.recorder.texts("message")) == 3
    assert session.recorder.texts("error") == []


def test_step_batch_pauses_live_training_and_delivers_one_snapshot(session):
    run_commands(session, "play")
    session.tick()
    step = session.trainer.step
    taken = run_commands(session, "step_batch")
    assert session.state == "stepping" and session.trainer.step == step + 1
    assert taken[-1].phase == "training" and taken[-1].layers[0].update


def test_settings_commands(session):
    run_commands(session, ("set_lr", {"lr": 0.002}), ("set_batch_size", {"n": 8}),
                 ("set_speed", {"batches_per_second": 5}), ("set_step_batch", {"n": 3}))
    assert session.trainer.lr == 0.002 and session.trainer.optimizer.lr == 0.002
    assert session.trainer.batch_size == 8 and session.speed == 5 and session.stepper.step_batch == 3
    run_commands(session, ("set_optimizer", {"name": "sgd"}), ("set_speed", {"batches_per_second": None}))
    assert session.trainer.optimizer.kind == "sgd" and session.trainer.optimizer.lr == 0.002
    assert session.speed is None
    assert session.recorder.texts("error") == []


def test_bad_settings_give_one_error_sentence_each(session):
    run_commands(session, ("set_lr", {"lr": -3}), ("set_batch_size", {"n": 0}), ("set_optimizer", {"name": "rmsprop"}),
                 ("set_speed", {"batches_per_second": -1}), ("set_preset", {"name": "nope"}),
                 ("set_probe", {"index": -1}), ("fly", {}), ("load_checkpoint", {"path": "/no/such.npz"}))
    errors = session.recorder.texts("error")
    assert len(errors) == 8
    assert all(text.endswith(".") for text in errors)
    assert session.trainer.lr == 0.01 and session.trainer.preset == "seed"


def test_reset_gives_the_starting_weights_again(session):
    start = session.outlet.mailbox.take()[-1]
    run_commands(session, "play")
    for _ in range(3):
        session.tick()
    taken = run_commands(session, "reset")
    fresh = taken[-1]
    assert fresh.step == 0 and fresh.images_seen == 0 and fresh.curves["loss"].shape == (2, 0)
    assert np.array_equal(fresh.layers[0].params["W"], start.layers[0].params["W"])
    assert session.state == "playing", "reset keeps training if it was training"


def test_set_preset_rebuilds_the_network(session):
    taken = run_commands(session, ("set_preset", {"name": "tiny"}))
    assert taken[-1].preset == "tiny" and session.trainer.model.preset == "tiny"


def test_each_preset_brings_its_recommended_learning_rate(session):
    """sigmoid recommends a slow 0.0003 (its lesson: early gradients stay small); seed recommends
    none, so switching back after a sigmoid lesson brings the default rate, not a crawl at 0.0003."""
    taken = run_commands(session, ("set_preset", {"name": "sigmoid"}))
    assert session.trainer.lr == session.trainer.optimizer.lr == 0.0003
    assert taken[-1].lr == 0.0003 and session.settings["lr"] == 0.0003
    taken = run_commands(session, ("set_preset", {"name": "seed"}))
    assert taken[-1].preset == "seed" and session.trainer.optimizer.lr == DEFAULTS.lr == taken[-1].lr


def test_set_dataset_loads_through_the_loader(dataset):
    recorder = Recorder()
    loaded = []
    session = Session(dataset="first", outlet=LocalOutlet(recorder), loader=lambda name: loaded.append(name) or dataset,
                      trainer_options=SMALL)
    session.start_up()
    run_commands(session, ("set_dataset", {"name": "second"}))
    assert loaded == ["first", "second"] and session.dataset_name == "second"


def test_a_failing_dataset_is_reported_and_commands_wait_for_one(dataset):
    from cnnviz.errors import DatasetError

    def broken(name):
        raise DatasetError(f"dataset {name!r} is missing.")

    recorder = Recorder()
    session = Session(dataset="gone", outlet=LocalOutlet(recorder), loader=broken)
    session.start_up()
    run_commands(session, "play")
    assert recorder.texts("error") == ["dataset 'gone' is missing.",
                                       "Cannot play: no dataset is loaded; choose one first."]


def test_choosing_a_dataset_after_a_failed_start_loads_it(dataset):
    """--data named a missing folder: the window says so, and the Data box must still work."""
    from cnnviz.errors import DatasetError

    def loader(name):
        if name == "gone":
            raise DatasetError("/gone: no such folder.")
        return dataset

    recorder = Recorder()
    session = Session(dataset="gone", outlet=LocalOutlet(recorder), loader=loader, trainer_options=SMALL)
    session.start_up()
    taken = run_commands(session, ("set_dataset", {"name": "digits"}), "step_forward")
    assert recorder.texts("error") == ["/gone: no such folder."]
    assert taken[-1].dataset == dataset.name and taken[-1].phase == "forward"


def test_checkpoint_save_and_load_round_trip(session, tmp_path):
    path = tmp_path / "run.npz"
    run_commands(session, "step_batch", "step_batch", ("save_checkpoint", {"path": str(path)}))
    saved = [layer.params["W"].copy() for layer in session.trainer.model.layers if layer.params]
    run_commands(session, "reset")
    taken = run_commands(session, ("load_checkpoint", {"path": str(path)}))
    assert taken[-1].step == 2 and "Loaded checkpoint run.npz" in taken[-1].message
    loaded = [layer.params["W"] for layer in session.trainer.model.layers if layer.params]
    assert all(np.array_equal(a, b) for a, b in zip(saved, loaded))
    assert any("Saved checkpoint run.npz" in text for text in session.recorder.texts("message"))
    run_commands(session, "step_batch")   # the loaded model trains on
    assert session.trainer.step == 3


def test_probe_commands(session):
    n = len(session.trainer.dataset.y_test)
    taken = run_commands(session, ("set_probe", {"index": 5}))
    assert taken[-1].probe_index == 5
    assert run_commands(session, "probe_next")[-1].probe_index == 6
    assert run_commands(session, "probe_prev", "probe_prev")[-1].probe_index == 4
    run_commands(session, ("set_probe", {"index": 0}), "probe_prev")
    assert session.trainer.probe_index == n - 1
    assert 0 <= run_commands(session, "probe_random")[-1].probe_index < n


def test_nan_run_pauses_with_the_sentence(session):
    run_commands(session, ("set_lr", {"lr": 1e30}), "play")
    for _ in range(20):
        session.tick()
        if session.state != "playing":
            break
    assert session.state == "paused"
    errors = session.recorder.texts("error")
    assert len(errors) == 1 and "learning rate 1e+30" in errors[0] and "paused" in errors[0]
    run_commands(session, ("set_lr", {"lr": 0.001}), "play")
    session.tick()
    assert np.isfinite(session.trainer.last_loss)


def test_an_unexpected_exception_is_reported_and_the_loop_goes_on(session, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(session.trainer, "train_batch", boom)
    run_commands(session, "play")
    session.tick()
    errors = session.recorder.texts("error")
    assert len(errors) == 1 and "kaboom" in errors[0] and session.state == "paused"
    monkeypatch.undo()
    run_commands(session, "play")
    session.tick()
    assert session.trainer.step == 1


WINDOW_COMMANDS = {
    "play", "pause", "step_batch", "step_forward", "step_backward", "step_back", "apply_update", "reset",
    "set_lr", "set_batch_size", "set_optimizer", "set_speed", "set_dataset", "set_preset",
    "load_checkpoint", "save_checkpoint", "set_probe", "probe_next", "probe_prev", "probe_random",
    "set_step_batch", "set_probe_image", "set_schedule", "set_paper_settings", "set_walk_probe",
    "probe_hardest", "probe_misclassified", "probe_least_confident",
}


def test_every_command_the_window_sends_is_served():
    """The table serves the window's commands; every name the window's code sends literally is one."""
    import re
    from pathlib import Path

    assert set(COMMANDS) == WINDOW_COMMANDS and all(callable(handler) for handler in COMMANDS.values())
    gui = Path(__file__).resolve().parents[2] / "cnnviz" / "gui"
    sent = {name for path in gui.rglob("*.py")
            for name in re.findall(r"send\(\s*\"(\w+)\"", path.read_text(encoding="utf-8"))}
    assert len(sent) >= 5 and sent <= set(COMMANDS), sorted(sent - set(COMMANDS))


def test_a_new_network_ends_the_walk(session):
    run_commands(session, "step_forward", "step_forward")
    assert session.state == "stepping"
    run_commands(session, "reset")
    assert session.state == "paused" and session.stepper.walk is None
    run_commands(session, "step_back")
    assert session.recorder.texts("message")[-1] == "There is no earlier step to go back to."


def test_steps_after_live_training_show_its_last_update(session):
    run_commands(session, "play")
    session.tick()
    taken = run_commands(session, "step_forward")
    assert taken[-1].phase == "forward" and taken[-1].layers[0].update


def test_nan_while_stepping_is_reported_at_the_loss_and_ends_the_walk(session):
    n = len(session.trainer.model.layers)
    run_commands(session, ("set_lr", {"lr": 1e30}), "step_batch")   # finite loss, then huge weights
    taken = run_commands(session, *(["step_forward"] * (n + 1)))
    errors = session.recorder.texts("error")
    assert len(errors) == 1 and "learning rate 1e+30" in errors[0]
    assert session.stepper.walk is None and taken[-1].phase == "idle"
    assert all(np.isfinite(v).all() for params, _ in session.trainer.model.parameters() for v in params.values())


def test_a_bad_dataset_name_keeps_the_current_data_and_network(dataset):
    from cnnviz.errors import DatasetError

    def loader(name):
        if name != "good":
            raise DatasetError(f"unknown dataset {name!r}.")
        return dataset

    recorder = Recorder()
    session = Session(dataset="good", outlet=LocalOutlet(recorder), loader=loader, trainer_options=SMALL)
    session.start_up()
    model = session.trainer.model
    run_commands(session, "play", ("set_dataset", {"name": "nope"}))
    assert recorder.texts("error") == ["unknown dataset 'nope'."]
    assert session.trainer.model is model and session.state == "playing"


def test_nonsense_numbers_get_a_sentence_not_a_python_message(session):
    run_commands(session, ("set_batch_size", {"n": "lots"}), ("set_step_batch", {"n": 2.5}),
                 ("set_probe", {"index": None}), ("set_lr", {"lr": "fast"}), ("set_speed", {"batches_per_second": "x"}))
    errors = session.recorder.texts("error")
    assert len(errors) == 5
    assert not any("invalid literal" in text or "could not convert" in text for text in errors), errors


def test_step_snapshots_show_the_current_weights_and_share_them(session):
    n = len(session.trainer.model.layers)
    taken = run_commands(session, *(["step_forward"] * (n + 1) + ["step_backward"] * n + ["apply_update", "step_forward"]))
    steps = [s for s in taken if s.phase != "idle"]
    update, after = steps[-2], steps[-1]
    live = session.trainer.model.layers[0].params["W"]
    assert np.array_equal(update.layers[0].params["W"], live)
    assert not np.shares_memory(update.layers[0].params["W"], live)
    assert after.layers[0].params["W"] is update.layers[0].params["W"], "unchanged weights are shared"
    assert not np.array_equal(steps[0].layers[0].params["W"], live), "the update changed them"


def test_a_flood_of_unread_steps_keeps_memory_bounded(session):
    import tracemalloc

    session.outlet.mailbox.take()
    tracemalloc.start()
    try:
        for _ in range(500):
            session.send("step_forward")
        session.tick(wait=0)            # the GUI never takes any
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert session.outlet.mailbox.pending == 128
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MB"


def test_a_run_file_opens_like_a_checkpoint(session, tmp_path):
    from cnnviz.runs import RunRecorder, run_info

    run_commands(session, "step_batch", "step_batch")
    trainer = session.trainer
    recorder = RunRecorder(trainer, run_info(trainer, trainer.dataset, trainer.settings, 1, 0, None))
    recorder.keep()
    path = tmp_path / "run.cnnviz"
    recorder.save(path)
    saved = [layer.params["W"].copy() for layer in trainer.model.layers if layer.params]
    run_commands(session, "reset")
    taken = run_commands(session, ("load_checkpoint", {"path": str(path)}))
    assert taken[-1].step == 2 and "Loaded checkpoint run.cnnviz" in taken[-1].message
    loaded = [layer.params["W"] for layer in session.trainer.model.layers if layer.params]
    assert all(np.array_equal(a, b) for a, b in zip(saved, loaded))
    path.write_bytes(b"not a run")
    run_commands(session, ("load_checkpoint", {"path": str(path)}))
    assert str(path) in session.recorder.texts("error")[-1]

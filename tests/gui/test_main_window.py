"""The main window driven as a user would: keys, toolbar, menus, docks, layout, errors, closing.

Most tests use the shared FakeController (tests/gui/fakes.py: it records every command and hands
over the snapshots a test pushes), so each control can be checked for the exact command it sends.
The tests using ``real`` drive the real worker and join it before they end.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

import pytest
from PyQt6.QtCore import Qt

from cnnviz.data import Dataset, generate_digits
from cnnviz.gui.controller import Controller
from cnnviz.gui.dock_layout import STRIP_DOCK, TEACH_DOCKS
from cnnviz.gui.main_window import MainWindow
from cnnviz.gui.status_bar import STATUS_MAX_HZ, STATUS_TEMPLATES
from cnnviz.nn import DEFAULTS
from fakes import FakeController, deliver


def stepped(snapshot, phase, layer_index, seq):
    return dataclasses.replace(snapshot, phase=phase, layer_index=layer_index, seq=seq)


def structure(node):
    """A dock-area state without its pixel sizes: which docks sit in which containers."""
    kind, contents, _sizes = node
    return (kind, contents) if kind == "dock" else (kind, [structure(c) for c in contents])


# -- keyboard and toolbar ------------------------------------------------------------------------
KEYS = [
    (Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, "play"),
    (Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier, "step_forward"),
    (Qt.Key.Key_Left, Qt.KeyboardModifier.NoModifier, "step_backward"),
    (Qt.Key.Key_Backspace, Qt.KeyboardModifier.NoModifier, "step_back"),
    (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, "step_back"),
    (Qt.Key.Key_U, Qt.KeyboardModifier.NoModifier, "apply_update"),
    (Qt.Key.Key_R, Qt.KeyboardModifier.NoModifier, "reset"),
    (Qt.Key.Key_B, Qt.KeyboardModifier.NoModifier, "step_batch"),
]


@pytest.mark.parametrize("key, modifier, command", KEYS, ids=[k[2] + str(i) for i, k in enumerate(KEYS)])
def test_each_key_sends_its_command(qtbot, window, fake, key, modifier, command):
    qtbot.keyClick(window.centralWidget(), key, modifier)
    assert fake.commands() == [command]


def test_space_toggles_play_and_pause_and_the_button_follows(qtbot, window, fake):
    play = window.run_bar.action("play")
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_Space)
    assert fake.state == "playing" and play.text() == "Pause"
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_Space)
    assert fake.commands() == ["play", "pause"] and play.text() == "Play"


def test_every_toolbar_action_has_a_tooltip_and_sends_a_command(window, fake):
    expected = {"play": "play", "step_batch": "step_batch", "step_forward": "step_forward",
                "step_backward": "step_backward", "apply_update": "apply_update", "step_back": "step_back",
                "reset": "reset"}
    for name, command in expected.items():
        action = window.run_bar.action(name)
        assert len(action.toolTip()) > 20, name
        fake.sent.clear()
        action.trigger()
        assert fake.commands() == [command], name


def test_keys_still_work_with_the_toolbars_hidden(qtbot, window, fake):
    window.run_bar.hide()
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_Right)
    assert fake.commands() == ["step_forward"]


def test_settings_controls_send_their_commands(qtbot, window, fake):
    bar = window.settings_bar
    bar.dataset.activated.emit(bar.dataset.findText("mnist"))
    bar.preset.activated.emit(bar.preset.findText("lenet"))
    bar.optimizer.activated.emit(bar.optimizer.findText("sgd"))
    rate = 0.0007 if DEFAULTS.lr != 0.0007 else 0.0009   # any rate but the default sends a command
    bar.lr.setValue(rate)
    bar.batch.setValue(64)
    speed = window.speed_bar
    speed.speed.setValue(2)
    speed.speed.setValue(speed.speed.maximum())
    assert fake.sent == [("set_dataset", {"name": "mnist"}), ("set_preset", {"name": "lenet"}),
                        ("set_optimizer", {"name": "sgd"}), ("set_lr", {"lr": rate}),
                        ("set_batch_size", {"n": 64}), ("set_speed", {"batches_per_second": 1.0}),
                        ("set_speed", {"batches_per_second": None})]
    assert speed.speed_label.text() == "max"
    for widget in (bar.dataset, bar.preset, bar.optimizer, bar.lr, bar.batch, bar.walk, speed.speed):
        assert widget.toolTip(), widget


def test_the_walk_box_sets_how_many_images_a_stepping_walk_uses(window, fake):
    bar = window.settings_bar
    # 0: the walk steps the probe every panel shows; n: the next n training images
    assert (bar.walk.value(), bar.walk.minimum(), bar.walk.maximum()) == (0, 0, bar.batch.value())
    assert bar.walk.text() == "the probe" and "mean" in bar.walk.toolTip()
    bar.walk.setValue(4)
    assert fake.sent == [("set_step_batch", {"n": 4}), ("set_walk_probe", {"on": False})]
    assert bar.walk.text().endswith("4 images")
    bar.batch.setValue(2)                  # a walk is at most one batch: cut to it, and the worker told
    assert bar.walk.value() == 2 and fake.sent[-3:] == [("set_batch_size", {"n": 2}), ("set_step_batch", {"n": 2}),
                                                         ("set_walk_probe", {"on": False})]



def test_the_walk_box_shows_what_a_walk_really_runs(window, fake, make_snapshot):
    """A walk's snapshot says how many images it runs (e.g. set before a checkpoint load or by a
    script): the box follows it without sending anything back."""
    bar = window.settings_bar
    deliver(window, fake, dataclasses.replace(stepped(make_snapshot("seed", "forward"), "forward", 0, seq=5),
                                             probe_split="train", walk_images=3))
    assert bar.walk.value() == 3 and bar.walk.text().endswith("3 images")
    assert not any(command == "set_step_batch" for command, _ in fake.sent)


def in_view(window, widget) -> bool:
    """Shown in the window (not in a toolbar's "»" overflow menu, which hides it) and inside it."""
    if not widget.isVisible():
        return False
    rect = widget.rect().translated(widget.mapTo(window, widget.rect().topLeft()))
    return window.rect().contains(rect)


@pytest.mark.parametrize("size", [(1024, 768), (1280, 800), (1600, 1000)])
def test_every_toolbar_control_is_in_view_at_projector_and_desktop_widths(qtbot, window, size):
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() == size[0])
    controls = [window.run_bar.widgetForAction(a) for a in window.run_bar.actions() if not a.isSeparator()]
    bar, speed = window.settings_bar, window.speed_bar
    controls += [bar.dataset, bar.preset, bar.lr, bar.lr_now, bar.batch, bar.walk, bar.optimizer, speed.speed,
                 speed.speed_label, bar.schedule, bar.paper]

    def hidden():
        return [w.text() if hasattr(w, "text") else type(w).__name__ for w in controls if not in_view(window, w)]
    # the toolbars place their controls when the event loop lays them out: wait for that, not a while
    qtbot.waitUntil(lambda: hidden() == [], timeout=5000)
    beside = speed.geometry().top() == bar.geometry().top() or speed.geometry().top() == window.run_bar.geometry().top()
    # a row of its own only when nothing else has room (the schedule and paper's switch ride on the speed bar)
    widths = [b.sizeHint().width() for b in (window.run_bar, bar, speed)]
    room = widths[1] + widths[2] + 16 <= size[0] or widths[0] + widths[2] + 16 <= size[0]
    assert beside == room
    if size[0] != 1280:        # 1024: a row of its own; 1600: beside the settings (1280 depends on fonts)
        assert beside == (size[0] >= 1600)


@pytest.mark.parametrize("rate", [1e-6, 0.0003, 0.01, 500.0])
def test_the_learning_rate_box_shows_the_rate_in_use_and_sends_it_unchanged(window, fake, rate):
    box = window.settings_bar.lr
    window.settings_bar.set_values(lr=rate)            # the worker's rate: shown, nothing sent
    assert fake.sent == [] and box.value() == rate and float(box.text()) == rate
    box.setValue(0.5)
    box.setValue(rate)                                 # the user's: sent exactly as shown
    assert fake.sent[-1] == ("set_lr", {"lr": rate}) and float(box.text()) == rate


def test_a_rate_outside_the_box_range_is_shown_not_clipped(window, fake):
    box = window.settings_bar.lr
    window.settings_bar.set_values(lr=1e6)             # python main.py --lr 1e6
    assert box.value() == 1e6 and float(box.text()) == 1e6
    window.settings_bar.set_values(lr=1e-8)
    assert box.value() == 1e-8 and box.text() == "1e-8"


def test_a_typed_rate_in_scientific_notation_is_sent(qtbot, window, fake):
    box = window.settings_bar.lr
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "3e-4")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert fake.sent[-1] == ("set_lr", {"lr": 0.0003}) and box.text() == "0.0003"


def test_learning_rate_steps_are_log_like(window):
    lr = window.settings_bar.lr
    lr.setValue(0.01)
    lr.stepUp()
    assert math.isclose(lr.value(), 0.011)
    lr.setValue(0.0005)
    lr.stepDown()
    assert math.isclose(lr.value(), 0.0004, rel_tol=0.01) or math.isclose(lr.value(), 0.00049, rel_tol=0.01)


def test_a_snapshot_from_the_worker_updates_the_controls_without_sending(window, fake, make_snapshot):
    snap = dataclasses.replace(make_snapshot("lenet", "training"), lr=0.002, dataset="fashion-mnist")
    deliver(window, fake, snap)
    bar = window.settings_bar
    assert (bar.preset.currentText(), bar.dataset.currentText()) == ("lenet", "fashion-mnist")
    assert math.isclose(bar.lr.value(), 0.002) and fake.sent == []


def test_checkpoint_menu_paths(window, fake, tmp_path):
    window.save_checkpoint(tmp_path / "run1")
    good = tmp_path / "run1.npz"
    good.write_bytes(b"x")
    window.open_checkpoint(good)
    assert fake.sent == [("save_checkpoint", {"path": str(good)}), ("load_checkpoint", {"path": str(good)})]
    window.open_checkpoint(tmp_path / "missing.npz")
    assert "missing.npz" in window.messages.text() and window.messages.kind == "error"
    assert len(fake.sent) == 2


# -- snapshots, strip and panels -------------------------------------------------------------------
def test_snapshot_fills_visible_panels_and_status_bar(window, fake, make_snapshot):
    snap = deliver(window, fake, make_snapshot("seed", "training"))
    assert window.latest is snap
    assert window.strip.layer_count == len(snap.layers)
    assert window.selected_layer == 0          # the first conv layer
    assert all(window.scheduler.shows(p.title) == (snap.seq, 0) for p in window.panels)
    status = {k: v.text() for k, v in window.status.fields.items()}
    assert status["step"] == "step 1" and status["phase"] == "training"
    assert status["loss"] == f"batch loss {snap.batch_loss:.4f}"


@pytest.mark.parametrize("phase, layer", [("forward", 2), ("backward", 6), ("forward", 4)])
def test_stepping_highlights_the_block_and_fills_panels_for_that_layer(window, fake, make_snapshot, phase, layer):
    base = make_snapshot("seed", "backward")
    snap = deliver(window, fake, stepped(base, phase, layer, seq=50 + layer))
    assert window.strip.highlighted() == [(layer, phase)]
    assert window.selected_layer == layer and window.strip.selected == layer
    assert all(window.scheduler.shows(p.title) == (snap.seq, layer) for p in window.panels)
    assert f"layer {layer}" in window.status.fields["phase"].text()


def count_set_text(label) -> list[str]:
    """Every text ``label.setText`` is called with from now on."""
    calls, real = [], label.setText
    label.setText = lambda text: (calls.append(text), real(text))[1]
    return calls


def test_live_play_shows_the_status_a_few_times_a_second_but_every_step_at_once(clocked_window, fake, clock,
                                                                                  make_snapshot):
    window = clocked_window
    base = make_snapshot("seed", "training")
    fake.send("play")
    assert window.status.fields["state"].text() == "playing"          # a state change: at once
    step_texts = count_set_text(window.status.fields["step"])
    for i in range(30):                                                  # one second of live play at 30 Hz
        deliver(window, fake, dataclasses.replace(base, seq=100 + i, step=10 + i, images_per_second=1000 + i))
        clock.now += 1 / 30
    assert 1 <= len(step_texts) <= 1 + STATUS_MAX_HZ, step_texts
    clock.now += 1 / STATUS_MAX_HZ
    window.pull()                                                        # no new snapshot: the last one shows
    assert window.status.fields["step"].text() == "step 39"
    assert window.status.fields["speed"].text() == "1,029 images/s"

    fake.send("pause")
    assert window.status.fields["state"].text() == "paused"
    fake.current = "stepping"
    step_base = make_snapshot("seed", "backward")
    for i, (phase, layer) in enumerate([("forward", 0), ("forward", 1), ("forward", 2), ("backward", 2)]):
        deliver(window, fake, dataclasses.replace(stepped(step_base, phase, layer, seq=200 + i), step=40 + i))
        # the clock stands still: every step shows at once anyway
        assert window.status.fields["phase"].text().startswith(f"{phase}, layer {layer} (")
        assert window.status.fields["step"].text() == f"step {40 + i}"
        assert window.status.fields["state"].text() == "stepping"


def test_live_loss_figures_in_status_strip_and_lecture_caption_always_agree(clocked_window, fake, clock,
                                                                            make_snapshot):
    """Each batch's loss jumps (0.17, then 0.0002): every place that writes it must show the same one."""
    window = clocked_window
    window.set_lecture_mode(True)
    base = make_snapshot("seed", "training")
    fake.send("play")
    rng = np.random.default_rng(0)
    shown = set()
    for i in range(45):
        loss = float(rng.choice([0.17, 0.0002, 1.5]) + i * 1e-4)
        deliver(window, fake, dataclasses.replace(base, seq=300 + i, step=300 + i, batch_loss=loss))
        clock.now += 1 / 30
        status = window.status.fields["loss"].text().removeprefix("batch loss ")
        assert f"{window.strip.loss:.4f}" == status
        assert f"loss {float(status):.3f}" in window.lecture.caption.text()
        shown.add(status)
    assert 3 <= len(shown) <= 2 + 1.5 * STATUS_MAX_HZ   # it moved, a few times a second
    window.set_lecture_mode(False)


def test_status_fields_repaint_only_when_their_text_changes(window, fake, make_snapshot):
    snap = deliver(window, fake, make_snapshot("seed", "training"))
    calls = {name: count_set_text(label) for name, label in window.status.fields.items()}
    for _ in range(5):
        window.pull()
    deliver(window, fake, dataclasses.replace(snap, seq=snap.seq + 1, step=snap.step + 1))
    calls.pop("fps")                     # a new frame may change the frames/s, rightly
    assert {name: texts for name, texts in calls.items() if texts} == {"step": [f"step {snap.step + 1}"]}


def fits(label) -> bool:
    return label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()


def test_status_fields_keep_a_fixed_size_as_digits_change_and_grow_to_fit_long_numbers(window, fake, make_snapshot):
    fields = {name: window.status.fields[name] for name in STATUS_TEMPLATES}
    base = make_snapshot("seed", "training")
    deliver(window, fake, base)
    assert all(label.minimumSize() == label.maximumSize() for label in fields.values())   # no layout pass
    # frames/s depends on how fast this test delivers (past 99 here, never in the 30 Hz program)
    sized = {name: label for name, label in fields.items() if name != "fps"}
    sizes = {name: label.size() for name, label in sized.items()}
    for i, loss in enumerate((0.9876, 12.3456, 2.0)):
        deliver(window, fake, dataclasses.replace(base, seq=10 + i, step=99_999 - i, epoch=i, batch_loss=loss,
                                                 images_per_second=12_345.0 - i))
        assert {name: label.size() for name, label in sized.items()} == sizes
        assert all(fits(label) for label in fields.values())
    deliver(window, fake, dataclasses.replace(base, seq=20, step=123_456_789, images_per_second=1_234_567.0))
    assert window.status.fields["step"].text() == "step 123456789"
    assert all(fits(label) for label in fields.values())           # widened once, never clipped
    font = window.statusBar().font()
    font.setPointSizeF(font.pointSizeF() * 1.6)                     # what lecture mode does
    window.statusBar().setFont(font)
    assert all(fits(label) and label.height() >= label.fontMetrics().height() for label in fields.values())


def test_loss_and_update_steps_highlight_loss_block_and_parameter_layers(window, fake, make_snapshot):
    base = make_snapshot("seed", "update")
    deliver(window, fake, stepped(base, "loss", 8, seq=90))
    assert window.strip.highlighted() == [("loss", "loss")]
    deliver(window, fake, stepped(base, "update", None, seq=91))
    assert [i for i, _ in window.strip.highlighted()] == [0, 2, 6, 8]


def test_clicking_a_block_selects_the_layer_and_redraws_panels(qtbot, window, fake, make_snapshot):
    snap = deliver(window, fake, make_snapshot("seed", "backward"))
    with qtbot.waitSignal(window.strip.layer_selected) as blocker:
        qtbot.mouseClick(window.strip, Qt.MouseButton.LeftButton,
                         pos=window.strip.block_rect(4).center().toPoint())
    assert blocker.args == [4]
    assert window.selected_layer == 4
    assert all(window.scheduler.shows(p.title) == (snap.seq, 4) for p in window.panels)


def test_hidden_panels_are_not_drawn_until_shown_again(window, fake, make_snapshot):
    title = window.panels[0].title
    window.dock_layout.show(title, False)
    snap = deliver(window, fake, make_snapshot("seed", "training"))
    assert window.scheduler.shows(title) is None
    window.dock_layout.show(title, True)
    window.pull()
    assert window.scheduler.shows(title) == (snap.seq, window.selected_layer)


def test_a_failing_panel_is_reported_and_the_others_keep_drawing(window, fake, make_snapshot):
    broken = window.panels[0]
    broken.show_snapshot = lambda snapshot, layer: 1 / 0
    snap = deliver(window, fake, make_snapshot("seed", "training"))
    assert broken.title in window.messages.text() and "ZeroDivisionError" in window.messages.text()
    assert all(window.scheduler.shows(p.title) == (snap.seq, 0) for p in window.panels[1:])


def test_worker_errors_show_in_the_window_and_it_keeps_working(qtbot, window, fake, make_snapshot):
    fake.error.emit("the loss became NaN at step 12; lower the learning rate.")
    assert window.messages.isVisible() and "NaN" in window.messages.text()
    snap = deliver(window, fake, make_snapshot("seed", "training"))
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_Right)
    assert window.latest is snap and fake.commands() == ["step_forward"]


def test_panel_frames_are_counted(window, fake, make_snapshot):
    base = make_snapshot("seed", "training")
    for seq in range(5):
        deliver(window, fake, dataclasses.replace(base, seq=100 + seq))
    assert window.frames_drawn == 5
    window.pull()                                  # nothing new: nothing redrawn
    assert window.frames_drawn == 5


def test_a_new_architecture_rebuilds_the_strip(window, fake, make_snapshot):
    deliver(window, fake, make_snapshot("seed", "training"))
    tiny = deliver(window, fake, make_snapshot("tiny", "training"))
    assert window.strip.layer_count == len(tiny.layers)
    assert window.selected_layer < len(tiny.layers)


# -- docks and layout --------------------------------------------------------------------------------
def test_the_real_controller_and_the_fake_keep_the_same_protocol(fake):
    from cnnviz.gui.worker import SessionController

    assert isinstance(fake, Controller)
    real = SessionController(dataset_obj=small_digits())   # never started: no thread, no process
    assert isinstance(real, Controller)
    for name in ("send", "take", "latest", "timeline", "stop", "start"):
        assert callable(getattr(real, name)) and callable(getattr(fake, name)), name
    assert real.state == fake.state == "paused"


def test_every_panel_and_the_strip_have_a_dock_and_a_view_action(window):
    assert STRIP_DOCK in window.dock_layout.docks
    for panel in window.panels:
        assert panel.title in window.dock_layout.docks and window.menus.view_actions[panel.title].isChecked()
        assert window.dock_layout.is_visible(panel.title), panel.title


@pytest.mark.parametrize("which", [STRIP_DOCK, "a panel"])
def test_view_menu_closes_and_reopens_a_dock(qtbot, window, which):
    title = which if which == STRIP_DOCK else window.panels[2].title
    action = window.menus.view_actions[title]
    action.setChecked(False)
    assert not window.dock_layout.is_open(title) and not window.dock_layout.is_visible(title)
    action.setChecked(True)
    assert window.dock_layout.is_open(title)
    qtbot.waitUntil(lambda: window.dock_layout.is_visible(title))


def test_closing_a_dock_by_its_button_unticks_the_menu(window):
    title = window.panels[-1].title
    window.dock_layout.docks[title].label.sigCloseClicked.emit()
    assert not window.dock_layout.is_open(title) and not window.menus.view_actions[title].isChecked()


def test_layout_round_trips_through_settings(qtbot, fake, settings):
    first = MainWindow(fake, settings=settings)
    qtbot.addWidget(first)
    closed = first.panels[1].title
    first.dock_layout.show(closed, False)
    moved = first.dock_layout.docks[first.panels[0].title]
    first.area.moveDock(moved, "right", first.dock_layout.docks[STRIP_DOCK])
    state = first.area.saveState()
    first.save_layout()

    second = MainWindow(FakeController(), settings=settings)
    qtbot.addWidget(second)
    assert not second.dock_layout.is_open(closed) and not second.menus.view_actions[closed].isChecked()
    assert structure(second.area.saveState()["main"]) == structure(state["main"])


def test_reset_layout_reopens_everything(window):
    for panel in window.panels[:3]:
        window.dock_layout.show(panel.title, False)
    window.dock_layout.show(TEACH_DOCKS[0], True)
    window.reset_layout()
    assert all(window.dock_layout.is_open(t) == (t not in TEACH_DOCKS) for t in window.dock_layout.docks)
    assert structure(window.area.saveState()["main"]) == structure(window.dock_layout.default_state()["area"]["main"])


def test_a_damaged_saved_layout_falls_back_to_the_default(qtbot, fake, settings):
    settings.setValue("layout/docks", "{not json")
    win = MainWindow(fake, settings=settings)
    qtbot.addWidget(win)
    assert all(win.dock_layout.is_open(t) == (t not in TEACH_DOCKS) for t in win.dock_layout.docks)


def test_closing_the_window_stops_the_controller(qtbot, fake, settings):
    win = MainWindow(fake, settings=settings)
    qtbot.addWidget(win)
    win.show()
    win.close()
    assert fake.stopped and not win.timer.isActive()
    assert settings.value("layout/docks")


# -- the real worker thread ------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def small_digits():
    """A few hundred generated digits, so the real worker starts in a moment."""
    train, train_labels = generate_digits(192, seed=[5, 0])
    test, test_labels = generate_digits(48, seed=[5, 1])
    raw = train[:, None].astype(np.float32) / 255.0
    return Dataset(name="small-digits", class_names=tuple("0123456789"), mean=float(raw.mean()),
                   std=float(raw.std()), raw_train=train[:, None], y_train=train_labels,
                   raw_test=test[:, None], y_test=test_labels)


@pytest.fixture
def real(qtbot, settings):
    """The window around the real SessionController on small digits; the thread is joined at the end."""
    from cnnviz.gui.worker import SessionController

    controller = SessionController(dataset_obj=small_digits(), batch_size=16,
                                   trainer_options={"val_size": 24, "val_every": 5})
    win = MainWindow(controller, settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    controller.start()
    qtbot.waitUntil(lambda: win.latest is not None, timeout=10000)
    win.centralWidget().setFocus()
    yield win
    win.close()
    assert not controller.is_running()


def press(qtbot, window, key, times=1):
    for _ in range(times):
        qtbot.keyClick(window.centralWidget(), key)


def wait_for_step(qtbot, window, phase, layer):
    qtbot.waitUntil(lambda: (window.latest.phase, window.latest.layer_index) == (phase, layer), timeout=10000)
    window.pull()


def test_real_space_trains_and_closing_mid_training_joins_the_thread(qtbot, real):
    controller = real.controller
    press(qtbot, real, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: controller.state == "playing" and real.latest.images_seen >= 64, timeout=15000)
    qtbot.waitUntil(lambda: real.frames_drawn >= 3, timeout=10000)
    assert real.run_bar.action("play").text() == "Pause"
    assert real.status.fields["speed"].text().endswith("images/s")
    real.close()                                   # mid-training
    assert not controller.is_running() and controller.state == "stopped"


def test_real_stepping_walks_forward_loss_backward_update_and_back(qtbot, real):
    press(qtbot, real, Qt.Key.Key_Right, 3)
    wait_for_step(qtbot, real, "forward", 2)
    assert real.strip.highlighted() == [(2, "forward")] and real.selected_layer == 2
    seq = real.latest.seq
    assert all(real.scheduler.shows(p.title) == (seq, 2) for p in real.panels)
    assert real.latest.layers[2].output is not None and real.latest.layers[3].output is None

    press(qtbot, real, Qt.Key.Key_Right, 7)        # layers 3..8, then the loss
    wait_for_step(qtbot, real, "loss", None)
    assert real.strip.highlighted() == [("loss", "loss")]

    press(qtbot, real, Qt.Key.Key_Left)
    wait_for_step(qtbot, real, "backward", 8)
    assert real.strip.highlighted() == [(8, "backward")] and real.selected_layer == 8
    assert real.latest.layers[8].grads

    press(qtbot, real, Qt.Key.Key_Left, 8)
    wait_for_step(qtbot, real, "backward", 0)
    press(qtbot, real, Qt.Key.Key_U)
    wait_for_step(qtbot, real, "update", None)
    assert [i for i, _ in real.strip.highlighted()] == [0, 2, 6, 8]
    assert real.latest.step == 1

    press(qtbot, real, Qt.Key.Key_Backspace)
    wait_for_step(qtbot, real, "backward", 0)
    assert real.latest.step == 0


def test_real_refused_step_is_explained_in_the_window(qtbot, real):
    press(qtbot, real, Qt.Key.Key_Left)            # no forward pass yet
    qtbot.waitUntil(lambda: "forward" in real.messages.text().lower(), timeout=10000)


def test_real_bad_checkpoint_is_reported_and_training_goes_on(qtbot, real, tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"this is not a checkpoint")
    real.open_checkpoint(bad)
    qtbot.waitUntil(lambda: real.messages.kind == "error" and "broken.npz" in real.messages.text(), timeout=10000)
    press(qtbot, real, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: real.latest.step == 1, timeout=10000)


def test_real_checkpoint_round_trip(qtbot, real, tmp_path):
    press(qtbot, real, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: real.latest.step == 1, timeout=10000)
    real.save_checkpoint(tmp_path / "one")
    qtbot.waitUntil(lambda: (tmp_path / "one.npz").is_file(), timeout=10000)
    press(qtbot, real, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: real.latest.step == 2, timeout=10000)
    real.open_checkpoint(tmp_path / "one.npz")
    qtbot.waitUntil(lambda: real.latest.step == 1, timeout=10000)


# -- clicks on pictures and the probe buttons --------------------------------------------------------
def test_probe_buttons_send_probe_commands(window, fake):
    for kind, value in (("next", 0), ("prev", 0), ("random", 0), ("index", 17)):
        window.request_probe(kind, value)
    assert fake.sent == [("probe_next", {}), ("probe_prev", {}), ("probe_random", {}), ("set_probe", {"index": 17})]


def test_input_panel_signal_reaches_the_controller(window, fake):
    panel = next((p for p in window.panels if hasattr(p, "probe_requested")), None)
    if panel is None:
        pytest.skip("no panel with probe_requested")
    panel.probe_requested.emit("next", 0)
    assert fake.sent == [("probe_next", {})]


def test_clicking_a_conv_cell_opens_the_explain_window_with_the_engine_z(window, fake, make_snapshot):
    snap = deliver(window, fake, make_snapshot("seed", "backward"))
    window.explain_unit(2, 3, 4, 5)
    dialog = window.opener.unit_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.explanation["z"] == pytest.approx(float(snap.layers[2].pre_activation[3, 4, 5]), abs=1e-4)
    window.explain_unit(2, 1, 0, 0)                       # a second click re-targets the same window
    assert window.opener.unit_dialog is dialog and dialog.unit == (1, 0, 0)


def test_clicking_a_weight_opens_the_weight_window(window, fake, make_snapshot):
    deliver(window, fake, make_snapshot("seed", "update"))
    window.explain_weight(0, 2, 0, 1, 3)
    assert window.opener.weight_dialog is not None and window.opener.weight_dialog.isVisible()


def test_curves_are_redrawn_at_most_five_times_a_second_while_training_but_every_step(clocked_window, fake,
                                                                                      clock, make_snapshot):
    window = clocked_window
    curves = next(p.title for p in window.panels if "curves" in p.title.lower())
    base = make_snapshot("seed", "training")
    deliver(window, fake, dataclasses.replace(base, seq=300))
    deliver(window, fake, dataclasses.replace(base, seq=301))      # the same instant: too soon for the curves
    assert window.scheduler.shows(curves)[0] == 300 and window.scheduler.shows(window.panels[0].title)[0] == 301
    clock.advance(0.25)
    window.pull()
    assert window.scheduler.shows(curves)[0] == 301
    deliver(window, fake, dataclasses.replace(base, seq=302, phase="forward", layer_index=0))
    assert window.scheduler.shows(curves)[0] == 302


def test_space_and_arrows_come_back_after_using_a_spin_box(qtbot, window, fake):
    lr = window.settings_bar.lr
    lr.setFocus()
    lr.stepUp()                                   # an arrow click: the value is sent, the keys come back
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_Space)
    assert fake.commands() == ["set_lr", "play"]
    lr.setFocus()
    qtbot.keyClick(lr, Qt.Key.Key_Escape)         # Esc always hands the keys back
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_Right)
    assert fake.commands()[-1] == "step_forward"


def test_a_floating_panel_is_remembered_and_closes_with_the_window(qtbot, fake, settings):
    first = MainWindow(fake, settings=settings)
    qtbot.addWidget(first)
    first.show()
    title = first.panels[0].title
    first.dock_layout.docks[title].float()
    assert first.dock_layout.floating_titles() == [[title]] and first.dock_layout.is_open(title)
    first.close()
    assert not any(a.win.isVisible() for a in first.area.tempAreas)
    second = MainWindow(FakeController(), settings=settings)
    qtbot.addWidget(second)
    assert second.dock_layout.floating_titles() == [[title]]
    second.close()


def test_every_panel_click_signal_opens_an_explain_window(window, fake, make_snapshot):
    deliver(window, fake, make_snapshot("seed", "update"))
    clickable = [(p, name) for p in window.panels for name in ("unit_clicked", "weight_clicked") if hasattr(p, name)]
    assert clickable
    for panel, name in clickable:
        getattr(panel, name).emit(*((0, 1, 2, 3) if name == "unit_clicked" else (0, 1, 0, 2, 3)))
        dialog = window.opener.unit_dialog if name == "unit_clicked" else window.opener.weight_dialog
        assert dialog is not None and dialog.isVisible(), (panel.title, name)
        assert window.messages.kind != "error" or not window.messages.text(), window.messages.text()
        dialog.hide()


def test_the_window_opens_before_the_trainer_has_anything(qtbot, fake, settings):
    """Opening waits for nothing from the trainer (the data loads in the worker meanwhile): the
    controller is neither sent nor asked anything, and the strip says it is starting."""
    calls = []
    fake.take = lambda: calls.append("take") or []
    win = MainWindow(fake, settings=settings)
    qtbot.addWidget(win)
    win.show()
    assert calls == [] and fake.sent == [] and win.timer.isActive()
    assert "starting" in win.strip.caption()
    win.close()


def test_real_settings_controls_change_the_trainer(qtbot, real):
    bar = real.settings_bar
    bar.preset.activated.emit(bar.preset.findText("tiny"))
    qtbot.waitUntil(lambda: real.latest.preset == "tiny", timeout=10000)
    real.pull()
    assert real.strip.layer_count == len(real.latest.layers)
    assert [b.layer for b in real.strip.blocks[1:-1]] == [s.index for s in real.latest.layers]
    bar.lr.setValue(0.002)
    press(qtbot, real, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: abs(real.latest.lr - 0.002) < 1e-9 and real.latest.step >= 1, timeout=10000)
    assert "tiny" in real.windowTitle()


def test_the_timer_draws_panels_one_per_event_loop_turn(qtbot, window, fake, make_snapshot):
    assert window.stagger and window.timer.isActive()
    snap = make_snapshot("seed", "training")
    fake.push(snap)
    window.pull(stagger=True)
    shown = [window.scheduler.shows(p.title) for p in window.panels]
    assert shown.count((snap.seq, 0)) == 1 and window.scheduler.pending   # one now, the rest later
    qtbot.waitUntil(lambda: all(window.scheduler.shows(p.title) == (snap.seq, 0) for p in window.panels), timeout=3000)
    assert window.frames_drawn == 1


def test_a_reopened_panel_returns_beside_its_default_neighbour(qtbot, window):
    kernels = next(p.title for p in window.panels if "kernels" in p.title.lower())
    maps = next(p.title for p in window.panels if "feature maps" in p.title.lower())
    window.dock_layout.show(kernels, False)
    window.dock_layout.show(kernels, True)
    container = window.dock_layout.docks[kernels].container()
    assert window.dock_layout.docks[maps] in [container.widget(i) for i in range(container.count())]


def test_an_error_before_any_snapshot_says_how_to_go_on(window, fake):
    fake.error.emit("dataset 'fashion-mnist' is not on this computer; get it with: python main.py download fashion-mnist")
    assert "fashion-mnist" in window.messages.text()
    assert "choose a dataset" in window.strip.caption()


def test_a_refused_dataset_choice_puts_the_box_back(window, fake, make_snapshot):
    deliver(window, fake, make_snapshot("seed", "training"))          # dataset "mnist"
    bar = window.settings_bar
    bar.dataset.setCurrentIndex(bar.dataset.findText("cifar10"))
    bar.dataset.activated.emit(bar.dataset.currentIndex())
    fake.error.emit("dataset 'cifar10' is not on this computer; get it with: python main.py download cifar10")
    assert bar.dataset.currentText() == "mnist" and fake.sent[-1] == ("set_dataset", {"name": "cifar10"})

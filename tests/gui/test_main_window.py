"""The main window driven as a user would: keys, toolbar, menus, docks, layout, errors, closing.

Most tests use a spy controller with SessionController's API (it records every command and hands
over the snapshots a test pushes), so each control can be checked for the exact command it sends.
The tests marked ``real`` drive the real worker thread and join it before they end.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types

import numpy as np

import pytest
from PyQt6.QtCore import QObject, QSettings, Qt, pyqtSignal

from cnnviz.data import Dataset, generate_digits
from cnnviz.gui.docks import TEACH_DOCKS
import cnnviz.gui.main_window as main_window
import cnnviz.gui.status_bar as status_bar
from cnnviz.gui.main_window import STATUS_TEMPLATES, STRIP_DOCK, MainWindow
from cnnviz.nn import DEFAULTS


class SpyController(QObject):
    """SessionController's API without a thread: records commands, hands over pushed snapshots."""

    error = pyqtSignal(str)
    message = pyqtSignal(str)
    state_changed = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, dict]] = []
        self.pending: list = []
        self._latest = None
        self._state = "paused"
        self.stopped = False

    @property
    def state(self) -> str:
        return self._state

    def start(self) -> None:
        pass

    def send(self, command: str, **kwargs) -> None:
        self.sent.append((command, kwargs))
        if command in ("play", "pause"):
            self._state = "playing" if command == "play" else "paused"
            self.state_changed.emit(self._state)

    def push(self, snapshot) -> None:
        self.pending.append(snapshot)
        self._latest = snapshot

    def take(self) -> list:
        out, self.pending = self.pending, []
        return out

    def latest(self):
        return self._latest

    def stop(self, timeout: float = 1.0) -> bool:
        self.stopped = True
        self._state = "stopped"
        return True

    def commands(self) -> list[str]:
        return [name for name, _ in self.sent]


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "cnnviz.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def spy():
    return SpyController()


@pytest.fixture
def window(qtbot, spy, settings):
    win = MainWindow(spy, settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    win.centralWidget().setFocus()
    yield win
    win.close()


def stepped(snapshot, phase, layer_index, seq):
    return dataclasses.replace(snapshot, phase=phase, layer_index=layer_index, seq=seq)


def structure(node):
    """A dock-area state without its pixel sizes: which docks sit in which containers."""
    kind, contents, _sizes = node
    return (kind, contents) if kind == "dock" else (kind, [structure(c) for c in contents])


def deliver(window, spy, snapshot):
    spy.push(snapshot)
    window.pull()
    return snapshot


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
def test_each_key_sends_its_command(qtbot, window, spy, key, modifier, command):
    qtbot.keyClick(window.centralWidget(), key, modifier)
    assert spy.commands() == [command]


def test_space_toggles_play_and_pause_and_the_button_follows(qtbot, window, spy):
    play = window.run_bar.action("play")
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_Space)
    assert spy.state == "playing" and play.text() == "Pause"
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_Space)
    assert spy.commands() == ["play", "pause"] and play.text() == "Play"


def test_every_toolbar_action_has_a_tooltip_and_sends_a_command(window, spy):
    expected = {"play": "play", "step_batch": "step_batch", "step_forward": "step_forward",
                "step_backward": "step_backward", "apply_update": "apply_update", "step_back": "step_back",
                "reset": "reset"}
    for name, command in expected.items():
        action = window.run_bar.action(name)
        assert len(action.toolTip()) > 20, name
        spy.sent.clear()
        action.trigger()
        assert spy.commands() == [command], name


def test_keys_still_work_with_the_toolbars_hidden(qtbot, window, spy):
    window.run_bar.hide()
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_Right)
    assert spy.commands() == ["step_forward"]


def test_settings_controls_send_their_commands(qtbot, window, spy):
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
    assert spy.sent == [("set_dataset", {"name": "mnist"}), ("set_preset", {"name": "lenet"}),
                        ("set_optimizer", {"name": "sgd"}), ("set_lr", {"lr": rate}),
                        ("set_batch_size", {"n": 64}), ("set_speed", {"batches_per_second": 1.0}),
                        ("set_speed", {"batches_per_second": None})]
    assert speed.speed_label.text() == "max"
    for widget in (bar.dataset, bar.preset, bar.optimizer, bar.lr, bar.batch, bar.walk, speed.speed):
        assert widget.toolTip(), widget


def test_the_walk_box_sets_how_many_images_a_stepping_walk_uses(window, spy):
    bar = window.settings_bar
    assert (bar.walk.value(), bar.walk.minimum(), bar.walk.maximum()) == (1, 1, bar.batch.value())
    assert "1 image" in bar.walk.text() and "mean" in bar.walk.toolTip()
    bar.walk.setValue(4)
    assert spy.sent == [("set_step_batch", {"n": 4})] and bar.walk.text().endswith("4 images")
    bar.batch.setValue(2)                  # a walk is at most one batch: cut to it, and the worker told
    assert bar.walk.value() == 2 and spy.sent[-2:] == [("set_batch_size", {"n": 2}), ("set_step_batch", {"n": 2})]



def test_the_walk_box_shows_what_a_walk_really_runs(window, spy, make_snapshot):
    """A walk's snapshot says how many images it runs (e.g. set before a checkpoint load or by a
    script): the box follows it without sending anything back."""
    bar = window.settings_bar
    deliver(window, spy, dataclasses.replace(stepped(make_snapshot("seed", "forward"), "forward", 0, seq=5),
                                             probe_split="train", walk_images=3))
    assert bar.walk.value() == 3 and bar.walk.text().endswith("3 images")
    assert not any(command == "set_step_batch" for command, _ in spy.sent)


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
    qtbot.wait(50)
    controls = [window.run_bar.widgetForAction(a) for a in window.run_bar.actions() if not a.isSeparator()]
    bar, speed = window.settings_bar, window.speed_bar
    controls += [bar.dataset, bar.preset, bar.lr, bar.batch, bar.walk, bar.optimizer, speed.speed, speed.speed_label]
    hidden = [w.text() if hasattr(w, "text") else type(w).__name__ for w in controls if not in_view(window, w)]
    assert hidden == []
    beside = speed.geometry().top() == bar.geometry().top() or speed.geometry().top() == window.run_bar.geometry().top()
    assert beside == (size[0] >= 1280)     # a row of its own only when nothing else has room


@pytest.mark.parametrize("rate", [1e-6, 0.0003, 0.01, 500.0])
def test_the_learning_rate_box_shows_the_rate_in_use_and_sends_it_unchanged(window, spy, rate):
    box = window.settings_bar.lr
    window.settings_bar.set_values(lr=rate)            # the worker's rate: shown, nothing sent
    assert spy.sent == [] and box.value() == rate and float(box.text()) == rate
    box.setValue(0.5)
    box.setValue(rate)                                 # the user's: sent exactly as shown
    assert spy.sent[-1] == ("set_lr", {"lr": rate}) and float(box.text()) == rate


def test_a_rate_outside_the_box_range_is_shown_not_clipped(window, spy):
    box = window.settings_bar.lr
    window.settings_bar.set_values(lr=1e6)             # python main.py --lr 1e6
    assert box.value() == 1e6 and float(box.text()) == 1e6
    window.settings_bar.set_values(lr=1e-8)
    assert box.value() == 1e-8 and box.text() == "1e-8"


def test_a_typed_rate_in_scientific_notation_is_sent(qtbot, window, spy):
    box = window.settings_bar.lr
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "3e-4")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert spy.sent[-1] == ("set_lr", {"lr": 0.0003}) and box.text() == "0.0003"


def test_learning_rate_steps_are_log_like(window):
    lr = window.settings_bar.lr
    lr.setValue(0.01)
    lr.stepUp()
    assert math.isclose(lr.value(), 0.011)
    lr.setValue(0.0005)
    lr.stepDown()
    assert math.isclose(lr.value(), 0.0004, rel_tol=0.01) or math.isclose(lr.value(), 0.00049, rel_tol=0.01)


def test_a_snapshot_from_the_worker_updates_the_controls_without_sending(window, spy, make_snapshot):
    snap = dataclasses.replace(make_snapshot("lenet", "training"), lr=0.002, dataset="fashion-mnist")
    deliver(window, spy, snap)
    bar = window.settings_bar
    assert (bar.preset.currentText(), bar.dataset.currentText()) == ("lenet", "fashion-mnist")
    assert math.isclose(bar.lr.value(), 0.002) and spy.sent == []


def test_checkpoint_menu_paths(window, spy, tmp_path):
    window.save_checkpoint(tmp_path / "run1")
    good = tmp_path / "run1.npz"
    good.write_bytes(b"x")
    window.open_checkpoint(good)
    assert spy.sent == [("save_checkpoint", {"path": str(good)}), ("load_checkpoint", {"path": str(good)})]
    window.open_checkpoint(tmp_path / "missing.npz")
    assert "missing.npz" in window.messages.text() and window.messages.kind == "error"
    assert len(spy.sent) == 2


# -- snapshots, strip and panels -------------------------------------------------------------------
def test_snapshot_fills_visible_panels_and_status_bar(window, spy, make_snapshot):
    snap = deliver(window, spy, make_snapshot("seed", "training"))
    assert window.latest is snap
    assert window.strip.layer_count == len(snap.layers)
    assert window.selected_layer == 0          # the first conv layer
    assert all(window._drawn[p.title] == (snap.seq, 0) for p in window.panels)
    status = {k: v.text() for k, v in window.status_fields.items()}
    assert status["step"] == "step 1" and status["phase"] == "training"
    assert status["loss"] == f"batch loss {snap.batch_loss:.4f}"


@pytest.mark.parametrize("phase, layer", [("forward", 2), ("backward", 6), ("forward", 4)])
def test_stepping_highlights_the_block_and_fills_panels_for_that_layer(window, spy, make_snapshot, phase, layer):
    base = make_snapshot("seed", "backward")
    snap = deliver(window, spy, stepped(base, phase, layer, seq=50 + layer))
    assert window.strip.highlighted() == [(layer, phase)]
    assert window.selected_layer == layer and window.strip.selected == layer
    assert all(window._drawn[p.title] == (snap.seq, layer) for p in window.panels)
    assert f"layer {layer}" in window.status_fields["phase"].text()


class FakeClock:
    """main_window's and status_bar's ``time`` module, with a clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def count_set_text(label) -> list[str]:
    """Every text ``label.setText`` is called with from now on."""
    calls, real = [], label.setText
    label.setText = lambda text: (calls.append(text), real(text))[1]
    return calls


def test_live_play_shows_the_status_a_few_times_a_second_but_every_step_at_once(window, spy, make_snapshot,
                                                                                  monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(main_window, "time", clock)
    monkeypatch.setattr(status_bar, "time", clock)
    base = make_snapshot("seed", "training")
    spy.send("play")
    assert window.status_fields["state"].text() == "playing"          # a state change: at once
    step_texts = count_set_text(window.status_fields["step"])
    for i in range(30):                                                  # one second of live play at 30 Hz
        deliver(window, spy, dataclasses.replace(base, seq=100 + i, step=10 + i, images_per_second=1000 + i))
        clock.now += 1 / 30
    assert 1 <= len(step_texts) <= 1 + main_window.STATUS_MAX_HZ, step_texts
    clock.now += 1 / main_window.STATUS_MAX_HZ
    window.pull()                                                        # no new snapshot: the last one shows
    assert window.status_fields["step"].text() == "step 39"
    assert window.status_fields["speed"].text() == "1,029 images/s"

    spy.send("pause")
    assert window.status_fields["state"].text() == "paused"
    spy._state = "stepping"
    step_base = make_snapshot("seed", "backward")
    for i, (phase, layer) in enumerate([("forward", 0), ("forward", 1), ("forward", 2), ("backward", 2)]):
        deliver(window, spy, dataclasses.replace(stepped(step_base, phase, layer, seq=200 + i), step=40 + i))
        # the clock stands still: every step shows at once anyway
        assert window.status_fields["phase"].text().startswith(f"{phase}, layer {layer} (")
        assert window.status_fields["step"].text() == f"step {40 + i}"
        assert window.status_fields["state"].text() == "stepping"


def test_live_loss_figures_in_status_strip_and_lecture_caption_always_agree(window, spy, make_snapshot,
                                                                            monkeypatch):
    """Each batch's loss jumps (0.17, then 0.0002): every place that writes it must show the same one."""
    clock = FakeClock()
    monkeypatch.setattr(main_window, "time", clock)
    monkeypatch.setattr(status_bar, "time", clock)
    window.set_lecture_mode(True)
    base = make_snapshot("seed", "training")
    spy.send("play")
    rng = np.random.default_rng(0)
    shown = set()
    for i in range(45):
        loss = float(rng.choice([0.17, 0.0002, 1.5]) + i * 1e-4)
        deliver(window, spy, dataclasses.replace(base, seq=300 + i, step=300 + i, batch_loss=loss))
        clock.now += 1 / 30
        status = window.status_fields["loss"].text().removeprefix("batch loss ")
        assert f"{window.strip.loss:.4f}" == status
        assert f"loss {float(status):.3f}" in window.lecture.caption.text()
        shown.add(status)
    assert 3 <= len(shown) <= 2 + 1.5 * main_window.STATUS_MAX_HZ   # it moved, a few times a second
    window.set_lecture_mode(False)


def test_status_fields_repaint_only_when_their_text_changes(window, spy, make_snapshot):
    snap = deliver(window, spy, make_snapshot("seed", "training"))
    calls = {name: count_set_text(label) for name, label in window.status_fields.items()}
    for _ in range(5):
        window.pull()
    deliver(window, spy, dataclasses.replace(snap, seq=snap.seq + 1, step=snap.step + 1))
    calls.pop("fps")                     # a new frame may change the frames/s, rightly
    assert {name: texts for name, texts in calls.items() if texts} == {"step": [f"step {snap.step + 1}"]}


def fits(label) -> bool:
    return label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()


def test_status_fields_keep_a_fixed_size_as_digits_change_and_grow_to_fit_long_numbers(window, spy, make_snapshot):
    fields = {name: window.status_fields[name] for name in STATUS_TEMPLATES}
    base = make_snapshot("seed", "training")
    deliver(window, spy, base)
    assert all(label.minimumSize() == label.maximumSize() for label in fields.values())   # no layout pass
    # frames/s depends on how fast this test delivers (past 99 here, never in the 30 Hz program)
    sized = {name: label for name, label in fields.items() if name != "fps"}
    sizes = {name: label.size() for name, label in sized.items()}
    for i, loss in enumerate((0.9876, 12.3456, 2.0)):
        deliver(window, spy, dataclasses.replace(base, seq=10 + i, step=99_999 - i, epoch=i, batch_loss=loss,
                                                 images_per_second=12_345.0 - i))
        assert {name: label.size() for name, label in sized.items()} == sizes
        assert all(fits(label) for label in fields.values())
    deliver(window, spy, dataclasses.replace(base, seq=20, step=123_456_789, images_per_second=1_234_567.0))
    assert window.status_fields["step"].text() == "step 123456789"
    assert all(fits(label) for label in fields.values())           # widened once, never clipped
    font = window.statusBar().font()
    font.setPointSizeF(font.pointSizeF() * 1.6)                     # what lecture mode does
    window.statusBar().setFont(font)
    assert all(fits(label) and label.height() >= label.fontMetrics().height() for label in fields.values())


def test_loss_and_update_steps_highlight_loss_block_and_parameter_layers(window, spy, make_snapshot):
    base = make_snapshot("seed", "update")
    deliver(window, spy, stepped(base, "loss", 8, seq=90))
    assert window.strip.highlighted() == [("loss", "loss")]
    deliver(window, spy, stepped(base, "update", None, seq=91))
    assert [i for i, _ in window.strip.highlighted()] == [0, 2, 6, 8]


def test_clicking_a_block_selects_the_layer_and_redraws_panels(qtbot, window, spy, make_snapshot):
    snap = deliver(window, spy, make_snapshot("seed", "backward"))
    with qtbot.waitSignal(window.strip.layer_selected) as blocker:
        qtbot.mouseClick(window.strip, Qt.MouseButton.LeftButton,
                         pos=window.strip.block_rect(4).center().toPoint())
    assert blocker.args == [4]
    assert window.selected_layer == 4
    assert all(window._drawn[p.title] == (snap.seq, 4) for p in window.panels)


def test_hidden_panels_are_not_drawn_until_shown_again(window, spy, make_snapshot):
    title = window.panels[0].title
    window.show_dock(title, False)
    snap = deliver(window, spy, make_snapshot("seed", "training"))
    assert window._drawn.get(title) is None
    window.show_dock(title, True)
    window.pull()
    assert window._drawn[title] == (snap.seq, window.selected_layer)


def test_a_failing_panel_is_reported_and_the_others_keep_drawing(window, spy, make_snapshot):
    broken = window.panels[0]
    broken.show_snapshot = lambda snapshot, layer: 1 / 0
    snap = deliver(window, spy, make_snapshot("seed", "training"))
    assert broken.title in window.messages.text() and "ZeroDivisionError" in window.messages.text()
    assert all(window._drawn[p.title] == (snap.seq, 0) for p in window.panels[1:])


def test_worker_errors_show_in_the_window_and_it_keeps_working(qtbot, window, spy, make_snapshot):
    spy.error.emit("the loss became NaN at step 12; lower the learning rate.")
    assert window.messages.isVisible() and "NaN" in window.messages.text()
    snap = deliver(window, spy, make_snapshot("seed", "training"))
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_Right)
    assert window.latest is snap and spy.commands() == ["step_forward"]


def test_panel_frames_are_counted(window, spy, make_snapshot):
    base = make_snapshot("seed", "training")
    for seq in range(5):
        deliver(window, spy, dataclasses.replace(base, seq=100 + seq))
    assert window.frames_drawn == 5
    window.pull()                                  # nothing new: nothing redrawn
    assert window.frames_drawn == 5


def test_a_new_architecture_rebuilds_the_strip(window, spy, make_snapshot):
    deliver(window, spy, make_snapshot("seed", "training"))
    tiny = deliver(window, spy, make_snapshot("tiny", "training"))
    assert window.strip.layer_count == len(tiny.layers)
    assert window.selected_layer < len(tiny.layers)


# -- docks and layout --------------------------------------------------------------------------------
def test_every_panel_and_the_strip_have_a_dock_and_a_view_action(window):
    assert STRIP_DOCK in window.docks
    for panel in window.panels:
        assert panel.title in window.docks and window.view_actions[panel.title].isChecked()
        assert window.panel_visible(panel.title), panel.title


@pytest.mark.parametrize("which", [STRIP_DOCK, "a panel"])
def test_view_menu_closes_and_reopens_a_dock(qtbot, window, which):
    title = which if which == STRIP_DOCK else window.panels[2].title
    action = window.view_actions[title]
    action.setChecked(False)
    assert not window.dock_open(title) and not window.panel_visible(title)
    action.setChecked(True)
    assert window.dock_open(title)
    qtbot.waitUntil(lambda: window.panel_visible(title))


def test_closing_a_dock_by_its_button_unticks_the_menu(window):
    title = window.panels[-1].title
    window.docks[title].label.sigCloseClicked.emit()
    assert not window.dock_open(title) and not window.view_actions[title].isChecked()


def test_layout_round_trips_through_settings(qtbot, spy, settings):
    first = MainWindow(spy, settings=settings)
    qtbot.addWidget(first)
    closed = first.panels[1].title
    first.show_dock(closed, False)
    moved = first.docks[first.panels[0].title]
    first.area.moveDock(moved, "right", first.docks[STRIP_DOCK])
    state = first.area.saveState()
    first.save_layout()

    second = MainWindow(SpyController(), settings=settings)
    qtbot.addWidget(second)
    assert not second.dock_open(closed) and not second.view_actions[closed].isChecked()
    assert structure(second.area.saveState()["main"]) == structure(state["main"])


def test_reset_layout_reopens_everything(window):
    for panel in window.panels[:3]:
        window.show_dock(panel.title, False)
    window.show_dock(TEACH_DOCKS[0], True)
    window.reset_layout()
    assert all(window.dock_open(t) == (t not in TEACH_DOCKS) for t in window.docks)
    assert structure(window.area.saveState()["main"]) == structure(window._default_layout["area"]["main"])


def test_a_damaged_saved_layout_falls_back_to_the_default(qtbot, spy, settings):
    settings.setValue("layout/docks", "{not json")
    win = MainWindow(spy, settings=settings)
    qtbot.addWidget(win)
    assert all(win.dock_open(t) == (t not in TEACH_DOCKS) for t in win.docks)


def test_closing_the_window_stops_the_controller(qtbot, spy, settings):
    win = MainWindow(spy, settings=settings)
    qtbot.addWidget(win)
    win.show()
    win.close()
    assert spy.stopped and not win.timer.isActive()
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
    assert real.status_fields["speed"].text().endswith("images/s")
    real.close()                                   # mid-training
    assert not controller.is_running() and controller.state == "stopped"


def test_real_stepping_walks_forward_loss_backward_update_and_back(qtbot, real):
    press(qtbot, real, Qt.Key.Key_Right, 3)
    wait_for_step(qtbot, real, "forward", 2)
    assert real.strip.highlighted() == [(2, "forward")] and real.selected_layer == 2
    seq = real.latest.seq
    assert all(real._drawn[p.title] == (seq, 2) for p in real.panels)
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
def test_probe_buttons_send_probe_commands(window, spy):
    for kind, value in (("next", 0), ("prev", 0), ("random", 0), ("index", 17)):
        window.request_probe(kind, value)
    assert spy.sent == [("probe_next", {}), ("probe_prev", {}), ("probe_random", {}), ("set_probe", {"index": 17})]


def test_input_panel_signal_reaches_the_controller(window, spy):
    panel = next((p for p in window.panels if hasattr(p, "probe_requested")), None)
    if panel is None:
        pytest.skip("no panel with probe_requested")
    panel.probe_requested.emit("next", 0)
    assert spy.sent == [("probe_next", {})]


def test_clicking_a_conv_cell_opens_the_explain_window_with_the_engine_z(window, spy, make_snapshot):
    snap = deliver(window, spy, make_snapshot("seed", "backward"))
    window.explain_unit(2, 3, 4, 5)
    dialog = window.opener.unit_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.explanation["z"] == pytest.approx(float(snap.layers[2].pre_activation[3, 4, 5]), abs=1e-4)
    window.explain_unit(2, 1, 0, 0)                       # a second click re-targets the same window
    assert window.opener.unit_dialog is dialog and dialog.unit == (1, 0, 0)


def test_clicking_a_weight_opens_the_weight_window(window, spy, make_snapshot):
    deliver(window, spy, make_snapshot("seed", "update"))
    window.explain_weight(0, 2, 0, 1, 3)
    assert window.opener.weight_dialog is not None and window.opener.weight_dialog.isVisible()


def test_curves_are_redrawn_at_most_five_times_a_second_while_training_but_every_step(window, spy, make_snapshot):
    curves = next((p.title for p in window.panels if "curves" in p.title.lower()), None)
    if curves is None:
        pytest.skip("no curves panel")
    base = make_snapshot("seed", "training")
    deliver(window, spy, dataclasses.replace(base, seq=300))
    deliver(window, spy, dataclasses.replace(base, seq=301))
    assert window._drawn[curves][0] == 300 and window._drawn[window.panels[0].title][0] == 301
    window._drawn_at[curves] -= 0.25
    window.pull()
    assert window._drawn[curves][0] == 301
    deliver(window, spy, dataclasses.replace(base, seq=302, phase="forward", layer_index=0))
    assert window._drawn[curves][0] == 302


def test_space_and_arrows_come_back_after_using_a_spin_box(qtbot, window, spy):
    lr = window.settings_bar.lr
    lr.setFocus()
    lr.stepUp()                                   # an arrow click: the value is sent, the keys come back
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_Space)
    assert spy.commands() == ["set_lr", "play"]
    lr.setFocus()
    qtbot.keyClick(lr, Qt.Key.Key_Escape)         # Esc always hands the keys back
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_Right)
    assert spy.commands()[-1] == "step_forward"


def test_a_floating_panel_is_remembered_and_closes_with_the_window(qtbot, spy, settings):
    first = MainWindow(spy, settings=settings)
    qtbot.addWidget(first)
    first.show()
    title = first.panels[0].title
    first.docks[title].float()
    assert first.area.tempAreas and first.dock_open(title)
    first.close()
    assert not any(a.win.isVisible() for a in first.area.tempAreas)
    second = MainWindow(SpyController(), settings=settings)
    qtbot.addWidget(second)
    assert len(second.area.tempAreas) == 1
    assert title in second.area.tempAreas[0].findAll()[1]
    second.close()


def test_every_panel_click_signal_opens_an_explain_window(window, spy, make_snapshot):
    deliver(window, spy, make_snapshot("seed", "update"))
    clickable = [(p, name) for p in window.panels for name in ("unit_clicked", "weight_clicked") if hasattr(p, name)]
    assert clickable
    for panel, name in clickable:
        getattr(panel, name).emit(*((0, 1, 2, 3) if name == "unit_clicked" else (0, 1, 0, 2, 3)))
        dialog = window.opener.unit_dialog if name == "unit_clicked" else window.opener.weight_dialog
        assert dialog is not None and dialog.isVisible(), (panel.title, name)
        assert window.messages.kind != "error" or not window.messages.text(), window.messages.text()
        dialog.hide()


def test_the_window_opens_well_under_three_seconds(qtbot, spy, settings):
    import time

    start = time.perf_counter()
    win = MainWindow(spy, settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert time.perf_counter() - start < 3.0     # the data loads in the worker meanwhile
    assert "starting" in win.strip.caption()


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


def test_the_timer_draws_panels_one_per_event_loop_turn(qtbot, window, spy, make_snapshot):
    assert window.stagger and window.timer.isActive()
    snap = make_snapshot("seed", "training")
    spy.push(snap)
    window.pull(stagger=True)
    assert sum(key == (snap.seq, 0) for key in window._drawn.values()) == 1   # one now, the rest later
    qtbot.waitUntil(lambda: all(window._drawn.get(p.title) == (snap.seq, 0) for p in window.panels), timeout=3000)
    assert window.frames_drawn == 1


def test_a_reopened_panel_returns_beside_its_default_neighbour(qtbot, window):
    kernels = next(p.title for p in window.panels if "kernels" in p.title.lower())
    maps = next(p.title for p in window.panels if "feature maps" in p.title.lower())
    window.show_dock(kernels, False)
    window.show_dock(kernels, True)
    container = window.docks[kernels].container()
    assert window.docks[maps] in [container.widget(i) for i in range(container.count())]


def test_an_error_before_any_snapshot_says_how_to_go_on(window, spy):
    spy.error.emit("dataset 'fashion-mnist' is not on this computer; get it with: python main.py download fashion-mnist")
    assert "fashion-mnist" in window.messages.text()
    assert "choose a dataset" in window.strip.caption()


def test_a_refused_dataset_choice_puts_the_box_back(window, spy, make_snapshot):
    deliver(window, spy, make_snapshot("seed", "training"))          # dataset "mnist"
    bar = window.settings_bar
    bar.dataset.setCurrentIndex(bar.dataset.findText("cifar10"))
    bar.dataset.activated.emit(bar.dataset.currentIndex())
    spy.error.emit("dataset 'cifar10' is not on this computer; get it with: python main.py download cifar10")
    assert bar.dataset.currentText() == "mnist" and spy.sent[-1] == ("set_dataset", {"name": "cifar10"})

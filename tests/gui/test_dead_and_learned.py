"""The window's words for dead channels, learned probes and collapsed networks, and the probe
chooser and walk controls, drawn from real Session snapshots (tiny generated digits, in this process)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cnnviz.data import Dataset, generate_digits
from cnnviz.gui.controls import SettingsBar
from cnnviz.gui.panels.feature_maps import FeatureMapsPanel
from cnnviz.gui.panels.gradients import GradientsPanel
from cnnviz.gui.panels.input import InputPanel
from cnnviz.gui.panels.pooling import PoolingPanel
from cnnviz.session.session import Session


def tiny() -> Dataset:
    train, train_labels = generate_digits(128, seed=[5, 0])
    test, test_labels = generate_digits(40, seed=[5, 1])
    raw = train[:, None].astype(np.float32) / 255.0
    return Dataset(name="tiny", class_names=tuple(map(str, range(10))), mean=float(raw.mean()),
                   std=float(raw.std()), raw_train=train[:, None], y_train=train_labels,
                   raw_test=test[:, None], y_test=test_labels)


def trained_snapshot(dead_channels=(), batches: int = 3, lr=None):
    session = Session(dataset_obj=tiny(), trainer_options={"val_size": 20}, lr=lr)
    session.start_up()
    conv = session.trainer.model.layers[2]
    conv.params["b"][list(dead_channels)] = -1e3      # these channels never fire again
    for _ in range(batches):
        session.trainer.train_batch()
    session.send("pause")
    session.publish_idle()
    return session.outlet.mailbox.take()[-1]


@pytest.fixture(scope="module")
def dead_snapshot():
    return trained_snapshot(dead_channels=(0, 3))


def test_feature_maps_cross_out_dead_channels_and_say_why(qtbot, dead_snapshot):
    panel = FeatureMapsPanel()
    qtbot.addWidget(panel)
    panel.show_snapshot(dead_snapshot, 2)
    assert panel.z_view.dead_tiles == [0, 3] and panel.a_view.dead_tiles == [0, 3]
    assert "never positive on the last 96 training images" in panel.z_view.dead_marks.toolTip()
    assert "Channels 0, 3 are dead (crossed out): never positive on the last 96" in panel.caption.text()
    panel.show_snapshot(dead_snapshot, 0)   # the first conv lives
    assert panel.z_view.dead_tiles == [] and "dead" not in panel.caption.text()


def test_pooling_opens_on_a_live_channel_and_marks_dead_ones(qtbot, dead_snapshot):
    panel = PoolingPanel()
    qtbot.addWidget(panel)
    panel.show_snapshot(dead_snapshot, 4)
    assert panel.channels == [1], "channel 0 is dead: the panel opens on the first live one"
    assert panel.in_view.dead_tiles == []
    panel.select_channel(None)                # all channels: the dead ones crossed out
    assert panel.in_view.dead_tiles == [0, 3] == panel.out_view.dead_tiles
    assert "dead" in panel.caption.text()
    panel.select_channel(0)                   # asked for: a dead channel is shown when chosen
    assert panel.channels == [0] and panel.in_view.dead_tiles == [0]


def test_a_learned_probe_is_said_to_be_learned_and_not_stretched_to_full_colour(qtbot, dead_snapshot):
    panel = GradientsPanel()
    qtbot.addWidget(panel)
    layers = list(dead_snapshot.layers)
    top = layers[-1]
    tiny_grad = np.full_like(top.dL_dout, 2e-9)
    layers[-1] = dataclasses.replace(top, dL_dout=tiny_grad)
    learned = dataclasses.replace(dead_snapshot, layers=tuple(layers), probe_loss=3e-9)
    panel.show_snapshot(learned, len(layers) - 1)
    text = panel.caption.text()
    assert "This image is learned: loss 3.0e-09" in text and "its gradients are ~2e-09" in text
    low, high = panel.dout_view.levels
    assert high == pytest.approx(2e-9 * 1e-3 / 3e-9, rel=1e-3), "the scale of a loss of 1e-3, not 2e-9"
    panel.show_snapshot(dead_snapshot, len(layers) - 1)   # an unlearned probe: auto-scaled, no such words
    assert "learned" not in panel.caption.text()
    assert panel.dout_view.levels[1] == pytest.approx(float(np.abs(top.dL_dout).max()), rel=1e-2)


def test_exactly_zero_gradients_while_training_say_why(qtbot):
    collapsed = trained_snapshot(dead_channels=range(8))   # the whole second conv is off
    panel = GradientsPanel()
    qtbot.addWidget(panel)
    panel.show_snapshot(collapsed, 2)
    text = panel.caption.text()
    assert "dL/dW is exactly 0" in text and "every ReLU of Layer 3 relu is off" in text
    assert "lower the learning rate and reset" in text and "no gradient yet" not in text
    assert "exactly 0" in panel.dW_view.placeholder_text


def test_the_probe_chooser_asks_for_picked_images(qtbot):
    panel = InputPanel()
    qtbot.addWidget(panel)
    asked = []
    panel.probe_requested.connect(lambda kind, value: asked.append(kind))
    for row in (1, 2, 3):
        panel.pick_box.activated.emit(row)
    assert asked == ["hardest", "misclassified", "least_confident"] and panel.pick_box.currentIndex() == 0


def test_the_walk_box_starts_on_the_probe_and_the_rate_shows_the_schedule(qtbot):
    from PyQt6.QtWidgets import QMainWindow, QWidget

    host = QMainWindow()        # the bar gives the keyboard back to its window's central widget
    host.setCentralWidget(QWidget())
    qtbot.addWidget(host)
    bar = SettingsBar(host, datasets=["digits"], presets=["seed"])
    host.addToolBar(bar)
    sent = []
    bar.command_requested.connect(lambda name, kwargs: sent.append((name, kwargs)))
    assert bar.walk.value() == 0 and bar.walk.text() == "the probe"
    bar.walk.setValue(4)
    bar.walk.setValue(0)
    assert sent == [("set_step_batch", {"n": 4}), ("set_walk_probe", {"on": False}),
                    ("set_walk_probe", {"on": True})]
    bar.show_rate(0.00213, "cosine decay to 5%", True)
    assert bar.lr_now.text() == "now 0.0021 " and bar.schedule.currentText() == "cosine" and bar.paper.isChecked()
    assert len(sent) == 3, "showing what the worker uses sends nothing"
    bar.schedule.activated.emit(1)
    assert sent[-1] == ("set_schedule", {"kind": "linear"})

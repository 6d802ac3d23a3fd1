"""The teaching tools inside the real window: a click explains the unit with the engine's numbers, the
finite-difference check agrees, a drawn digit becomes the probe, the statistics dock is fed, the
timeline shows an old snapshot until Esc, and every export writes a valid file (or says why not)."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from cnnviz.gui.dock_layout import COMPARE_DOCK, COMPARE_MAPS_DOCK, CONV_DOCK, DRAW_DOCK, STATS_DOCK
from cnnviz.gui.panels import FeatureMapsPanel
from cnnviz.session.stats import layer_stats
from fakes import deliver
from test_main_window import real, small_digits  # noqa: F401  (fixtures)


def panel(window, name):
    return next(p for p in window.panels if name in p.title.lower())


# -- explain ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer, unit", [(0, (3, 10, 12)), (1, (2, 5, 7)), (2, (5, 6, 8))])
def test_a_feature_map_click_explains_the_unit_with_the_engines_z(window, fake, make_snapshot, layer, unit):
    snap = deliver(window, fake, make_snapshot("seed", "backward"))
    panel(window, "feature maps").unit_clicked.emit(layer, *unit)
    dialog = window.opener.unit_dialog
    assert dialog is not None and dialog.isVisible()
    z_layer = layer if snap.layers[layer].kind == "conv" else layer - 1      # a ReLU map explains its conv
    engine_z = snap.layers[layer].pre_activation[unit] if layer == 1 else snap.layers[z_layer].pre_activation[unit]
    assert dialog.explanation["z"] == pytest.approx(float(engine_z), abs=1e-4)


def test_the_finite_difference_check_agrees_in_the_window(window, fake, make_snapshot):
    deliver(window, fake, make_snapshot("seed", "backward"))
    window.explain_unit(8, 3, 0, 0)                # a logit: dense layer, backward phase
    dialog = window.opener.unit_dialog
    dialog.run_check()
    analytic, numeric = dialog.check_result
    assert numeric == pytest.approx(analytic, rel=1e-3, abs=1e-8)


def test_a_kernel_click_explains_the_weight(window, fake, make_snapshot):
    snap = deliver(window, fake, make_snapshot("seed", "update"))
    panel(window, "kernels").weight_clicked.emit(0, 2, 0, 1, 3)
    dialog = window.opener.weight_dialog
    assert dialog.isVisible() and dialog.snapshot is snap


def test_in_step_mode_the_explain_window_follows_every_step(window, fake, make_snapshot):
    base = make_snapshot("seed", "backward")
    deliver(window, fake, dataclasses.replace(base, phase="forward", layer_index=2, seq=501))
    window.explain_unit(2, 1, 3, 3)
    later = deliver(window, fake, dataclasses.replace(base, phase="backward", layer_index=2, seq=502))
    assert window.opener.unit_dialog.snapshot is later


def test_a_drawn_probe_without_label_can_still_be_checked(window, fake, make_snapshot):
    drawn = dataclasses.replace(make_snapshot("seed", "backward"), probe_label=None, probe_split="drawn", seq=77)
    deliver(window, fake, drawn)
    window.explain_unit(8, 1, 0, 0)
    dialog = window.opener.unit_dialog
    dialog.run_check()
    assert dialog.check_result is not None


# -- draw a digit -------------------------------------------------------------------------------------
def test_drawing_a_digit_sends_it_as_the_probe(qtbot, window, fake):
    window.dock_layout.show(DRAW_DOCK)
    canvas = window.teach.draw
    canvas.paint_area.draw_stroke([(140, 40), (140, 240)])
    name, kwargs = fake.sent[-1]
    assert name == "set_probe_image" and kwargs["image"].shape == (1, 28, 28)
    assert 0.0 <= kwargs["image"].min() and kwargs["image"].max() <= 1.0


@pytest.mark.slow
def test_real_drawn_digit_becomes_the_probe_the_panels_show(qtbot, real):
    real.dock_layout.show(DRAW_DOCK)
    canvas = real.teach.draw
    canvas.paint_area.draw_stroke([(140, 40), (140, 240)])
    qtbot.waitUntil(lambda: real.latest.probe_split == "drawn", timeout=15000)
    real.pull()
    assert real.latest.probe_label is None and real.latest.probe_display.max() > 0.5
    assert real.scheduler.shows(panel(real, "input").title)[0] == real.latest.seq


# -- statistics, animation ------------------------------------------------------------------------------
def test_the_statistics_dock_is_fed_from_the_snapshot(window, fake, make_snapshot):
    from cnnviz.nn import build_model

    model = build_model("seed", seed=0)
    history = tuple(layer_stats(model, step=s) for s in (0, 25, 50))
    k = 10
    validation = {"confusion": np.eye(k, dtype=np.int64) * 3, "accuracy": 1.0, "images": np.zeros((0, 1, 28, 28)),
                  "labels": np.zeros(0, np.int64), "predicted": np.zeros(0, np.int64), "wrong": np.zeros(0, np.int64)}
    window.dock_layout.show(STATS_DOCK)
    deliver(window, fake, dataclasses.replace(make_snapshot("seed", "training"), stats=history, validation=validation))
    stats = window.teach.stats
    assert stats.history == list(history) and stats.validation is not None


def test_the_convolution_animation_uses_the_selected_kernel(window, fake, make_snapshot):
    window.dock_layout.show(CONV_DOCK)
    snap = deliver(window, fake, make_snapshot("seed", "backward"))
    assert np.allclose(window.teach.conv.w, snap.layers[0].params["W"][0, 0])


# -- timeline -------------------------------------------------------------------------------------------
def test_scrubbing_shows_the_old_snapshot_and_esc_returns_to_live(qtbot, window, fake, make_snapshot):
    base = make_snapshot("seed", "training")
    old = dataclasses.replace(base, seq=10, step=50)
    now = dataclasses.replace(base, seq=11, step=3400)
    fake.kept = [(50, old)]
    deliver(window, fake, now)
    window.timeline.poll(force=True)
    assert window.timeline_bar.show_step(50)
    assert window.shown_snapshot() is old
    assert all(window.scheduler.shows(p.title)[0] == 10 for p in window.panels)
    assert window.timeline.banner.isVisible()
    assert window.timeline.banner.text() == "Showing step 50 (now: 3400) — press Esc to return to live"
    window.dock_layout.show(COMPARE_DOCK)                 # kernels then (Kernels) and now (the compare dock)
    window.pull()
    assert window.teach.compare.snapshot is now
    kernels = panel(window, "kernels").title
    assert "then: step 50" in window.dock_layout.docks[kernels].label.text()
    assert "now: step 3400" in window.dock_layout.docks[COMPARE_DOCK].label.text()
    # every panel draws the old snapshot, so every panel's dock says so (not only kernels and maps)
    assert {p.title: window.dock_layout.docks[p.title].label.text() for p in window.panels} == \
        {p.title: f"{p.title} — then: step 50" for p in window.panels}
    assert window.dock_layout.docks[STATS_DOCK].label.text() == f"{STATS_DOCK} — then: step 50"
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_Escape)
    assert window.shown_snapshot() is now and not window.timeline.banner.isVisible()
    assert all(window.scheduler.shows(p.title)[0] == 11 for p in window.panels)
    assert window.timeline_bar.is_live() and window.dock_layout.docks[kernels].label.text() == kernels
    assert all(window.dock_layout.docks[p.title].label.text() == p.title for p in window.panels)
    assert window.dock_layout.docks[STATS_DOCK].label.text() == STATS_DOCK


def test_compare_shows_kernels_and_feature_maps_then_and_now_and_closes_back_at_live(qtbot, window, fake,
                                                                                    make_snapshot):
    base = make_snapshot("seed", "training")
    flipped = type(base.layers)(dataclasses.replace(
        layer, output=None if layer.output is None else -layer.output,
        pre_activation=None if layer.pre_activation is None else -layer.pre_activation) for layer in base.layers)
    old = dataclasses.replace(base, seq=10, step=50, layers=flipped)   # other maps than now's
    now = dataclasses.replace(base, seq=11, step=3400)
    fake.kept = [(50, old)]
    deliver(window, fake, now)
    window.timeline.poll(force=True)
    assert window.timeline_bar.show_step(50)
    window.timeline_bar.actions_by_name["compare"].trigger()        # K
    assert window.dock_layout.is_open(COMPARE_DOCK) and window.dock_layout.is_open(COMPARE_MAPS_DOCK)
    window.pull()
    maps, live_maps = panel(window, "feature maps"), window.teach.compare_maps
    assert window.teach.compare.snapshot is now and live_maps.snapshot is now and maps.snapshot is old
    def values(view):   # the mosaic's values; its column count follows the panel's size
        return np.unique(view.data[np.isfinite(view.data)])
    expected = FeatureMapsPanel()
    expected.show_snapshot(now, window.selected_layer)
    assert np.array_equal(values(live_maps.z_view), values(expected.z_view))
    assert not np.array_equal(values(maps.z_view), values(live_maps.z_view))
    expected.show_snapshot(old, window.selected_layer)
    assert np.array_equal(values(maps.z_view), values(expected.z_view))
    assert "then: step 50" in window.dock_layout.docks[maps.title].label.text()
    assert "now: step 3400" in window.dock_layout.docks[COMPARE_MAPS_DOCK].label.text()
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_Escape)
    assert not window.dock_layout.is_open(COMPARE_DOCK) and not window.dock_layout.is_open(COMPARE_MAPS_DOCK)
    assert not window.timeline_bar.actions_by_name["compare"].isChecked()
    assert window.dock_layout.docks[maps.title].label.text() == maps.title


def test_timeline_keys_step_through_the_kept_snapshots(qtbot, window, fake, make_snapshot):
    base = make_snapshot("seed", "training")
    kept = [(s, dataclasses.replace(base, seq=s, step=s)) for s in (50, 100)]
    fake.kept = kept
    deliver(window, fake, dataclasses.replace(base, seq=200, step=150))
    window.timeline.poll(force=True)
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_BracketLeft)
    assert window.shown_snapshot().step == 100
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_BracketLeft)
    assert window.shown_snapshot().step == 50
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_BracketRight)
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_BracketRight)
    assert window.timeline.then is None


@pytest.mark.slow
def test_real_timeline_keeps_snapshots_while_training(qtbot, real):
    qtbot.keyClick(real.centralWidget(), Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: len(real.controller.timeline()) >= 2, timeout=30000)
    real.timeline.poll(force=True)
    step, snap = real.timeline_bar.entries[0]
    assert real.timeline_bar.show_step(step) and real.shown_snapshot() is snap


# -- export ---------------------------------------------------------------------------------------------
def test_every_export_writes_a_valid_file(window, fake, make_snapshot, tmp_path):
    deliver(window, fake, make_snapshot("seed", "training"))
    maps = panel(window, "feature maps").title
    png = window.exports.panel(maps, tmp_path / "maps.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = window.exports.panel(maps, tmp_path / "maps.svg", "svg")
    assert ET.parse(svg).getroot().tag.endswith("svg")
    strip_svg = window.exports.panel("Network", tmp_path / "strip.svg", "svg")
    assert ET.parse(strip_svg).getroot().tag.endswith("svg")
    assert window.exports.whole_window(tmp_path / "window.png").read_bytes()[:4] == b"\x89PNG"
    with np.load(window.exports.snapshot(tmp_path / "snap.npz"), allow_pickle=False) as data:
        assert "layer0_conv/W" in data.files and "meta" in data.files
    csv = window.exports.curves(tmp_path / "curves.csv")
    assert csv.read_text().splitlines()[0] == "curve,images_seen,value"
    assert window.messages.kind == "info" and "Saved" in window.messages.text()


def test_a_failed_export_is_one_sentence_and_keeps_the_old_file(window, fake, make_snapshot, tmp_path):
    broken = dataclasses.replace(make_snapshot("seed", "training"), curves={"loss": np.zeros(3)})
    deliver(window, fake, broken)
    old = tmp_path / "curves.csv"
    old.write_text("precious")
    assert window.exports.curves(old) is None
    assert old.read_text() == "precious"
    assert window.messages.kind == "error" and "curves" in window.messages.text()
    assert window.exports.whole_window(tmp_path / "missing-folder" / "w.png") is None
    assert "missing-folder" in window.messages.text()


def test_space_and_right_drive_the_animation_when_it_has_the_focus_and_training_otherwise(qtbot, window, fake):
    window.dock_layout.show(CONV_DOCK)
    conv = window.teach.conv
    conv.setFocus()
    qtbot.keyClick(conv, Qt.Key.Key_Right)
    qtbot.keyClick(conv, Qt.Key.Key_Space)
    assert conv.position == 0 and conv.play_button.isChecked() and fake.sent == []
    conv.set_playing(False)
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_Right)
    assert fake.commands() == ["step_forward"]


def test_a_reset_that_empties_the_timeline_returns_to_live(window, fake, make_snapshot):
    base = make_snapshot("seed", "training")
    old = dataclasses.replace(base, seq=10, step=50)
    fake.kept = [(50, old)]
    deliver(window, fake, dataclasses.replace(base, seq=11, step=60))
    window.timeline.poll(force=True)
    window.timeline_bar.show_step(50)
    fake.kept = []
    window.timeline.poll(force=True)
    assert window.timeline.then is None and not window.timeline.banner.isVisible()


def test_the_export_menu_asks_for_a_path_and_lists_every_dock(window, fake, make_snapshot, tmp_path, monkeypatch):
    from PyQt6.QtWidgets import QFileDialog

    deliver(window, fake, make_snapshot("seed", "training"))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "picked"), ""))
    window.menus.export_npz_action.trigger()
    assert (tmp_path / "picked.npz").is_file()
    file_menu = window.menuBar().actions()[0].menu()
    export = next(a.menu() for a in file_menu.actions() if a.menu() and "Export" in a.text())
    panel_png = next(a.menu() for a in export.actions() if a.menu() and "PNG" in a.text())
    window.menus.fill_panel_menu(panel_png, "png")
    titles = [a.text() for a in panel_png.actions()]
    assert titles == list(window.dock_layout.docks)
    next(a for a in panel_png.actions() if a.text() == "Network").trigger()
    assert (tmp_path / "picked.png").read_bytes()[:4] == b"\x89PNG"

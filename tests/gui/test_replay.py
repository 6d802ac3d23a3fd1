"""Replaying a run file in the window (issue 13): open, step, scrub, bookmark and jump with PageDown /
PageUp, save and reopen, refuse training commands in a sentence; the live run autosaved on exit."""

from __future__ import annotations

import pytest
from fakes import FakeController, open_window

from cnnviz import cli
from cnnviz.gui import replay
from cnnviz.gui.lecture import phase_caption
from cnnviz.gui.replay import ReplayController
from cnnviz.runs import open_run


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / "r.cnnviz"
    assert cli.main(["train", "--preset", "tiny", "--limit", "640", "--epochs", "1", "--batch-size", "16",
                     "--record", str(path)]) == 0
    return path


def action(win, text):
    return next(a for a in win.replay_actions if a.text() == text)


def test_a_replay_steps_scrubs_and_refuses_to_train(qtbot, settings, run_file):
    controller = ReplayController(run_file)
    win = open_window(qtbot, controller, settings)
    steps = [p.step for p in controller.run.points]
    assert steps[0] == 0 and steps[-1] == 40 and len(steps) >= 4
    win.pull()
    assert win.latest.step == 40 and win.shown_snapshot().layers[0].params["W"].shape[0] > 0
    win.send("step_backward")
    win.pull()
    assert win.latest.step == steps[-2]
    win.send("step_forward")
    win.pull()
    assert win.latest.step == 40
    win.timeline.show_then(controller.timeline()[1][1])
    assert win.shown_snapshot().step == steps[1]
    win.timeline.go_live()
    with qtbot.waitSignal(controller.error) as blocker:
        win.send("set_lr", lr=0.1)
    assert "train --from" in blocker.args[0]
    win.send("play")
    assert controller.state == "playing" and controller.index == 0   # from the start again
    win.send("pause")
    assert controller.state == "paused"


def test_bookmarks_are_saved_and_jumped_to_with_page_keys(qtbot, settings, run_file, tmp_path):
    first = ReplayController(run_file)
    first.add_bookmark("the kernels start to look like strokes", step=20)
    first.add_bookmark("first look", step=10)
    saved = tmp_path / "marked.cnnviz"
    first.save(saved)
    assert [b.step for b in open_run(saved).bookmarks] == [10, 20]
    assert open_run(saved).points[-1].resumable   # saving again keeps the states to branch from
    controller = ReplayController(saved)
    win = open_window(qtbot, controller, settings)
    replay.install(win)
    win.pull()
    controller.show(0)
    win.pull()
    action(win, "Next bookmark").trigger()
    win.pull()
    assert win.latest.step == 10 and phase_caption(win.latest).endswith("first look")
    action(win, "Next bookmark").trigger()
    win.pull()
    assert win.latest.step == 20 and "strokes" in phase_caption(win.latest)
    action(win, "Previous bookmark").trigger()
    win.pull()
    assert win.latest.step == 10


def test_the_live_run_is_autosaved_on_exit_and_opens(qtbot, settings, run_file, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    snapshots = open_run(run_file).snapshots()
    controller = FakeController()
    controller.kept = [(s.step, s) for s in snapshots]
    win = open_window(qtbot, controller, settings)
    path = replay.autosave(win)
    assert path == tmp_path / "cache" / "cnnviz" / "runs" / "last.cnnviz"
    kept = open_run(path)
    assert [p.step for p in kept.points] == [s.step for s in snapshots]
    assert not kept.points[-1].resumable
    assert kept.checkpoint().model.layers[0].params["W"].tolist() == snapshots[-1].layers[0].params["W"].tolist()
    ReplayController(path)   # and it replays


def test_nothing_to_autosave_before_training(qtbot, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    win = open_window(qtbot, FakeController(), settings)
    assert replay.autosave(win) is None and not (tmp_path / "cache").exists()


def test_a_second_run_is_shown_beside_the_first_at_the_same_step(qtbot, settings, run_file, tmp_path):
    slower = tmp_path / "slow.cnnviz"
    assert cli.main(["train", "--from", f"{run_file}@10", "--lr", "0.0001", "--record", str(slower)]) == 0
    controller = ReplayController(run_file, compare=slower)
    win = open_window(qtbot, controller, settings)
    replay.install(win)
    from cnnviz.gui.dock_layout import COMPARE_DOCK

    assert win.dock_layout.is_open(COMPARE_DOCK)
    fed = []
    win.teach.compare.show_snapshot = lambda snapshot, layer: fed.append(snapshot)
    controller.show(2)
    win.pull()
    shown = win.shown_snapshot()
    expected = [p for p in controller.other_points if p.step <= shown.step][-1]
    assert fed and fed[-1] is expected and expected.step == shown.step == 20
    assert expected.layers[0].params["W"].tolist() != shown.layers[0].params["W"].tolist()

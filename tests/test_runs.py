"""Run files on the command line (issue 13): record, inspect, eval a run file, branch bit for bit,
and bad run files refused in one sentence."""

from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pytest

from cnnviz import cli
from cnnviz.errors import RecordError
from cnnviz.runs import open_run, split_at
from cnnviz.session.history import Curves


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def run_cli(capsys, *argv) -> dict:
    assert cli.main(list(argv)) == 0
    return last_json(capsys)


def test_the_issues_quality_bar(tmp_path, capsys):
    """train --record --save, inspect, eval of both, and a branch at 120 ending on the same loss."""
    run, npz = str(tmp_path / "r.cnnviz"), str(tmp_path / "m.npz")
    trained = run_cli(capsys, "train", "--data", "digits", "--limit", "4000", "--epochs", "2", "--seed", "1",
                      "--record", run, "--save", npz, "--json")
    info = run_cli(capsys, "inspect", run, "--json")
    assert info["snapshots"] >= 10 and info["first_step"] == 0 and info["last_step"] == 250
    assert info["bookmarks"] == [] and info["settings"]["lr"] == trained["settings"]["lr"]
    from_npz = run_cli(capsys, "eval", "--model", npz, "--json")
    from_run = run_cli(capsys, "eval", "--model", run, "--json")
    assert from_run["loss"] == from_npz["loss"] == trained["test_loss"]
    assert from_run["confusion"] == from_npz["confusion"]
    earlier = run_cli(capsys, "eval", "--model", f"{run}@120", "--json")
    assert earlier["loss"] != from_run["loss"]   # the weights of step 120 (or the last point before it)
    branch = run_cli(capsys, "train", "--from", f"{run}@120", "--json")
    assert branch["branched_from"]["step"] <= 120 and branch["branched_from"]["step"] > 0
    assert branch["test_loss"] == trained["test_loss"] and branch["steps"] == 250


def small_run(tmp_path, capsys, name="s.cnnviz", *extra) -> str:
    path = str(tmp_path / name)
    run_cli(capsys, "train", "--limit", "640", "--epochs", "2", "--seed", "3", "--record", path, "--json", *extra)
    return path


def test_a_branch_with_another_rate_differs_and_records_its_parent(tmp_path, capsys):
    path = small_run(tmp_path, capsys)
    same = run_cli(capsys, "train", "--from", f"{path}@25", "--json")
    original = run_cli(capsys, "eval", "--model", path, "--json")
    assert same["test_loss"] == original["loss"]
    branch = str(tmp_path / "b.cnnviz")
    other = run_cli(capsys, "train", "--from", f"{path}@25", "--lr", "0.0005", "--record", branch, "--json")
    assert other["test_loss"] != original["loss"]
    info = open_run(branch).describe()
    assert info["parent"] == {"file": path, "step": 20} and info["first_step"] == 20 and info["last_step"] == 40
    assert info["settings"]["lr"] == 0.0005


def test_a_branch_keeps_its_runs_dataset_and_counts_epochs_from_the_start(tmp_path, capsys):
    path = small_run(tmp_path, capsys)
    assert cli.main(["train", "--from", path, "--data", "mnist"]) == 2
    assert "--data" in capsys.readouterr().err
    assert cli.main(["train", "--from", path]) == 2   # its last point ends epoch 2 of 2
    err = capsys.readouterr().err
    assert "--epochs counts from the run's start" in err and len(err.strip().splitlines()) == 1
    longer = run_cli(capsys, "train", "--from", path, "--epochs", "3", "--json")
    assert longer["steps"] == 60


def test_the_recorded_points_replay_and_resume(tmp_path, capsys):
    run = open_run(small_run(tmp_path, capsys))
    snapshots = run.snapshots()
    assert [s.step for s in snapshots] == [p.step for p in run.points] and snapshots[-1].step == 40
    last = snapshots[-1]
    assert last.stats and last.curves["loss"].shape[1] == 40   # the statistics panel has its history
    conv = last.layers[0]
    assert conv.params["W"].shape == (8, 1, 5, 5) and conv.update["W"].shape == (8, 1, 5, 5)
    assert np.abs(conv.update["W"]).max() > 0   # ΔW of the update before the point
    state = run.state(run.points[2])
    assert state["step"] == run.points[2].step and state["cursor"]["order"].shape == (640,)


def test_split_at_reads_the_step_only_after_the_last_at(tmp_path):
    assert split_at("r.cnnviz@120") == ("r.cnnviz", 120)
    assert split_at("a@b/r.cnnviz") == ("a@b/r.cnnviz", None)
    odd = tmp_path / "odd@7"
    odd.write_text("x")
    assert split_at(str(odd)) == (str(odd), None)


def test_a_checkpoint_carries_its_curves_and_epoch(tmp_path, capsys):
    npz = str(tmp_path / "m.npz")
    run_cli(capsys, "train", "--limit", "320", "--epochs", "2", "--save", npz, "--json")
    info = run_cli(capsys, "inspect", npz, "--json")
    assert info["kind"] == "checkpoint" and info["step"] == 20 and info["epoch"] == 1
    assert info["curves"]["loss"] == 20 and info["images_seen"] == 640


def test_curves_restore_exactly():
    curves = Curves(max_points=8)
    for i in range(21):
        curves.add("loss", i, i * 0.5)
    copy = Curves(max_points=8)
    copy.restore(curves.state())
    for i in range(21, 40):
        curves.add("loss", i, i * 0.5)
        copy.add("loss", i, i * 0.5)
    assert np.array_equal(curves.as_arrays()["loss"], copy.as_arrays()["loss"])


@pytest.fixture
def good_run(tmp_path, capsys):
    return small_run(tmp_path, capsys, "good.cnnviz")


def bad_files(tmp_path, good_run):
    data = open(good_run, "rb").read()
    files = {"truncated": data[: len(data) // 2], "text": b"just some text\n",
             "pickle": pickle.dumps({"format": "cnnviz-run"}), "empty": b""}
    future = tmp_path / "future.cnnviz"
    with zipfile.ZipFile(good_run) as source, zipfile.ZipFile(future, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "run/header.json":
                header = json.loads(content)
                header["version"] = 99
                content = json.dumps(header).encode()
            target.writestr(item.filename, content)
    files["future"] = future.read_bytes()
    return files


def test_bad_run_files_are_one_sentence_and_exit_2(tmp_path, capsys, good_run):
    for label, data in bad_files(tmp_path, good_run).items():
        path = tmp_path / f"bad-{label}.cnnviz"
        path.write_bytes(data)
        for argv in (["inspect", str(path)], ["eval", "--model", f"{path}@10"], ["train", "--from", str(path)]):
            assert cli.main(argv) == 2, (label, argv)
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1 and str(path) in err[0] and "Traceback" not in err[0], (label, err)
        with pytest.raises(RecordError) as error:
            open_run(path)
        if label == "future":
            assert "newer cnnviz" in str(error.value) and "format 99" in str(error.value)

"""The command line, run in-process through ``main([...])`` and once as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.data.idx import read_idx, write_idx

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = REPO / ".." / "shared" / "data" / "mnist"


@pytest.fixture(scope="module")
def mnist_folder(tmp_path_factory) -> Path:
    """A one-pair IDX folder holding the first 3,000 real MNIST test digits."""
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"shared MNIST data not found at {MNIST_DIR}")
    folder = tmp_path_factory.mktemp("mnist3000")
    write_idx(folder / "train-images-idx3-ubyte.gz", read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz")[:3000])
    write_idx(folder / "train-labels-idx1-ubyte.gz", read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")[:3000])
    return folder


@pytest.fixture(scope="module")
def trained(mnist_folder, tmp_path_factory):
    """Train once on the folder (2,000 of its 2,400 training images) and save a checkpoint."""
    checkpoint = tmp_path_factory.mktemp("ck") / "net.npz"
    code = main(["train", "--data", str(mnist_folder), "--limit", "2000", "--json",
                 "--save", str(checkpoint)])
    return code, checkpoint


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_train_on_folder_prints_json_and_saves(trained, capsys, mnist_folder):
    code, checkpoint = trained
    assert code == 0 and checkpoint.is_file()
    # The module fixture's output was captured in an earlier test phase; train again briefly here.
    assert main(["train", "--data", str(mnist_folder), "--limit", "300", "--json",
                 "--batch-size", "50", "--optimizer", "sgd", "--lr", "0.05"]) == 0
    result = last_json(capsys.readouterr().out)
    assert result["train_images"] == 300 and result["test_images"] == 600  # 20% of 3,000 held out
    for key in ("test_accuracy", "test_loss", "seconds", "images_per_second"):
        assert key in result
    assert 0 <= result["test_accuracy"] <= 1 and result["seconds"] > 0
    assert result["images_per_second"] == pytest.approx(300 / result["seconds"])


def test_eval_scores_the_held_out_part_like_train_did(trained, capsys, mnist_folder):
    code, checkpoint = trained
    assert main(["eval", "--model", str(checkpoint), "--json"]) == 0
    result = last_json(capsys.readouterr().out)
    assert result["test_images"] == 600
    confusion = np.array(result["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 600
    assert result["accuracy"] == pytest.approx(np.trace(confusion) / 600)
    assert result["accuracy"] > 0.75  # 2,000 real digits, one epoch: clearly learned
    # The same network, data and statistics as at the end of training give the same score.
    assert main(["eval", "--model", str(checkpoint), "--data", str(mnist_folder), "--json"]) == 0
    assert last_json(capsys.readouterr().out)["accuracy"] == result["accuracy"]


def assert_one_line_error(capsys, code, *words):
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def test_unknown_dataset(capsys):
    assert_one_line_error(capsys, main(["train", "--data", "mnits"]), "unknown dataset 'mnits'")


def test_missing_folder(capsys, tmp_path):
    assert_one_line_error(capsys, main(["train", "--data", str(tmp_path / "nope")]), "no such folder")


def test_truncated_file(capsys, tmp_path, mnist_folder):
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        data = (mnist_folder / name).read_bytes()
        (tmp_path / name).write_bytes(data[: len(data) // 2] if "images" in name else data)
    code = main(["train", "--data", str(tmp_path)])
    assert_one_line_error(capsys, code, "train-images-idx3-ubyte.gz", "truncated")


def test_checkpoint_of_another_architecture(capsys, tmp_path, mnist_folder):
    from cnnviz.nn import build_model, save_checkpoint

    path = tmp_path / "colour.npz"
    save_checkpoint(path, build_model("seed", seed=0, input_shape=(3, 32, 32)), meta={})
    code = main(["eval", "--model", str(path), "--data", str(mnist_folder)])
    assert_one_line_error(capsys, code, str(path), "3x32x32", "1x28x28")


def test_corrupt_checkpoint(capsys, tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"not a checkpoint at all")
    assert_one_line_error(capsys, main(["eval", "--model", str(path)]), "junk.npz")


def test_usage_errors_exit_2(capsys):
    assert main(["train", "--epochs", "0"]) == 2
    assert main(["train", "--holdout", "1.5"]) == 2
    assert main(["eval"]) == 2  # --model is required
    assert "usage" in capsys.readouterr().err


def test_no_command_opens_the_window(monkeypatch):
    import cnnviz.cli

    calls = []
    monkeypatch.setattr(cnnviz.cli, "run_gui", lambda args: calls.append(args) or 0)
    assert main([]) == 0
    assert len(calls) == 1 and calls[0].command is None


def run(args, **kw):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, **kw)


def test_subprocess_train_prints_json_last_and_progress_without_tty(mnist_folder):
    entry = ["main.py"] if (REPO / "main.py").is_file() else ["-m", "cnnviz.cli"]
    proc = run([*entry, "train", "--data", str(mnist_folder), "--limit", "200", "--json"])
    assert proc.returncode == 0, proc.stderr
    assert last_json(proc.stdout)["train_images"] == 200
    assert "\r" not in proc.stderr and "epoch 1/1" in proc.stderr  # plain lines, no bar


def test_subprocess_bad_input_exits_2_without_traceback(tmp_path):
    entry = ["main.py"] if (REPO / "main.py").is_file() else ["-m", "cnnviz.cli"]
    proc = run([*entry, "eval", "--model", str(tmp_path / "missing.npz")])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_download_built_in_digits_is_refused(capsys):
    assert_one_line_error(capsys, main(["download", "digits"]), "built in")


def test_download_into_cache_from_a_local_mirror(capsys, tmp_path, monkeypatch, mnist_folder):
    import functools
    import http.server
    import threading
    from dataclasses import replace

    from cnnviz.data import registry

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(MNIST_DIR))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        labels = [f for f in registry.DATASETS["mnist"].files if "t10k-labels" in f.name]
        local = f"http://127.0.0.1:{server.server_address[1]}/"
        info = replace(registry.DATASETS["mnist"], mirrors=(local,), files=tuple(labels))
        monkeypatch.setitem(registry.DATASETS, "mnist", info)
        assert main(["download", "mnist", "--cache", str(tmp_path)]) == 0
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert str(tmp_path / "mnist") in capsys.readouterr().out
    assert (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes() == \
        (MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes()


def test_bench_gui_command_reaches_the_benchmark(monkeypatch):
    import cnnviz.gui.bench

    calls = []
    monkeypatch.setattr(cnnviz.gui.bench, "bench_gui", lambda seconds, as_json, args: calls.append((seconds, as_json)))
    assert main(["bench-gui", "--seconds", "2.5", "--json"]) == 0
    assert calls == [(2.5, True)]
    assert main(["bench-gui", "--seconds", "-1"]) == 2


def test_window_options_reach_the_window(monkeypatch):
    import cnnviz.cli

    seen = []
    monkeypatch.setattr(cnnviz.cli, "run_gui", lambda args: seen.append(args) or 0)
    assert main(["--preset", "tiny", "--lr", "0.003", "--play"]) == 0
    assert seen[0].preset == "tiny" and seen[0].lr == 0.003 and seen[0].play


def test_train_settings_default_to_the_stated_defaults_and_explicit_options_win():
    from cnnviz.cli import build_parser, training_settings
    from cnnviz.nn import DEFAULTS, PAPER_SETTINGS

    parse = lambda *words: training_settings(build_parser().parse_args(["train", *words]))
    assert parse() == DEFAULTS
    assert parse("--paper-settings") == PAPER_SETTINGS
    mixed = parse("--paper-settings", "--lr", "0.002", "--schedule", "cosine")
    assert (mixed.lr, mixed.schedule, mixed.beta1, mixed.init) == (0.002, "cosine", PAPER_SETTINGS.beta1, "paper")
    assert parse("--batch-size", "8", "--optimizer", "sgd").batch_size == 8


def test_train_reports_dead_channels_as_the_saved_network_has_them(capsys, tmp_path):
    """The paper's settings kill conv channels on the built-in digits; --json names them per conv
    layer, the text says so, and they are the ones the saved network really has."""
    from cnnviz.data import load_dataset
    from cnnviz.nn import dead_channels, load_checkpoint

    saved = tmp_path / "paper.npz"
    assert main(["train", "--limit", "3200", "--paper-settings", "--json", "--save", str(saved)]) == 0
    out = capsys.readouterr().out
    result = last_json(out)
    assert result["settings"]["lr"] == 0.01 and result["settings"]["schedule"] == "constant"
    dead = result["dead_channels"]
    assert set(dead) == {"0", "2"} and result["dead_channel_images"] == 1000
    data = load_dataset("digits", limit=3200, seed=0)
    model = load_checkpoint(saved).model
    assert dead == {str(k): v for k, v in dead_channels(model, data.x_test[:1000]).items()}
    assert len(dead["2"]) >= 3, "the paper's settings should kill several conv-2 channels"
    line = next(text for text in out.splitlines() if text.startswith("dead channels"))
    assert f"{len(dead['2'])} of 8 ({', '.join(map(str, dead['2']))})" in line


def test_train_with_a_schedule_and_a_bogus_one(capsys):
    assert main(["train", "--limit", "200", "--schedule", "cosine", "--json"]) == 0
    assert last_json(capsys.readouterr().out)["settings"]["schedule"].startswith("cosine decay")
    assert main(["train", "--schedule", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in err and "Traceback" not in err

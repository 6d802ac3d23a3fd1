"""The command line under faults and hostile input (issue 14): bad destinations are refused before
training, bad numbers are usage errors, and every refusal is one line on stderr with exit status 2."""

from __future__ import annotations

import errno
import os

import pytest

import cnnviz.data
import cnnviz.session.training
from cnnviz.cli import main


def one_line_error(capsys, code, *words) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


@pytest.fixture
def no_training(monkeypatch):
    """Records whether a dataset was loaded or a batch trained (neither may happen)."""
    calls = []
    real_load = cnnviz.data.load_dataset
    monkeypatch.setattr(cnnviz.data, "load_dataset", lambda *a, **k: calls.append("load") or real_load(*a, **k))
    monkeypatch.setattr(cnnviz.session.training, "train_step", lambda *a, **k: calls.append("train") or (0.0, 0.0))
    return calls


def test_a_missing_save_folder_is_refused_before_loading_or_training(capsys, tmp_path, no_training):
    code = main(["train", "--limit", "64", "--save", str(tmp_path / "no" / "such" / "m.npz")])
    one_line_error(capsys, code, "cannot write checkpoint", "does not exist")
    assert no_training == []


def test_a_save_path_that_is_a_folder_or_empty_is_refused_at_once(capsys, tmp_path, no_training):
    one_line_error(capsys, main(["train", "--save", str(tmp_path)]), str(tmp_path), "is a folder")
    one_line_error(capsys, main(["train", "--save", ""]), "no file name given for the checkpoint")
    assert no_training == []


def test_a_read_only_save_folder_or_file_is_refused_at_once(capsys, tmp_path, no_training, read_only):
    folder = read_only(tmp_path / "ro")
    one_line_error(capsys, main(["train", "--save", str(folder / "m.npz")]), "Permission denied")
    kept = tmp_path / "kept.npz"
    kept.write_bytes(b"an earlier checkpoint")
    kept.chmod(0o444)
    one_line_error(capsys, main(["train", "--save", str(kept)]), "read-only")
    assert no_training == [] and kept.read_bytes() == b"an earlier checkpoint"


def test_a_full_disk_is_found_before_training(capsys, tmp_path, no_training, monkeypatch):
    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)
    code = main(["train", "--limit", "64", "--save", str(tmp_path / "m.npz")])
    one_line_error(capsys, code, "No space left on device", "MB")
    assert no_training == ["load"]   # the data was loaded to size the network, nothing trained
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("seed", ["-1", str(2**32), "x"])
def test_a_negative_or_huge_seed_is_a_usage_error(capsys, seed, no_training):
    for argv in (["train", "--seed", seed], ["--seed", seed]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "--seed" in err and "Traceback" not in err
    assert no_training == []


def test_an_empty_test_split_is_refused_not_scored_as_0_percent(capsys, tmp_path):
    import numpy as np

    from cnnviz.data.idx import write_idx

    rng = np.random.default_rng(0)
    write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 256, (40, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", rng.integers(0, 10, 40).astype(np.uint8))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((0, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(0, np.uint8))
    one_line_error(capsys, main(["train", "--data", str(tmp_path)]), "t10k-images-idx3-ubyte", "holds no images")


def test_a_preset_path_is_refused_with_the_list_of_presets(capsys, tmp_path, no_training):
    (tmp_path / "listpreset.json").write_text("[1, 2]")
    code = main(["train", "--preset", str(tmp_path / "listpreset")])
    one_line_error(capsys, code, "unknown preset", "the presets are: lenet, seed, sigmoid, tiny")
    assert no_training == []


def test_download_into_a_cache_that_is_a_file_or_read_only_is_one_line(capsys, tmp_path, read_only, monkeypatch):
    import urllib.request

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("no download may start"))
    (tmp_path / "file").write_text("x")
    one_line_error(capsys, main(["download", "mnist", "--cache", str(tmp_path / "file")]), "is a file, not a folder")
    ro = read_only(tmp_path / "ro")
    one_line_error(capsys, main(["download", "mnist", "--cache", str(ro)]), "Permission denied")


def run_cli(*args):
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-m", "cnnviz.cli", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(repo)}, timeout=300)


def test_train_at_lr_1e6_stops_with_one_sentence_and_saves_nothing(tmp_path):
    target = tmp_path / "m.npz"
    proc = run_cli("train", "--lr", "1e6", "--limit", "500", "--save", str(target))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert "RuntimeWarning" not in proc.stderr and "Traceback" not in proc.stderr
    # a plain progress line per finished epoch is all stderr may hold besides the sentence: none here
    assert len(lines) == 1 and "diverged" in lines[0] and f"nothing was saved to {target}" in lines[0], lines
    assert not target.exists() and list(tmp_path.iterdir()) == []
    assert "test accuracy" not in proc.stdout   # no result is claimed


def test_eval_of_a_checkpoint_whose_outputs_overflow_is_one_sentence(tmp_path):
    from cnnviz.nn import build_model, save_checkpoint

    model = build_model("tiny", seed=0)
    for params, _ in model.parameters():
        params["W"] *= 1e30   # finite weights, outputs beyond float32
    path = save_checkpoint(tmp_path / "huge.npz", model, meta={"dataset": "digits"})
    proc = run_cli("eval", "--model", str(path))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "overflow" in lines[0] and str(path) in lines[0], proc.stderr
    assert "RuntimeWarning" not in proc.stderr


def test_a_batch_size_beyond_memory_is_refused_before_training(capsys, no_training):
    code = main(["train", "--limit", "5000", "--batch-size", "1000000"])
    one_line_error(capsys, code, "a batch of 5,000 images is too large for this network", "MB a step may use")
    assert no_training == ["load"]
    assert main(["train", "--limit", "300", "--batch-size", "1000000"]) == 0   # one batch of 300 fits

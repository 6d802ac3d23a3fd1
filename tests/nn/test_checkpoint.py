"""Checkpoints round-trip, are written atomically, and reject what they cannot load."""

import json
import zipfile

import numpy as np
import pytest

from cnnviz.errors import CheckpointError
from cnnviz.nn import Adam, SGD, SoftmaxCrossEntropy, build_model, load_checkpoint, load_into, save_checkpoint


def trained(preset="seed", opt_class=Adam):
    model = build_model(preset, seed=0)
    opt = opt_class(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    loss = SoftmaxCrossEntropy()
    for _ in range(3):
        loss.forward(model.forward(rng.standard_normal((4, 1, 28, 28)).astype(np.float32)), rng.integers(0, 10, 4))
        model.backward(loss.backward())
        opt.step()
    return model, opt


@pytest.mark.parametrize("opt_class", [Adam, SGD])
def test_round_trip_restores_weights_optimizer_step_and_meta(tmp_path, opt_class):
    model, opt = trained(opt_class=opt_class)
    path = save_checkpoint(tmp_path / "run.npz", model, opt, step=3, meta={"dataset": "digits", "mean": 0.1})
    ckpt = load_checkpoint(path)
    assert ckpt.step == 3 and ckpt.meta == {"dataset": "digits", "mean": 0.1}
    assert ckpt.model.describe() == model.describe() and ckpt.model.preset == "seed"
    for (pa, _), (pb, _) in zip(model.parameters(), ckpt.model.parameters()):
        for key in pa:
            np.testing.assert_array_equal(pa[key], pb[key])
    assert type(ckpt.optimizer) is opt_class and ckpt.optimizer.t == opt.t
    for name, value in opt.state_arrays().items():
        np.testing.assert_array_equal(value, ckpt.optimizer.state_arrays()[name])
    x = np.ones((1, 1, 28, 28), np.float32)
    np.testing.assert_array_equal(model.forward(x), ckpt.model.forward(x))


def test_file_is_plain_npz_with_json_metadata_and_no_pickle(tmp_path):
    model, opt = trained()
    path = save_checkpoint(tmp_path / "a.npz", model, opt)
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(str(data["meta"]))
        assert all(data[name].dtype != object for name in data.files)
    assert header["architecture"]["layers"][0] == {"type": "conv", "filters": 8, "kernel": 5, "stride": 1, "padding": 0}


def test_load_into_same_architecture_and_refuse_another(tmp_path):
    model, opt = trained()
    path = save_checkpoint(tmp_path / "a.npz", model, opt, step=7)
    fresh = build_model("seed", seed=9)
    assert load_into(path, fresh).step == 7
    np.testing.assert_array_equal(fresh.layers[0].params["W"], model.layers[0].params["W"])
    with pytest.raises(CheckpointError, match="different network"):
        load_into(path, build_model("lenet"))


def test_truncated_file_is_refused(tmp_path):
    model, _ = trained()
    path = save_checkpoint(tmp_path / "a.npz", model)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="a.npz"):
        load_checkpoint(path)


def test_non_checkpoints_are_refused(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    for path in (text, other, tmp_path / "missing.npz"):
        with pytest.raises(CheckpointError, match=path.name):
            load_checkpoint(path)


def test_pickled_arrays_are_never_loaded(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, meta=np.array([{"format": "cnnviz-checkpoint"}], dtype=object))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_failed_write_keeps_the_earlier_checkpoint(tmp_path, monkeypatch):
    model, opt = trained()
    path = save_checkpoint(tmp_path / "keep.npz", model, opt, step=1)
    before = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(CheckpointError, match="No space left"):
        save_checkpoint(path, model, opt, step=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.npz"]  # no temp file left behind


def test_unwritable_folder_is_one_sentence(tmp_path):
    model, _ = trained()
    with pytest.raises(CheckpointError, match="cannot write checkpoint"):
        save_checkpoint(tmp_path / "no" / "such" / "dir" / "a.npz", model)


def test_a_checkpoint_may_have_any_file_name(tmp_path):
    model, opt = trained()
    path = save_checkpoint(tmp_path / "lesson3.ckpt", model, opt, step=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lesson3.ckpt"]
    assert load_checkpoint(path).step == 4

"""Exports are valid files, read back equal, and a failed write leaves an existing file untouched."""

import csv
import json
import os

import numpy as np
import pytest

from cnnviz.nn import Adam, SoftmaxCrossEntropy, build_model
from cnnviz.session.records import (ExportError, atomic_write, export_curves_csv, export_snapshot_npz,
                                   snapshot_arrays)
from cnnviz.session.history import Curves
from cnnviz.session.snapshot import Snapshot, capture_layers, freeze


def small_snapshot() -> Snapshot:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
    y = np.array([1, 2, 3, 4])
    model = build_model("seed", seed=0)
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    before = [{k: v.copy() for k, v in layer.params.items()} for layer in model.layers]
    Adam(model.parameters()).step()
    updates = [{k: layer.params[k] - b[k] for k in b} for layer, b in zip(model.layers, before)]
    curves = {"loss": freeze(np.array([[32.0, 64.0, 96.0], [2.3, 1.9, 1.5]])),
              "val_accuracy": freeze(np.array([[96.0], [0.5]]))}
    return Snapshot(seq=3, layers=capture_layers(model, 0, updates=updates), phase="update", step=1,
                    probe_image=freeze(x[0]), probe_display=freeze(np.clip(x[0], 0, 1)), probe_label=1,
                    probs=freeze(loss_fn.probs[0]), class_names=tuple("0123456789"), preset="seed",
                    lr=0.01, curves=curves)


@pytest.fixture(scope="module")
def snapshot():
    return small_snapshot()


def test_npz_has_named_arrays_equal_to_the_snapshot(snapshot, tmp_path):
    path = tmp_path / "snap.npz"
    assert export_snapshot_npz(snapshot, path) == path
    with np.load(path, allow_pickle=False) as data:
        names = set(data.files)
        assert {"layer0_conv/W", "layer0_conv/dL_dW", "layer0_conv/delta_W", "layer2_conv/output",
                "layer4_maxpool/mask", "layer8_dense/b", "probe_image", "probs", "curves/loss", "meta"} <= names
        assert np.array_equal(data["layer2_conv/output"], snapshot.layers[2].output)
        assert np.array_equal(data["layer0_conv/dL_dW"], snapshot.layers[0].grads["W"])
        assert data["layer4_maxpool/mask"].dtype == bool
        assert np.array_equal(data["layer4_maxpool/mask"], snapshot.layers[4].mask)
        meta = json.loads(str(data["meta"]))
    assert meta["phase"] == "update" and meta["preset"] == "seed" and meta["lr"] == 0.01
    assert meta["layers"][2]["key"] == "layer2_conv" and meta["layers"][2]["output_shape"] == [8, 20, 20]
    assert meta["layers"][4]["config"] == {"type": "maxpool", "size": 2, "stride": 2}
    assert len(names) == len(snapshot_arrays(snapshot))
    assert not [p for p in os.listdir(tmp_path) if p != "snap.npz"]   # no temp file left behind


def test_csv_long_format_round_trips(snapshot, tmp_path):
    path = export_curves_csv(snapshot.curves, tmp_path / "curves.csv")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["curve", "images_seen", "value"]
    assert rows[1:] == [["loss", "32", "2.3"], ["loss", "64", "1.9"], ["loss", "96", "1.5"],
                        ["val_accuracy", "96", "0.5"]]


def test_csv_from_a_curves_object(tmp_path):
    curves = Curves()
    for i in range(5):
        curves.add("loss", 32 * (i + 1), 1.0 / (i + 1))
    path = export_curves_csv(curves, tmp_path / "c.csv")
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    assert len(rows) == 5 and float(rows[-1]["value"]) == pytest.approx(0.2)


def test_failed_writes_leave_the_old_file_untouched(snapshot, tmp_path):
    path = tmp_path / "keep.npz"
    path.write_bytes(b"precious")

    def broken(tmp):
        with open(tmp, "wb") as f:
            f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(ExportError, match="keep.npz.*No space left"):
        atomic_write(path, broken)
    with pytest.raises(ExportError, match="curve 'bad'"):
        export_curves_csv({"bad": np.zeros(3)}, tmp_path / "keep.npz")
    assert path.read_bytes() == b"precious"
    assert sorted(os.listdir(tmp_path)) == ["keep.npz"]


def test_unwritable_folder_names_the_file(snapshot, tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "x.npz"
    with pytest.raises(ExportError, match="x.npz"):
        export_snapshot_npz(snapshot, missing)


def test_npz_carries_the_validation_and_statistics_series(dataset, tmp_path):
    from cnnviz.session.snapshot import live_snapshot
    from cnnviz.session.trainer import Trainer

    trainer = Trainer(dataset, batch_size=16, val_size=60, val_every=5)
    trainer.stats_history.every = 2
    for _ in range(5):
        trainer.train_batch()
    snapshot = live_snapshot(trainer, 1)
    with np.load(export_snapshot_npz(snapshot, tmp_path / "s.npz"), allow_pickle=False) as data:
        assert np.array_equal(data["validation/confusion"], snapshot.validation["confusion"])
        assert data["validation/images"].shape == snapshot.validation["images"].shape
        assert list(data["stats/steps"]) == [1, 3, 5]
        assert np.allclose(data["stats/grad_norm/layer0_conv"], [r["layers"][0]["grad_norm"] for r in snapshot.stats])

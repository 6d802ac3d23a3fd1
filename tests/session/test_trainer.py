"""The trainer: it learns, recovers from NaN, tracks ΔW exactly, validates, and its snapshots are
frozen copies that never alias the live model."""

import numpy as np
import pytest

from cnnviz.errors import TrainingError
from cnnviz.session.builder import live_snapshot
from cnnviz.session.trainer import Trainer

from session_helpers import SMALL


@pytest.fixture
def trainer(dataset):
    return Trainer(dataset, batch_size=16, **SMALL)


def live_arrays(trainer):
    """Every array the training model, its optimizer and the probe twin hold."""
    arrays = []
    for model in (trainer.model, trainer.twin):
        for layer in model.layers:
            arrays += list(layer.params.values()) + list(layer.grads.values())
            arrays += [value for value in layer.cache_state().values() if value is not None]
    arrays += list(trainer.optimizer.state_arrays().values())
    arrays += [trainer.dataset.x_test, trainer.dataset.x_train]
    return arrays


def snapshot_arrays(snapshot):
    arrays = [snapshot.probe_image, snapshot.probe_display, snapshot.probs, *snapshot.curves.values()]
    for layer in snapshot.layers:
        arrays += [layer.input, layer.output, layer.pre_activation, layer.dL_dout, layer.dL_dinput, layer.mask]
        for group in (layer.params, layer.grads, layer.update):
            arrays += list(group.values())
    return [a for a in arrays if a is not None]


def test_training_lowers_the_loss(trainer):
    losses = [trainer.train_batch()[0] for _ in range(40)]
    assert np.mean(losses[-8:]) < np.mean(losses[:8])
    assert trainer.step == 40 and trainer.images_seen == 40 * 16
    assert trainer.curves.as_arrays()["loss"].shape == (2, 40)


def test_validation_runs_every_n_batches_on_the_twin(trainer):
    caches = [layer.output for layer in trainer.model.layers]
    for _ in range(SMALL["val_every"]):
        trainer.train_batch()
    assert trainer.val_accuracy is not None and 0 <= trainer.val_accuracy <= 1
    assert trainer.curves.as_arrays()["val_accuracy"].shape == (2, 1)
    assert all(a is not b for a, b in zip(caches, [layer.output for layer in trainer.model.layers]))


def test_delta_is_exactly_the_change_of_the_weights(trainer):
    trainer.train_batch()
    before = [{k: v.copy() for k, v in layer.params.items()} for layer in trainer.model.layers]
    trainer.train_batch(track_delta=True)
    delta = trainer.delta.delta(trainer.model)
    for layer, old, change in zip(trainer.model.layers, before, delta):
        for key in old:
            assert np.array_equal(change[key], layer.params[key] - old[key])
    trainer.train_batch(track_delta=False)
    assert trainer.delta.delta(trainer.model) is None, "an untracked update makes ΔW unknown"


def test_nan_loss_restores_good_weights_and_names_the_learning_rate(trainer):
    for _ in range(12):
        trainer.train_batch()
    trainer.set_lr(1e30)
    with np.errstate(all="ignore"), pytest.raises(TrainingError, match=r"learning rate 1e\+30") as caught:
        for _ in range(20):
            trainer.train_batch()
    assert "NaN" in str(caught.value) or "infinite" in str(caught.value)
    assert all(np.isfinite(v).all() for params, _ in trainer.model.parameters() for v in params.values())
    assert all(np.isfinite(v).all() for v in trainer.optimizer.state_arrays().values())
    trainer.set_lr(0.001)
    loss, _ = trainer.train_batch()
    assert np.isfinite(loss), "the model stays usable after a NaN"


def test_bad_settings_are_refused_with_a_sentence(trainer):
    with pytest.raises(ValueError, match="learning rate"):
        trainer.set_lr(-1)
    with pytest.raises(ValueError, match="batch size"):
        trainer.set_batch_size(0)
    with pytest.raises(ValueError, match="probe"):
        trainer.set_probe(10_000)


def test_live_snapshot_is_frozen_and_never_aliases_the_model(trainer):
    trainer.train_batch(track_delta=True)
    snapshot = live_snapshot(trainer, seq=1)
    arrays = snapshot_arrays(snapshot)
    assert len(arrays) > 40
    live = live_arrays(trainer)
    for array in arrays:
        assert not array.flags.writeable
        assert not any(np.shares_memory(array, other) for other in live)
    conv = snapshot.layers[0]
    assert conv.update["W"].shape == conv.params["W"].shape
    assert snapshot.layers[0].input.shape == (1, 28, 28)
    assert snapshot.probs.shape == (10,) and snapshot.probe_split == "test"
    assert 0 <= snapshot.probe_display.min() and snapshot.probe_display.max() <= 1


def test_the_probe_never_disturbs_the_training_caches(trainer):
    trainer.train_batch()
    before = [layer.cache_state() for layer in trainer.model.layers]
    grads = [{k: v.copy() for k, v in layer.grads.items()} for layer in trainer.model.layers]
    live_snapshot(trainer, seq=1)
    for layer, cached, old_grads in zip(trainer.model.layers, before, grads):
        for name, value in cached.items():
            assert layer.cache_state()[name] is value, name
        for key, value in old_grads.items():
            assert np.array_equal(layer.grads[key], value)


def test_probe_maps_follow_only_the_weights(trainer):
    first = live_snapshot(trainer, seq=1)
    again = live_snapshot(trainer, seq=2)
    assert np.array_equal(first.layers[1].output, again.layers[1].output)
    trainer.train_batch()
    moved = live_snapshot(trainer, seq=3)
    assert not np.array_equal(first.layers[1].output, moved.layers[1].output)


def test_a_finite_but_diverged_loss_pauses_like_nan(trainer):
    """Adam at lr 1e6: the loss climbs to ~1e30 and stays finite. It must stop like a NaN does."""
    from cnnviz.session.trainer import DIVERGED_FACTOR

    for _ in range(3):
        trainer.train_batch()
    good = [{k: v.copy() for k, v in params.items()} for params, _ in trainer.model.parameters()]
    trainer.set_lr(1e6)
    limit = DIVERGED_FACTOR * np.log(10)
    with np.errstate(all="ignore"), pytest.raises(TrainingError, match="diverged") as caught:
        for _ in range(30):
            trainer.train_batch()
    assert "learning rate 1e+06" in str(caught.value) and "paused" in str(caught.value)
    assert trainer.step <= 10 and trainer.last_loss is None and trainer.last_accuracy is None
    for params, old in zip((p for p, _ in trainer.model.parameters()), good):
        assert all(np.isfinite(v).all() for v in params.values())
    assert trainer.curves.as_arrays()["loss"][1].max() <= limit   # a diverged loss never reached the curve
    trainer.set_lr(0.001)
    loss, _ = trainer.train_batch()
    assert np.isfinite(loss) and loss < limit


def test_a_batch_size_beyond_memory_is_refused_by_the_trainer_too(monkeypatch):
    from cnnviz.nn import memory
    from cnnviz.session.trainer import Trainer
    from session_helpers import tiny_dataset

    trainer = Trainer(tiny_dataset(), preset="tiny")
    monkeypatch.setattr(memory, "memory_budget", lambda: 10 * memory.bytes_per_image(trainer.model))
    trainer.set_batch_size(10)
    with pytest.raises(ValueError, match="at most 10 images fit"):
        trainer.set_batch_size(11)
    assert trainer.batch_size == 10

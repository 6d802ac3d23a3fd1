"""Statistics over time: the bounded history, the validation record, and how both reach snapshots."""

import numpy as np
import pytest

from cnnviz.session.snapshot import live_snapshot
from cnnviz.session.stats import series
from cnnviz.session.stats import STATS_EVERY, StatsHistory
from cnnviz.session.trainer import Trainer

from session_helpers import SMALL, run_commands


def fill(history: StatsHistory, batches: int) -> list[int]:
    """Go through ``batches`` batches, recording {"step": batch} when due; -> the batches recorded."""
    recorded = []
    for batch in range(1, batches + 1):
        if history.due(batch):
            history.add(batch, {"step": batch, "layers": []})
            recorded.append(batch)
    return recorded


def test_history_is_bounded_keeps_its_start_and_thins_evenly():
    history = StatsHistory(every=2, max_records=8)
    fill(history, 200)
    steps = [record["step"] for record in history.records]
    assert 4 <= len(steps) <= 8
    assert steps[0] == 1, "the start of the run is never dropped"
    gaps = np.diff(steps)
    assert len(set(gaps)) == 1 and gaps[0] > 2, f"evenly thinned, records further apart: {steps}"
    assert 200 - steps[-1] < gaps[0], "the newest part of the run is covered"


def test_first_batch_is_recorded_then_every_n():
    assert fill(StatsHistory(every=5), 16) == [1, 6, 11, 16]


@pytest.fixture
def trainer(dataset):
    return Trainer(dataset, batch_size=16, **SMALL)


def test_training_records_frozen_stats_that_snapshots_share(trainer):
    for _ in range(2 * STATS_EVERY + 1):
        trainer.train_batch()
    records = trainer.stats_history.records
    assert [r["step"] for r in records] == [1, STATS_EVERY + 1, 2 * STATS_EVERY + 1]
    first = records[0]
    with pytest.raises(TypeError):
        first["step"] = 5
    entry = first["layers"][0]
    assert entry["name"] and not entry["grad_hist"].flags.writeable
    a, b = live_snapshot(trainer, 1), live_snapshot(trainer, 2)
    assert a.stats is records and b.stats is records, "no copy of the history per snapshot"


def test_validation_confusion_covers_the_validation_set(trainer, dataset):
    trainer.validate()
    v = trainer.validation
    assert v["confusion"].shape == (10, 10) and v["confusion"].sum() == SMALL["val_size"] == v["size"]
    assert np.trace(v["confusion"]) / v["size"] == pytest.approx(trainer.val_accuracy)
    m = len(v["indices"])
    assert m == min(32, v["size"] - np.trace(v["confusion"]))
    assert v["images"].shape == (m, 1, 28, 28) and v["images"].dtype == np.float32
    assert 0 <= v["images"].min() and v["images"].max() <= 1
    assert np.array_equal(v["labels"], dataset.y_test[v["indices"]])
    assert np.all(v["labels"] != v["predicted"])
    assert not v["images"].flags.writeable
    assert live_snapshot(trainer, 1).validation is v


def test_reset_clears_stats_and_validation(trainer):
    for _ in range(SMALL["val_every"]):
        trainer.train_batch()
    assert len(trainer.stats_history) and trainer.validation is not None
    trainer.reset()
    assert not len(trainer.stats_history) and trainer.validation is None


def grad_norm_ratio(dataset, preset: str) -> float:
    """Median over the run of ‖dL/dW‖ of the first conv / that of the last dense layer."""
    trainer = Trainer(dataset, preset=preset, batch_size=16, val_every=0)
    trainer.stats_history.every = 2
    for _ in range(12):
        trainer.train_batch()
    _, norms = series(list(trainer.stats_history.records), "grad_norm")
    first, last = norms[min(norms)], norms[max(norms)]
    return float(np.median(first / last))


def test_sigmoid_gradients_vanish_in_the_first_layer(dataset):
    sigmoid = grad_norm_ratio(dataset, "sigmoid")
    assert sigmoid < 0.05, f"first conv's gradient norm is {sigmoid:.3g} x the last dense layer's"
    assert sigmoid < grad_norm_ratio(dataset, "seed") / 5


def test_step_snapshots_carry_stats_and_step_back_restores_them(session):
    session.trainer.stats_history.every = 1
    shots = run_commands(session, "step_batch", "step_batch")
    assert len(shots[-1].stats) == 2 and shots[-1].validation is not None
    walk = run_commands(session, "step_forward")
    assert walk[-1].phase == "forward" and walk[-1].stats is shots[-1].stats
    back = run_commands(session, "step_back", "step_back")   # before the walk, before the 2nd batch
    assert len(back[-1].stats) == 1 and len(session.trainer.stats_history) == 1
    again = run_commands(session, "step_batch")
    assert [r["step"] for r in again[-1].stats] == [1, 2], "the undone record is not kept twice"

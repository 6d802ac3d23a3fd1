"""train_step and evaluate: what they return is what the model does."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.errors import TrainingError
from cnnviz.nn import SGD, Adam, SoftmaxCrossEntropy, build_model
from cnnviz.session.training import evaluate, train_step


def batch(n=40, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.normal(0, 1, (n, 1, 28, 28)).astype(np.float32)
    x[np.arange(n), 0, y, y] += 6.0  # a learnable signal: a bright pixel on the diagonal
    return x, y


def test_train_step_reports_the_batch_before_the_update_and_learns():
    model = build_model("seed", seed=1)
    x, y = batch()
    logits = model.forward(x)
    expected_loss = SoftmaxCrossEntropy().forward(logits, y)
    expected_acc = float((logits.argmax(1) == y).mean())
    optimizer = Adam(model.parameters(), lr=0.001)
    loss, acc = train_step(model, SoftmaxCrossEntropy(), optimizer, x, y)
    assert loss == pytest.approx(expected_loss, rel=1e-6) and acc == expected_acc
    losses = [train_step(model, SoftmaxCrossEntropy(), optimizer, x, y)[0] for _ in range(30)]
    assert losses[-1] < 0.5 * loss


def test_diverging_loss_is_a_training_error():
    model = build_model("seed", seed=1)
    x, y = batch(8)
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(TrainingError, match="loss became NaN"):
        train_step(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), x, y)


def test_evaluate_matches_a_direct_computation_for_any_batch_size():
    model = build_model("seed", seed=2)
    x, y = batch(53, seed=3)
    logits = model.forward(x)
    loss = SoftmaxCrossEntropy().forward(logits, y)
    predicted = logits.argmax(1)
    for batch_size in (7, 500):
        result = evaluate(model, x, y, batch_size=batch_size)
        assert result["loss"] == pytest.approx(loss, rel=1e-5)
        assert result["accuracy"] == pytest.approx((predicted == y).mean())
        confusion = result["confusion"]
        assert confusion.shape == (10, 10) and confusion.sum() == 53
        np.testing.assert_array_equal(confusion.sum(axis=1), np.bincount(y, minlength=10))
        np.testing.assert_array_equal(confusion.sum(axis=0), np.bincount(predicted, minlength=10))


def test_the_divergence_rule_is_one_function_for_cli_and_window():
    from cnnviz.session.training import DIVERGED_FACTOR, divergence

    limit = DIVERGED_FACTOR * np.log(10)
    assert divergence(2.3, 10) is None and divergence(limit, 10) is None
    assert divergence(float("nan"), 10) == "NaN" and divergence(float("inf"), 10) == "infinite"
    assert divergence(1.3e31, 10).startswith("1.3e+31, over 100 times the 2.30 of guessing")
    assert divergence(limit * 1.01, 10) is not None and divergence(limit * 1.01, 1000) is None


def test_a_huge_loss_stops_before_the_update_and_warns_nothing():
    import warnings

    model = build_model("seed", seed=1)
    x, y = batch(8)
    model.layers[-1].params["W"] *= 1e6   # finite, but the loss is ~1e6: diverged
    before = [p.copy() for params, _ in model.parameters() for p in params.values()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TrainingError, match="over 100 times the 2.30 of guessing"):
            train_step(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=1.0), x, y)
    after = [p for params, _ in model.parameters() for p in params.values()]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))   # nothing was updated

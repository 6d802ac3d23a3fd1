"""Every gradient checked by central finite differences, in float64."""

import numpy as np
import pytest

from cnnviz.nn import (AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sigmoid, SoftmaxCrossEntropy,
                       Tanh, build_model)


def as_float64(layer):
    for key in layer.params:
        layer.params[key] = layer.params[key].astype(np.float64)
        layer.grads[key] = np.zeros_like(layer.params[key])
    return layer


def numeric_grad(f, array, eps=1e-6, max_entries=60, rng=None):
    """Central differences of scalar f() w.r.t. a random subset of array's entries (in place)."""
    rng = rng or np.random.default_rng(0)
    flat = array.reshape(-1)
    picks = rng.choice(flat.size, size=min(max_entries, flat.size), replace=False)
    grads = {}
    for index in picks:
        saved = flat[index]
        flat[index] = saved + eps
        plus = f()
        flat[index] = saved - eps
        minus = f()
        flat[index] = saved
        grads[index] = (plus - minus) / (2 * eps)
    return grads


def check_layer(layer, x, rng):
    """L = sum(y * r) for a fixed random r, so dL/dy = r; compare analytic with numeric grads."""
    r = rng.standard_normal(layer.forward(x).shape)
    loss = lambda: float(np.sum(layer.forward(x) * r))
    layer.forward(x)
    dx = layer.backward(r.copy())
    analytic = {"x": dx, **{k: v.copy() for k, v in layer.grads.items()}}
    targets = {"x": x, **layer.params}
    for name, array in targets.items():
        for index, value in numeric_grad(loss, array, rng=rng).items():
            assert analytic[name].reshape(-1)[index] == pytest.approx(value, rel=1e-5, abs=1e-7), \
                f"{layer.describe()} d/d{name}[{index}]"


@pytest.mark.parametrize("make,shape", [
    (lambda: Conv2D(2, 3, 3, stride=1, padding=0, seed=0), (2, 2, 6, 6)),
    (lambda: Conv2D(3, 2, 3, stride=2, padding=1, seed=1), (2, 3, 7, 7)),
    (lambda: Conv2D(1, 2, 5, stride=1, padding=2, seed=2), (1, 1, 6, 5)),
    (lambda: MaxPool2D(2, 2), (2, 2, 6, 6)),
    (lambda: MaxPool2D(3, 2), (1, 2, 7, 7)),
    (lambda: AvgPool2D(2, 2), (2, 2, 6, 6)),
    (lambda: AvgPool2D(3, 1), (1, 2, 5, 6)),
    (lambda: Dense(12, 5, seed=3), (3, 12)),
    (lambda: Flatten(), (2, 2, 3, 3)),
    (lambda: ReLU(), (2, 3, 4, 4)),
    (lambda: Sigmoid(), (2, 3, 4, 4)),
    (lambda: Tanh(), (2, 3, 4, 4)),
])
def test_layer_gradients_match_finite_differences(make, shape):
    rng = np.random.default_rng(abs(hash(shape)) % 2**32)
    layer = as_float64(make())
    if "b" in layer.params:
        layer.params["b"][:] = rng.standard_normal(layer.params["b"].shape)
    x = rng.standard_normal(shape)
    if isinstance(layer, ReLU):
        x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink
    check_layer(layer, x, rng)


def test_softmax_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((4, 10))
    labels = rng.integers(0, 10, 4)
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(logits, labels)
    analytic = loss_fn.backward()
    f = lambda: loss_fn.forward(logits, labels)
    for index, value in numeric_grad(f, logits, rng=rng).items():
        assert analytic.reshape(-1)[index] == pytest.approx(value, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("preset", ["seed", "lenet", "tiny", "sigmoid"])
def test_whole_network_parameter_gradients_match_finite_differences(preset):
    rng = np.random.default_rng(11)
    model = build_model(preset, seed=4, init="paper")
    for layer in model.layers:
        as_float64(layer)
        if "b" in layer.params:  # non-zero biases so the ReLUs see both signs
            layer.params["b"][:] = rng.standard_normal(layer.params["b"].shape) * 0.1
        if layer.kind == "dense":
            layer.params["W"] *= 10  # the paper's 0.01 init makes the logits too flat to be a good test
    x = rng.standard_normal((3, 1, 28, 28))
    y = rng.integers(0, 10, 3)
    loss_fn = SoftmaxCrossEntropy()
    loss = lambda: loss_fn.forward(model.forward(x), y)
    loss()
    model.backward(loss_fn.backward())
    analytic = [{k: v.copy() for k, v in grads.items()} for _, grads in model.parameters()]
    for (params, _), grads in zip(model.parameters(), analytic):
        for key, array in params.items():
            for index, value in numeric_grad(loss, array, max_entries=12, rng=rng).items():
                assert grads[key].reshape(-1)[index] == pytest.approx(value, rel=1e-4, abs=1e-8), \
                    f"{preset} {key}[{index}]"

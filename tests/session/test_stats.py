"""Statistics over time: norms, ratios, fixed-bin histograms, confusion matrix, and vanishing
gradients made visible (sigmoid vs ReLU on real MNIST digits)."""

import functools
from pathlib import Path

import numpy as np
import pytest

from cnnviz.nn import Adam, SoftmaxCrossEntropy, build_model
from cnnviz.session.stats import (GRAD_LOG_EDGES, WEIGHT_BINS, confusion_matrix, grad_log_histogram,
                                  layer_stats, misclassified, nice_range, series, validation_stats,
                                  weight_histogram)

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"


@functools.lru_cache(maxsize=1)
def mnist(n=320):
    from cnnviz.data import load_idx_pair

    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"the shared MNIST test set is not at {MNIST} (it is beside the repository in CI)")
    images, labels = load_idx_pair(MNIST / "t10k-images-idx3-ubyte.gz", MNIST / "t10k-labels-idx1-ubyte.gz")
    x = ((images[:n, None] / 255.0 - 0.1307) / 0.3081).astype(np.float32)
    return x, labels[:n]


def train(preset, steps, record_every=1):
    x, y = mnist()
    model = build_model(preset, seed=0)
    model.input_gradient = False
    opt, loss_fn, history = Adam(model.parameters(), lr=0.01), SoftmaxCrossEntropy(), []
    for step in range(steps):
        xb, yb = x[step * 32:(step + 1) * 32], y[step * 32:(step + 1) * 32]
        loss_fn.forward(model.forward(xb), yb)
        model.backward(loss_fn.backward())
        before = [{k: v.copy() for k, v in layer.params.items()} for layer in model.layers]
        opt.step()
        updates = [{k: layer.params[k] - b[k] for k in b} for layer, b in zip(model.layers, before)]
        if step % record_every == 0:
            history.append(layer_stats(model, updates, step=step))
    return model, history


def test_sigmoid_makes_vanishing_gradients_visible():
    """First conv's gradient norm relative to the last dense layer's: tiny with sigmoid."""
    ratios = {}
    for preset in ("seed", "sigmoid"):
        _, history = train(preset, 5)
        steps, norms = series(history, "grad_norm")
        first, last = min(norms), max(norms)
        ratios[preset] = float(np.median(norms[first] / norms[last]))
    assert ratios["sigmoid"] < ratios["seed"] / 20, ratios


def test_layer_stats_fields_and_norms():
    model, history = train("tiny", 2)
    record = history[-1]
    assert record["step"] == 1 and [e["index"] for e in record["layers"]] == [0, 4]
    conv = record["layers"][0]
    w, g = model.layers[0].params["W"], model.layers[0].grads["W"]
    assert conv["weight_norm"] == pytest.approx(float(np.linalg.norm(w)), rel=1e-5)
    assert conv["grad_norm"] == pytest.approx(float(np.linalg.norm(g)), rel=1e-5)
    assert 0 < conv["update_ratio"] < 1
    assert conv["weight_hist"].sum() == w.size and len(conv["weight_edges"]) == WEIGHT_BINS + 1
    assert conv["grad_hist"].sum() + conv["grad_zeros"] == g.size
    assert np.isnan(layer_stats(model)["layers"][0]["update_ratio"])   # update unknown


def test_update_ratio_is_delta_over_weight():
    model = build_model("tiny", seed=0)
    w = model.layers[0].params["W"]
    updates = [{"W": 0.001 * w, "b": np.zeros(4)}] + [{}] * 4
    assert layer_stats(model, updates)["layers"][0]["update_ratio"] == pytest.approx(0.001, rel=1e-5)


def test_fixed_bins():
    assert [nice_range(v) for v in (0.3, 1.0, 1.7, 0.0042, 7)] == [0.5, 1.0, 2.0, 0.005, 10.0]
    counts, edges = weight_histogram(np.array([-0.3, 0.0, 0.29, 0.31]))
    assert edges[0] == -0.5 and edges[-1] == 0.5 and counts.sum() == 4
    counts, zeros = grad_log_histogram(np.array([0.0, 1e-20, 1e-3, 0.9, 3.0]))
    assert zeros == 1 and counts.sum() == 4
    assert counts[0] == 1 and counts[-1] == 2              # clipped into the end bins
    assert counts[np.searchsorted(GRAD_LOG_EDGES, -3.0, side="right") - 1] == 1


def test_confusion_matrix_and_misclassified():
    y_true = np.array([0, 1, 2, 2, 1, 0])
    y_pred = np.array([0, 2, 2, 1, 1, 0])
    cm = confusion_matrix(y_true, y_pred, 3)
    assert cm.tolist() == [[2, 0, 0], [0, 1, 1], [0, 1, 1]]
    assert misclassified(y_true, y_pred).tolist() == [1, 3]


def test_validation_stats_on_real_digits():
    model, _ = train("tiny", 6)
    x, y = mnist()
    model.forward(x[:2])
    remembered = model.layers[0].output.copy()
    stats = validation_stats(model, x[200:300], y[200:300], 10)
    assert stats["confusion"].sum() == 100 and stats["confusion"].shape == (10, 10)
    assert np.trace(stats["confusion"]) == 100 - len(stats["wrong"])
    assert stats["accuracy"] == pytest.approx(1 - len(stats["wrong"]) / 100)
    assert np.array_equal(model.layers[0].output, remembered)

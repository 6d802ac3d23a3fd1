"""The explain tool's numbers are the engine's: z, pool winners, dL/dW, receptive fields, and the
finite-difference check (cnnviz.nn.explain)."""

import numpy as np
import pytest

from cnnviz.errors import ArchitectureError
from cnnviz.nn import Conv2D, Dense, MaxPool2D, build_model
from cnnviz.nn.explain import (explain_conv_gradient, explain_conv_unit, explain_conv_unit_backward,
                               explain_dense_unit, explain_pool_unit, finite_difference_check,
                               receptive_field)


@pytest.fixture(scope="module")
def digits():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 1, 28, 28)).astype(np.float32)
    return x, np.array([3, 7])


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (1, 2)])
def test_conv_unit_z_equals_the_layer_forward(stride, padding):
    rng = np.random.default_rng(stride * 10 + padding)
    layer = Conv2D(3, 4, 3, stride=stride, padding=padding, seed=1)
    layer.params["b"][:] = rng.standard_normal(4)
    x = rng.standard_normal((1, 3, 7, 7)).astype(np.float32)
    z = layer.forward(x)[0]
    for f, y, xx in [(0, 0, 0), (3, z.shape[1] - 1, z.shape[2] - 1), (2, 1, 2)]:
        e = explain_conv_unit(x[0], layer.params["W"], layer.params["b"], f, y, xx, stride, padding)
        assert e["z"] == pytest.approx(float(z[f, y, xx]), abs=1e-5)
        assert e["sum"] + e["bias"] == e["z"]
        assert np.allclose(e["products"], e["patch"] * e["kernel"])
        assert e["rows"] == (y * stride - padding, y * stride - padding + 2)


def test_conv_unit_patch_reads_zero_padding():
    x = np.ones((1, 4, 4), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    e = explain_conv_unit(x, w, np.zeros(1), 0, 0, 0, stride=1, padding=1)
    assert e["rows"] == (-1, 1) and e["cols"] == (-1, 1)
    assert e["patch"][0, 0].tolist() == [0, 0, 0] and e["patch"][0, 1].tolist() == [0, 1, 1]
    assert e["z"] == 4.0


def test_pool_winner_is_the_mask_cell():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, (1, 2, 6, 6)).astype(np.float32)   # many ties: first max must win
    pool = MaxPool2D(2, 2)
    out = pool.forward(x)[0]
    for c in range(2):
        for y in range(3):
            for xx in range(3):
                e = explain_pool_unit(x[0], 2, 2, c, y, xx)
                assert e["value"] == out[c, y, xx]
                r, q = e["winner_at"]
                assert pool.mask[0, c, r, q]
                assert pool.winner_index[0, c, y, xx] == c * 36 + r * 6 + q


def test_dense_unit_z_and_top_terms():
    rng = np.random.default_rng(3)
    layer = Dense(20, 5, seed=0)
    layer.params["b"][:] = rng.standard_normal(5)
    a = rng.standard_normal((1, 20)).astype(np.float32)
    z = layer.forward(a)[0]
    e = explain_dense_unit(a[0], layer.params["W"], layer.params["b"], 2, top=4)
    assert e["z"] == pytest.approx(float(z[2]), abs=1e-5)
    assert len(e["top"]) == 4 and abs(e["top"][0][3]) >= abs(e["top"][-1][3])
    assert sum(t[3] for t in e["top"]) + e["rest"] == pytest.approx(e["sum"])


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1)])
def test_conv_weight_gradient_equals_the_layer_grads(stride, padding):
    rng = np.random.default_rng(4)
    layer = Conv2D(2, 3, 3, stride=stride, padding=padding, seed=2)
    x = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    dz = rng.standard_normal(layer.forward(x).shape).astype(np.float32)
    layer.backward(dz)
    for f, c, i, j in [(0, 0, 0, 0), (2, 1, 2, 1), (1, 0, 1, 2)]:
        per_example = [explain_conv_gradient(x[n], dz[n], f, c, i, j, stride, padding) for n in range(2)]
        assert sum(e["dW"] for e in per_example) == pytest.approx(float(layer.grads["W"][f, c, i, j]), abs=1e-4)
        assert np.allclose(per_example[0]["terms"], per_example[0]["dz"] * per_example[0]["inputs"])
    # summing every unit's own contribution gives the same dL/dW[f] (eq. 11 read the other way)
    total = sum(explain_conv_unit_backward(x[n], dz[n], 1, y, xx, 3, stride, padding)["dW"]
                for n in range(2) for y in range(dz.shape[2]) for xx in range(dz.shape[3]))
    assert np.allclose(total, layer.grads["W"][1], atol=1e-4)


def test_receptive_field_of_the_seed_network():
    model = build_model("seed", seed=0)
    assert receptive_field(model, 0, 0, 0) == (0, 0, 4, 4)
    top, left, bottom, right = receptive_field(model, 2, 3, 5)   # conv2 unit: 9x9 pixels of the image
    assert (bottom - top + 1, right - left + 1) == (9, 9) and (top, left) == (3, 5)
    assert receptive_field(model, 3, 3, 5) == (3, 5, 11, 13)     # its ReLU: the same field
    assert receptive_field(model, 4, 0, 0) == (0, 0, 9, 9)       # max-pool 2x2 over conv2: 10x10
    assert receptive_field(model.config(), 4, 9, 9) == (18, 18, 27, 27)
    with pytest.raises(ArchitectureError):
        receptive_field(model, 6, 0, 0)


def test_receptive_field_with_stride_and_padding():
    configs = [{"type": "conv", "kernel": 3, "stride": 2, "padding": 1}, {"type": "relu"},
               {"type": "conv", "kernel": 3, "stride": 1, "padding": 1}]
    assert receptive_field(configs, 0, 0, 0) == (-1, -1, 1, 1)
    assert receptive_field(configs, 2, 0, 0) == (-3, -3, 3, 3)


@pytest.mark.parametrize("layer_index,key,flat_index", [(0, "W", 7), (0, "b", 3), (2, "W", 123),
                                                         (6, "W", 5000), (8, "b", 4)])
def test_finite_differences_agree_and_leave_the_model_alone(digits, layer_index, key, flat_index):
    x, y = digits
    model = build_model("seed", seed=1)
    before = {i: {k: v.copy() for k, v in l.params.items()} for i, l in enumerate(model.layers)}
    model.forward(x)
    remembered = model.layers[2].output.copy()
    analytic, numeric = finite_difference_check(model, x, y, layer_index, key, flat_index, eps=1e-4)
    assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-8)
    for i, layer in enumerate(model.layers):
        for k, v in layer.params.items():
            assert v.dtype == np.float32 and np.array_equal(v, before[i][k])
    assert np.array_equal(model.layers[2].output, remembered)


def test_finite_differences_match_the_engine_backward(digits):
    from cnnviz.nn import SoftmaxCrossEntropy
    x, y = digits
    model = build_model("sigmoid", seed=2)
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    analytic, numeric = finite_difference_check(model, x, y, 2, "W", 77, eps=1e-4)
    assert float(model.layers[2].grads["W"].flat[77]) == pytest.approx(analytic, rel=1e-3, abs=1e-7)
    assert numeric == pytest.approx(analytic, rel=1e-3, abs=1e-8)


def test_avg_pool_unit_is_the_window_mean():
    from cnnviz.nn import AvgPool2D
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1, 2, 7, 7)).astype(np.float32)
    out = AvgPool2D(3, 2).forward(x)[0]
    e = explain_pool_unit(x[0], 3, 2, 1, 2, 1, mode="avg")
    assert e["value"] == pytest.approx(float(out[1, 2, 1]), abs=1e-6) and e["winner"] is None
    assert e["rows"] == (4, 6) and e["cols"] == (2, 4)

"""Presets, shape inference, architecture errors, stepping one layer at a time, reproducible init."""

import numpy as np
import pytest

from cnnviz.errors import ArchitectureError
from cnnviz.nn import (Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential, SoftmaxCrossEntropy,
                       build_model, model_from_config, preset_names)


def test_seed_preset_is_the_papers_network():
    model = build_model("seed", seed=0)
    assert model.describe() == [
        "Conv 8@5x5 s1 p0 -> 8x24x24", "ReLU -> 8x24x24", "Conv 8@5x5 s1 p0 -> 8x20x20",
        "ReLU -> 8x20x20", "MaxPool 2x2 s2 -> 8x10x10", "Flatten -> 800", "Dense 800->128 -> 128",
        "ReLU -> 128", "Dense 128->10 -> 10"]
    assert model.num_parameters() == (8 * 25 + 8) + (8 * 8 * 25 + 8) + (800 * 128 + 128) + (128 * 10 + 10)
    assert model.forward(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)


@pytest.mark.parametrize("name", ["seed", "lenet", "tiny", "sigmoid"])
def test_every_preset_builds_and_runs_float32(name):
    assert name in preset_names()
    model = build_model(name, seed=1)
    logits = model.forward(np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32))
    assert logits.shape == (3, 10) and logits.dtype == np.float32
    assert all(layer.output.dtype == np.float32 for layer in model.layers)


def test_lenet_uses_padding_tanh_and_average_pooling():
    kinds = [layer.kind for layer in build_model("lenet").layers]
    assert kinds[:3] == ["conv", "tanh", "avgpool"] and build_model("lenet").layers[0].padding == 2
    assert build_model("lenet").shapes[0] == (6, 28, 28)


def test_tiny_is_one_small_conv():
    model = build_model("tiny")
    convs = [layer for layer in model.layers if layer.kind == "conv"]
    assert len(convs) == 1 and convs[0].params["W"].shape == (4, 1, 3, 3)


def test_presets_adapt_to_colour_input_and_class_count():
    model = build_model("seed", seed=0, input_shape=(3, 32, 32), num_classes=7)
    assert model.layers[0].params["W"].shape == (8, 3, 5, 5)
    assert model.shapes[5] == (8 * 12 * 12,) and model.num_classes == 7


def test_same_seed_same_weights_and_other_seed_differs():
    a, b, c = build_model("seed", seed=5), build_model("seed", seed=5), build_model("seed", seed=6)
    for (pa, _), (pb, _), (pc, _) in zip(a.parameters(), b.parameters(), c.parameters()):
        np.testing.assert_array_equal(pa["W"], pb["W"])
        assert not np.array_equal(pa["W"], pc["W"])


def test_default_initialisation_is_lecun_for_the_relu_presets():
    model = build_model("seed", seed=0)
    conv2 = model.layers[2].params["W"]  # fan-in 8*5*5 = 200
    assert conv2.std() == pytest.approx(np.sqrt(1 / 200), rel=0.1)
    assert model.layers[6].params["W"].std() == pytest.approx(np.sqrt(1 / 800), rel=0.05)
    assert all(np.all(p["b"] == 0) for p, _ in model.parameters())


def test_sigmoid_and_tanh_presets_start_with_glorot():
    for name in ("sigmoid", "lenet"):
        dense = next(layer for layer in build_model(name, seed=0).layers if layer.kind == "dense")
        fan_in, fan_out = dense.in_features, dense.out_features
        assert dense.params["W"].std() == pytest.approx(np.sqrt(2 / (fan_in + fan_out)), rel=0.05)


def test_paper_initialisation_follows_the_papers_code():
    model = build_model("seed", seed=0, init="paper")
    conv2 = model.layers[2].params["W"]  # the paper divides by the whole filter bank's size, 8*8*5*5
    assert conv2.std() == pytest.approx(1 / np.sqrt(1600), rel=0.1)
    assert model.layers[0].params["W"].std() == pytest.approx(1 / np.sqrt(200), rel=0.15)
    assert model.layers[6].params["W"].std() == pytest.approx(0.01, rel=0.05)


def test_he_initialisation_and_an_unknown_name():
    model = build_model("seed", seed=0, init="he")
    assert model.layers[6].params["W"].std() == pytest.approx(np.sqrt(2 / 800), rel=0.05)
    assert model.layers[2].params["W"].std() == pytest.approx(np.sqrt(2 / 200), rel=0.1)
    with pytest.raises(ArchitectureError, match="unknown weight initialisation 'uniform'"):
        build_model("seed", seed=0, init="uniform")


def test_kernel_larger_than_input_names_the_layer_and_shapes():
    config = {"input_shape": [1, 8, 8], "layers": [
        {"type": "conv", "filters": 4, "kernel": 5}, {"type": "conv", "filters": 4, "kernel": 5}]}
    with pytest.raises(ArchitectureError, match=r"layer 1 .*5x5 window is larger than its padded input height of 4"):
        model_from_config(config)


def test_dense_fed_the_wrong_size_names_the_layer():
    layers = [Conv2D(1, 2, 3), ReLU(), Flatten(), Dense(100, 10)]
    with pytest.raises(ArchitectureError, match=r"layer 3 \(dense\).*expects 100 input features but is fed shape 1352"):
        Sequential(layers, input_shape=(1, 28, 28))


def test_dense_without_flatten_and_unknown_things_are_clear():
    with pytest.raises(ArchitectureError, match="flatten"):
        model_from_config({"layers": [{"type": "conv", "filters": 2, "kernel": 3}, {"type": "dense", "units": 10}]})
    with pytest.raises(ArchitectureError, match="unknown layer type 'magic'"):
        model_from_config({"layers": [{"type": "magic"}]})
    with pytest.raises(ArchitectureError, match="unknown preset 'nope'.*seed"):
        build_model("nope")
    with pytest.raises(ArchitectureError, match="channel"):
        Sequential([Conv2D(3, 2, 3)], input_shape=(1, 28, 28))


def test_wrong_input_shape_is_reported():
    with pytest.raises(ArchitectureError, match="expects images of 1x28x28"):
        build_model("seed").forward(np.zeros((2, 1, 32, 32), np.float32))


def test_stepping_one_layer_at_a_time_equals_the_whole_pass():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 4)
    whole, stepped = build_model("seed", seed=3), build_model("seed", seed=3)
    loss_a, loss_b = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()
    loss_a.forward(whole.forward(x), y)
    dx_whole = whole.backward(loss_a.backward())

    out = stepped.forward_layer(0, x)
    for i in range(1, len(stepped.layers)):
        out = stepped.forward_layer(i)
    loss_b.forward(out, y)
    grad = stepped.backward_layer(len(stepped.layers) - 1, loss_b.backward())
    for i in reversed(range(len(stepped.layers) - 1)):
        grad = stepped.backward_layer(i)
    np.testing.assert_allclose(grad, dx_whole, rtol=1e-6)
    for (_, ga), (_, gb) in zip(whole.parameters(), stepped.parameters()):
        np.testing.assert_allclose(ga["W"], gb["W"], rtol=1e-6)


def test_layers_keep_what_the_gui_draws():
    model = build_model("seed", seed=0)
    x = np.random.default_rng(1).standard_normal((2, 1, 28, 28)).astype(np.float32)
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(x), np.array([1, 2]))
    model.backward(loss.backward())
    conv, relu, pool = model.layers[0], model.layers[1], model.layers[4]
    assert conv.input is x or np.array_equal(conv.input, x)
    assert relu.pre_activation is conv.output and np.array_equal(relu.output, np.maximum(conv.output, 0))
    assert pool.mask.shape == (2, 8, 20, 20) and pool.mask.sum() == 2 * 8 * 10 * 10
    assert conv.dL_dinput.shape == x.shape and conv.dL_dout.shape == (2, 8, 24, 24)
    assert conv.grads["W"].shape == conv.params["W"].shape


def test_predict_proba_leaves_remembered_arrays_alone():
    model = build_model("seed", seed=0)
    x = np.random.default_rng(2).standard_normal((3, 1, 28, 28)).astype(np.float32)
    model.forward(x)
    before = [layer.output for layer in model.layers]
    probs = model.predict_proba(np.zeros((5, 1, 28, 28), np.float32))
    assert probs.shape == (5, 10) and np.allclose(probs.sum(1), 1)
    assert all(layer.output is b for layer, b in zip(model.layers, before))


def test_layer_constructor_rejects_nonsense():
    with pytest.raises(ArchitectureError):
        Conv2D(1, 0, 3)
    with pytest.raises(ArchitectureError):
        MaxPool2D(0)
    with pytest.raises(ArchitectureError):
        Dense(10, -1)


def test_input_gradient_can_be_skipped_without_changing_weight_gradients():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((3, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 3)
    full, fast = build_model("seed", seed=2), build_model("seed", seed=2)
    fast.input_gradient = False
    results = []
    for model in (full, fast):
        loss = SoftmaxCrossEntropy()
        loss.forward(model.forward(x), y)
        results.append(model.backward(loss.backward()))
    assert results[0].shape == x.shape and results[1] is None
    for (_, ga), (_, gb) in zip(full.parameters(), fast.parameters()):
        np.testing.assert_array_equal(ga["W"], gb["W"])
